// Package e2e tests the running system from the outside, as a browser and a
// REST client use it: through devedge's single origin, against real
// Postgres and Kafka. Start the system first (make run, or make test does
// it), then: go test -tags e2e ./test/e2e.
//
// E2E_BASE_URL (default http://127.0.0.1:8080) and AUTH_JWT_SECRET (default
// local-dev-secret) point the tests at the system.
package e2e
