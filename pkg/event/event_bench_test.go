package event

import (
	"testing"

	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// The hot path of every event: a writing service encodes it once (Marshal,
// into its outbox), fanout decodes it once per consumer (Unmarshal) and
// renders the browser frame once (Frame), whatever the number of watchers.
// These measure that per-event cost; docs/performance.md records them.

func benchEvent(b *testing.B) *campaignv1.Event {
	b.Helper()
	e, err := New("contribution", 42, at, contribution())
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func BenchmarkMarshal(b *testing.B) {
	e := benchEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	raw, err := Marshal(benchEvent(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFrame(b *testing.B) {
	e := benchEvent(b)
	const cur = "0000000100030000000000000009"
	out, err := Frame(e, cur)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Frame(e, cur); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConsume is what fanout does per record before touching its
// database: decode the topic value and render the browser frame.
func BenchmarkConsume(b *testing.B) {
	raw, err := Marshal(benchEvent(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		e, err := Unmarshal(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Frame(e, "0000000100030000000000000009"); err != nil {
			b.Fatal(err)
		}
	}
}
