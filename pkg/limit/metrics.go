package limit

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// RefusalCounter returns a function that counts one refusal by the limit
// named name into rate_limit_refusals_total{limit=name}, for limits kept
// outside this package (the gateway's per-socket and per-IP ones). The
// attribute set is built once, so counting allocates nothing.
func RefusalCounter(name string) func(context.Context) {
	opt := metric.WithAttributeSet(attribute.NewSet(attribute.String("limit", name)))
	return func(ctx context.Context) { refusals.Add(ctx, 1, opt) }
}
