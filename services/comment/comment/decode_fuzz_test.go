package comment

import (
	"testing"

	"github.com/campaign-live/campaign-live/pkg/testkit"
)

func FuzzDecodeComment(f *testing.F) {
	testkit.FuzzDecoder(f, "POST /api/campaigns/{id}/comments", decodeComment, `{"content":"Good luck!"}`)
}
