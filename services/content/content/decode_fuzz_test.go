package content

import (
	"testing"

	"github.com/campaign-live/campaign-live/pkg/testkit"
)

func FuzzDecodeCreateCampaign(f *testing.F) {
	testkit.FuzzDecoder(f, "POST /api/campaigns", decodeCreateCampaign,
		`{"title":"Kiln","description":"","goal_amount":"1000.00","currency":"USD"}`, `{"private":"yes"}`)
}

func FuzzDecodeUpdate(f *testing.F) {
	testkit.FuzzDecoder(f, "POST /api/campaigns/{id}/updates", decodePost[NewUpdate],
		`{"title":"Week 1","content":"c","image":null}`, `{"image":5}`)
}

func FuzzDecodeRelease(f *testing.F) {
	testkit.FuzzDecoder(f, "POST /api/campaigns/{id}/releases", decodePost[NewRelease],
		`{"title":"Beta","version":"0.9","notes":""}`)
}
