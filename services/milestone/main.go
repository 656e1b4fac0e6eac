// Command milestone accepts campaign milestones and marks each one reached
// when the campaign's raised total crosses its target, publishing both as
// events through its outbox. It consumes contribution events (and campaign
// events, for its campaign replica) exactly once.
package main

import (
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/writesvc"
	"github.com/campaign-live/campaign-live/services/milestone/milestone"
)

func main() {
	writesvc.Main(writesvc.Service{
		Name:         "milestone",
		HTTPAddr:     "127.0.0.1:8106",
		OpsAddr:      "127.0.0.1:9106",
		Migrations:   milestone.Migrations(),
		Handler:      milestone.NewHandler,
		Replica:      true,
		Consume:      milestone.Consume,
		ConsumeTypes: []string{event.TypeContribution},
	})
}
