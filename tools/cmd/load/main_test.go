package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseFrameContribution(t *testing.T) {
	b := []byte(`{"type":"contribution","data":{"id":7,"campaign":42,"user":{"id":3,"username":"ada"},"amount":"1234.56","currency":"USD","created_at":"2026-11-25T12:30:45.123456Z"},"cursor":"0000000100030000000000000009","event_id":"x"}`)
	var f frame
	if err := parseFrame(b, &f); err != nil {
		t.Fatal(err)
	}
	if string(f.typ) != "contribution" || f.id != 7 || f.campaign != 42 || f.amount != 123456 || string(f.cursor) != "0000000100030000000000000009" {
		t.Fatalf("parsed %+v", f)
	}
}

func TestParseFrameFallsBackOnOtherLayouts(t *testing.T) {
	// Keys in another order than pkg/event renders them.
	b := []byte(`{"cursor":"c1","data":{"amount":"0.05","campaign":9,"id":11},"type":"contribution"}`)
	var f frame
	if err := parseFrame(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.id != 11 || f.campaign != 9 || f.amount != 5 || !bytes.Equal(f.cursor, []byte("c1")) {
		t.Fatalf("parsed %+v", f)
	}
}

func TestParseCents(t *testing.T) {
	for in, want := range map[string]int64{`0.01"`: 1, `1.00"`: 100, `123.45"`: 12345} {
		if got, ok := parseCents([]byte(in)); !ok || got != want {
			t.Errorf("parseCents(%s) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{`1.5"`, `1"`, `.50"`, `1.234"`, `1.00`, `a.00"`} {
		if _, ok := parseCents([]byte(in)); ok {
			t.Errorf("parseCents(%s) accepted", in)
		}
	}
}

func TestSnapshotCountsListedContributions(t *testing.T) {
	cfg := &config{Resume: true}
	st := newState(cfg, 10)
	st.campaignIDs = []int64{5}
	st.watchersOf = []int32{1}
	for seq := int64(1); seq <= 3; seq++ {
		st.camp[seq].Store(1)
		st.local[seq].Store(int32(seq - 1))
		st.pending[seq].Store(1)
		st.outstanding.Add(1)
	}
	w := newWatcher(st, 0, 0, nil)
	w.lastCursor = append(w.lastCursor, "01"...) // mid-stream
	w.handle([]byte(`{"type":"campaign_data","data":{"id":5,"contributions":[{"id":2,"amount":"0.02"},{"id":1,"amount":"0.01"}]},"cursor":"05"}`), 1)
	if !w.has(0) || !w.has(1) || w.has(2) || w.resets != 1 || st.outstanding.Load() != 1 {
		t.Fatalf("has %v %v %v, resets %d, outstanding %d", w.has(0), w.has(1), w.has(2), w.resets, st.outstanding.Load())
	}
	// An event behind the snapshot's cursor that it did not list is new to
	// this watcher, though out of order.
	w.handle([]byte(`{"type":"contribution","data":{"id":3,"campaign":5,"amount":"0.03"},"cursor":"04"}`), 2)
	if !w.has(2) || w.reordered != 1 || st.outstanding.Load() != 0 {
		t.Fatalf("has %v reordered %d outstanding %d", w.has(2), w.reordered, st.outstanding.Load())
	}
	// The same event again is a duplicate; another campaign's is a leak.
	w.handle([]byte(`{"type":"contribution","data":{"id":3,"campaign":5,"amount":"0.03"},"cursor":"06"}`), 3)
	w.handle([]byte(`{"type":"contribution","data":{"id":3,"campaign":6,"amount":"0.03"},"cursor":"07"}`), 3)
	if w.dups != 1 || w.leaks != 1 {
		t.Fatalf("dups %d leaks %d", w.dups, w.leaks)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, ok := range []string{"ws://127.0.0.1:8080", "http://localhost:8080", "ws://127.0.0.2:1", "ws://[::1]:8104"} {
		if err := checkLoopback(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"ws://10.0.0.1:8080", "http://example.com", "wss://127.0.0.1:1", "ws://0.0.0.0:8080"} {
		if err := checkLoopback(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestPresetsScale(t *testing.T) {
	c, err := parseFlags([]string{"-workload", "w2", "-scale", "0.01"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Watchers != 50 || c.Campaigns != 5 || c.Rate != 10 || c.Duration != 30*time.Second {
		t.Fatalf("w2 at 0.01: %+v", c)
	}
	if _, err := parseFlags([]string{"-workload", "w3", "-scale", "2"}); err == nil || !strings.Contains(err.Error(), "max-sockets") {
		t.Fatalf("20,000 sockets in one process: err %v", err)
	}
}

func TestMedian(t *testing.T) {
	if s := statOf([]float64{3, 1, 2}); s.Median != 2 || s.Min != 1 || s.Max != 3 {
		t.Fatalf("%+v", s)
	}
}
