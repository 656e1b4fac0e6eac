// Package content is the content service: campaigns, in go-kit's layers.
//
//   - service.go: the Service interface and its business rules;
//   - endpoint.go: the endpoints, in a Set, each wrapped in its auth rule
//     and the shared logging middleware (pkg/kitx);
//   - transport_http.go: decoding requests and routing;
//   - store.go: SQL, and the outbox row written in the same transaction.
//
// Every write commits its row and its event together, so a campaign exists
// if and only if its `campaign` event will be published.
package content
