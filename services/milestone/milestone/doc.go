// Package milestone is the milestone service in go-kit's layers:
// service.go (rules: only a campaign's owner adds milestones), endpoint.go
// (the Set, with auth and the shared logging middleware), transport_http.go
// (decoding and routing), store.go (SQL, and the outbox rows written in the
// same transactions) and progress.go (the consumer handler that follows the
// raised totals).
//
// # Reaching a milestone exactly once
//
// The service consumes `contribution` events through pkg/consumer, so each
// record is applied in one transaction with its stored offset. That catches
// redelivery, not the outbox publishing one event twice at two offsets, so a
// contribution is counted by its id: counted_contributions takes each id
// once (ON CONFLICT DO NOTHING), and only a first count adds the amount to
// the campaign's row in campaign_totals. The same transaction then flips
// every pending milestone whose target the new total meets to `reached`
// (UPDATE ... WHERE status = 'pending' RETURNING) and enqueues one
// `milestone` event per flipped row. A row flips once, and its event commits
// with the flip, so each milestone is announced reached exactly once, across
// duplicates, redelivery and restarts (a crash rolls back all of it).
//
// # Milestones created while contributions arrive
//
// Both paths lock the campaign's campaign_totals row before they look at
// milestones: the consumer by adding to it, a new milestone by an upsert
// that creates the row if need be and leaves it unchanged. Under Postgres's
// default READ COMMITTED each statement then sees what the other committed
// before it got the lock. A milestone created when the total already meets
// its target is therefore created `reached` (reached_at = its created_at;
// one event, status reached); one created just before a contribution commits
// is seen, and flipped, by that contribution's UPDATE. Neither can miss the
// other. A milestone reached by the consumer gets the contribution's
// created_at as reached_at, or its own created_at if that is later (a
// contribution made before the milestone existed but counted after it).
//
// # Currency
//
// The total is in the campaign's currency: the contribution service refuses
// a contribution in any other (it checks its own campaign replica), so every
// counted amount is in that currency.
package milestone
