package milestone

import (
	"testing"

	"github.com/campaign-live/campaign-live/pkg/testkit"
)

func FuzzDecodeAddMilestone(f *testing.F) {
	testkit.FuzzDecoder(f, "POST /api/campaigns/{id}/milestones", decodeAddMilestone,
		`{"title":"First 100","target_amount":"100.00"}`)
}
