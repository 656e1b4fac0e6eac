package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/campaign-live/campaign-live/pkg/problem"
)

type body struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Count    int    `json:"count"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name, body, ctype string
		status            int
		field             string
	}{
		{"ok", `{"amount":"1.00","currency":"USD"}`, "application/json", 0, ""},
		{"no content type is fine", `{"amount":"1.00"}`, "", 0, ""},
		{"unknown field", `{"amount":"1.00","extra":1}`, "application/json", 400, "extra"},
		{"wrong type", `{"amount":1.5}`, "application/json", 400, "amount"},
		{"wrong type number", `{"count":"x"}`, "application/json", 400, "count"},
		{"not an object", `[1,2]`, "application/json", 400, ""},
		{"syntax", `{"amount":`, "application/json", 400, ""},
		{"empty", ``, "application/json", 400, ""},
		{"trailing", `{} {}`, "application/json", 400, ""},
		{"too large", `{"amount":"` + strings.Repeat("9", 200) + `"}`, "application/json", 413, ""},
		{"form", `a=b`, "application/x-www-form-urlencoded", 415, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			var v body
			err := DecodeJSON(httptest.NewRecorder(), r, &v, 100)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if got := problem.StatusOf(err); got != tc.status {
				t.Fatalf("status %d (%v), want %d", got, err, tc.status)
			}
			if got := problem.From(err).Field; got != tc.field {
				t.Fatalf("field %q, want %q", got, tc.field)
			}
		})
	}
}

func TestProblemBody(t *testing.T) {
	w := httptest.NewRecorder()
	problem.Write(w, problem.InvalidField("amount", "must be positive"))
	if w.Code != http.StatusBadRequest || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	want := `{"type":"about:blank","title":"invalid request","status":400,"detail":"must be positive","field":"amount"}`
	if got := strings.TrimSpace(w.Body.String()); got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
}
