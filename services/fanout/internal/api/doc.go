// Package api serves the fanout to gateways over gRPC (campaign.v1.Fanout:
// Watch and Snapshot) and the live view to browsers over HTTP
// (GET /api/live/campaigns/{id}, a go-kit endpoint).
//
// # Watch
//
// Each Watch call joins the hub as one stream and runs two goroutines: one
// receives Subscribe/Unsubscribe and applies them to the hub (acking a
// Subscribe once the interest is in force), one sends the stream's queue.
// The handler returns when either ends, or when the hub ends the stream
// (stalled gateway, shutdown) with codes.Unavailable, which tells the
// gateway to reconnect and resync. A gateway that closes its side ends the
// stream. Interest is a set per stream: counting sockets is the gateway's.
//
// # Snapshot and HTTP
//
// Both render through view.Store.Snapshot, so the HTTP body is byte for byte
// the Snapshot frame. gRPC returns private campaigns too (the gateway knows
// the viewer and decides); HTTP shows a private campaign only to its owner,
// identified by a token when AUTH_JWT_SECRET is set, and answers 404 to
// everyone else, so its existence does not leak.
package api
