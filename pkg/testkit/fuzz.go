package testkit

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/campaign-live/campaign-live/pkg/problem"
)

// Decoder is a go-kit request decoder.
type Decoder func(context.Context, *http.Request) (any, error)

// FuzzDecoder fuzzes a REST request decoder with outside input: the path id
// and the body. The decoder must never panic, and must either decode or
// refuse with a client error (4xx problem), never an internal one. route is
// the ServeMux pattern, such as "POST /api/campaigns/{id}/comments".
func FuzzDecoder(f *testing.F, route string, decode Decoder, seeds ...string) {
	method, pattern, _ := strings.Cut(route, " ")
	for _, s := range seeds {
		f.Add("42", []byte(s))
	}
	f.Add("4x2", []byte(`{}`))
	f.Add("", []byte(`{`))
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		if strings.ContainsAny(id, "/?#%") || id == "" {
			return // not one path segment: the router would not match
		}
		path := strings.Replace(pattern, "{id}", id, 1)
		mux := http.NewServeMux()
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
			_, err := decode(r.Context(), r)
			if err != nil {
				if status := problem.StatusOf(err); status < 400 || status > 499 {
					t.Fatalf("%s %s with %q: status %d for %v, want a client error", method, path, body, status, err)
				}
			}
		})
		r, err := http.NewRequest(method, "http://svc"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		r.Header.Set("Content-Type", "application/json")
		mux.ServeHTTP(httptest.NewRecorder(), r)
	})
}
