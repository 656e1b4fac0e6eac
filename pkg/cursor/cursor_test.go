package cursor

import (
	"math"
	"sort"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, want := range []Position{
		{},
		{Epoch: 1, Partition: 0, Offset: 0},
		{Epoch: 1, Partition: 11, Offset: 42},
		{Epoch: math.MaxUint32, Partition: math.MaxUint16, Offset: math.MaxInt64},
	} {
		s := Encode(want)
		if len(s) != Len {
			t.Fatalf("Encode(%+v) = %q, want %d characters", want, s, Len)
		}
		got, err := Parse(s)
		if err != nil || got != want {
			t.Fatalf("Parse(Encode(%+v)) = %+v, %v", want, got, err)
		}
	}
}

func TestStringOrderIsPositionOrder(t *testing.T) {
	ps := []Position{
		{Epoch: 2, Partition: 3, Offset: 1},
		{Epoch: 1, Partition: 3, Offset: 1000},
		{Epoch: 1, Partition: 3, Offset: 9},
		{Epoch: 1, Partition: 3, Offset: 10},
		{Epoch: 1, Partition: 3, Offset: 0x10},
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Less(ps[j]) })
	for i := 1; i < len(ps); i++ {
		if !(Encode(ps[i-1]) < Encode(ps[i])) {
			t.Errorf("cursor %s for %+v does not sort before %s for %+v", Encode(ps[i-1]), ps[i-1], Encode(ps[i]), ps[i])
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{
		"", "abc", "0000000100030000000000000009x", "000000010003000000000000000G",
		"0000000100030000000000000009 ", "00000001000300000000000000A9",
		"0000000100038000000000000000", // offset above MaxInt64
	} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Encode(Position{Epoch: 1, Partition: 2, Offset: 3}))
	f.Add("")
	f.Add("ffffffffffffffffffffffffffff")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		if Encode(p) != s {
			t.Fatalf("Parse(%q) = %+v, which encodes as %q", s, p, Encode(p))
		}
	})
}
