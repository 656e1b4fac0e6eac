// Package contribution is the contribution service in go-kit's layers:
// service.go (rules), endpoint.go (the Set), transport_http.go (decoding and
// routing), middleware.go (logging) and store.go (SQL and the outbox row,
// written in one transaction with the contribution).
package contribution
