// Package comment is the comment service in go-kit's layers: service.go
// (rules: who may comment where, and what a comment may hold), endpoint.go
// (the Set, with auth and the shared logging middleware), transport_http.go
// (decoding and routing) and store.go (SQL, and the outbox row written in
// one transaction with the comment).
//
// The campaign a comment is for is checked against the service's campaign
// replica (pkg/replica), not by calling the content service: a campaign that
// does not exist, or is private and not the caller's, answers 404 (private
// campaigns are invisible, docs/decisions.md).
package comment
