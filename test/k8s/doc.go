// Package k8s checks the Kubernetes delivery of campaign-live without a
// cluster: it lints and renders every chart in charts/ with helm, for default
// and production values, decodes every rendered object strictly into its
// API type (k8s.io/api, sigs.k8s.io/gateway-api, Envoy Gateway's and the
// Prometheus Operator's Go types; Strimzi's KafkaTopic and the skaffold
// subset we use are schemas kept here), rejecting unknown fields, and asserts
// what a deployment needs: probes, resources, a non-root read-only security
// context, a PodDisruptionBudget wherever more than one pod runs, routes
// that send each path where tools/cmd/devedge sends it locally, and a
// gateway route that hashes on the campaign id and never on the query
// string that carries the token. The Grafana dashboard and the
// PrometheusRule are held to the metrics the services expose: every query
// and expression is parsed as PromQL and may name only those series and
// their labels (monitoring_test.go).
//
// It is run by scripts/k8s.sh check, which builds the pinned helm and passes
// it as HELM. Without HELM the tests that need it skip. The module is kept
// out of go.work (scripts/k8s.sh runs it with GOWORK=off) so that its
// Kubernetes dependencies never change the versions the services build with.
//
// The values.schema.json of every chart is generated from schemagen_test.go:
// scripts/k8s.sh schemas (go test -run TestValuesSchemas -update).
package k8s
