// Package contribution is the contribution service in go-kit's layers:
// service.go (rules), endpoint.go (the Set, with auth and the shared logging
// middleware), transport_http.go (decoding and routing) and store.go (SQL
// and the outbox row, written in one transaction with the contribution).
package contribution
