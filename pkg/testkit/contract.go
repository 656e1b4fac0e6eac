package testkit

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Contract is a service's OpenAPI document, held against the real handler:
// every request an API sends must match a documented operation, every answer
// must be a documented response of that operation (status, content type,
// schema), and by the end of the test every documented response status must
// have been seen at least once.
type Contract struct {
	t      testing.TB
	router routers.Router
	mu     sync.Mutex
	want   map[string]bool // "POST /path 201" → seen
}

// LoadContract reads the OpenAPI document at path and validates it.
func LoadContract(t testing.TB, path string) *Contract {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", path, err)
	}
	doc.Servers = nil // match paths on any host, such as httptest's
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("route %s: %v", path, err)
	}
	c := &Contract{t: t, router: router, want: map[string]bool{}}
	for p, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				c.want[method+" "+p+" "+status] = false
			}
		}
	}
	t.Cleanup(c.checkCoverage)
	return c
}

// check validates one exchange.
func (c *Contract) check(req *http.Request, resp *http.Response, body []byte) {
	c.t.Helper()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Errorf("contract: %s %s is not a documented operation: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: resp.StatusCode,
		Header: resp.Header,
		Body:   io.NopCloser(bytes.NewReader(body)),
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		c.t.Errorf("contract: %s %s answered %d %s, which the document does not allow: %v",
			req.Method, req.URL.Path, resp.StatusCode, body, err)
	}
	c.mu.Lock()
	c.want[route.Method+" "+route.Path+" "+strconv.Itoa(resp.StatusCode)] = true
	c.mu.Unlock()
}

func (c *Contract) checkCoverage() {
	if c.t.Failed() {
		return
	}
	var missing []string
	for k, seen := range c.want {
		if !seen {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		c.t.Errorf("contract: documented response %s was never produced by the tests", k)
	}
}
