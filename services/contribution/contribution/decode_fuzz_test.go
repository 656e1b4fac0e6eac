package contribution

import (
	"testing"

	"github.com/campaign-live/campaign-live/pkg/testkit"
)

func FuzzDecodeContribute(f *testing.F) {
	testkit.FuzzDecoder(f, "POST /api/campaigns/{id}/contributions", decodeContribute,
		`{"amount":"25.50","currency":"USD"}`, `{"amount":25.5}`)
}
