// Command contribution accepts contributions to campaigns and publishes them
// as events through its outbox.
package main

import (
	"github.com/campaign-live/campaign-live/pkg/writesvc"
	"github.com/campaign-live/campaign-live/services/contribution/contribution"
)

func main() {
	writesvc.Main(writesvc.Service{
		Name:       "contribution",
		HTTPAddr:   "127.0.0.1:8102",
		OpsAddr:    "127.0.0.1:9102",
		Migrations: contribution.Migrations(),
		Handler:    contribution.NewHandler,
		Replica:    true,
	})
}
