// Command comment accepts comments on campaigns and publishes them as events
// through its outbox. It keeps a replica of the campaigns to check that the
// commented campaign exists and who may see it.
package main

import (
	"github.com/campaign-live/campaign-live/pkg/writesvc"
	"github.com/campaign-live/campaign-live/services/comment/comment"
)

func main() {
	writesvc.Main(writesvc.Service{
		Name:       "comment",
		HTTPAddr:   "127.0.0.1:8105",
		OpsAddr:    "127.0.0.1:9105",
		Migrations: comment.Migrations(),
		Handler:    comment.NewHandler,
		Replica:    true,
	})
}
