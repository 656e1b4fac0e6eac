// Command content serves campaigns (and, later, their updates and releases)
// and publishes them as events through its outbox.
package main

import (
	"github.com/campaign-live/campaign-live/pkg/writesvc"
	"github.com/campaign-live/campaign-live/services/content/content"
)

func main() {
	writesvc.Main(writesvc.Service{
		Name:       "content",
		HTTPAddr:   "127.0.0.1:8101",
		OpsAddr:    "127.0.0.1:9101",
		Migrations: content.Migrations(),
		Handler:    content.NewHandler,
	})
}
