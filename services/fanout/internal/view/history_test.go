package view

import (
	"testing"

	"github.com/campaign-live/campaign-live/pkg/cursor"
)

func TestComplete(t *testing.T) {
	p := func(epoch uint32, partition int32, offset int64) cursor.Position {
		return cursor.Position{Epoch: epoch, Partition: partition, Offset: offset}
	}
	view := p(2, 5, 100)
	for _, tc := range []struct {
		name           string
		after, horizon cursor.Position
		want           bool
	}{
		{"never pruned", p(2, 5, 10), cursor.Position{}, true},
		{"at the view", p(2, 5, 100), cursor.Position{}, true},
		{"after the horizon", p(2, 5, 50), p(2, 5, 40), true},
		{"at the horizon: the next event is kept", p(2, 5, 40), p(2, 5, 40), true},
		{"before the horizon: pruned events missed", p(2, 5, 39), p(2, 5, 40), false},
		{"beyond the view: not a cursor of ours", p(2, 5, 101), cursor.Position{}, false},
		{"an earlier epoch", p(1, 5, 10), cursor.Position{}, false},
		{"a later epoch", p(3, 5, 10), cursor.Position{}, false},
		{"another partition", p(2, 4, 10), cursor.Position{}, false},
		{"the zero cursor", cursor.Position{}, cursor.Position{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Complete(tc.after, view, tc.horizon); got != tc.want {
				t.Fatalf("Complete(after %v, view %v, horizon %v) = %v, want %v", tc.after, view, tc.horizon, got, tc.want)
			}
		})
	}
	if Complete(p(1, 0, 0), cursor.Position{}, cursor.Position{}) {
		t.Fatal("a campaign without events has no history to resume from")
	}
}
