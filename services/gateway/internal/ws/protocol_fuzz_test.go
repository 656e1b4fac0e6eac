package ws

import "testing"

// FuzzAnswer: whatever bytes a client sends in a text frame, the decoder
// answers with a pong or one of its error replies, never anything else
// (nothing a client sends is ever passed on), and never panics.
func FuzzAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"type":"ping"}`,
		`{"type":"ping","extra":[1,2]}`,
		`{"type":"pong"}`,
		`{"type":"contribution","data":{"id":1,"campaign":2}}`,
		`{"type":"broadcast","model":"comment","id":5}`,
		`{"type":""}`,
		`{"type":5}`,
		`{"type":null}`,
		`{"type":"ping","type":"comment"}`,
		`{"TYPE":"ping"}`,
		`{"type":"\u0070ing"}`,
		`{"type":"ping"`,
		`{}`,
		`[]`,
		`[1,2]`,
		`"ping"`,
		`null`,
		`0`,
		``,
		`not json`,
		"{\"type\":\"ping\"}\x00",
		"\xff\xfe{\"type\":\"ping\"}",
		`{"type":"ping"} {"type":"comment"}`,
		`{"a":{"b":{"c":{"d":{"e":[[[[[[[[[[]]]]]]]]]]}}}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		switch got := answer(data); got {
		case replyPong, replyMalformed, replyUnsupported:
		default:
			t.Fatalf("answer(%q) = %+v, want pong or an error reply", data, got)
		}
	})
}
