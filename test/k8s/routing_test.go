package k8s

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	lua "github.com/yuin/gopher-lua"
	networkingv1 "k8s.io/api/networking/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// checkSticky asserts that the gateway's route is sticky by campaign and by
// nothing else: with the Gateway API, a BackendTrafficPolicy on the
// gateway's HTTPRoute hashes on one header, and the Lua filter on the same
// route sets that header to the campaign id from the path, whatever the
// query string carries; with an Ingress, ingress-nginx hashes on $uri (the
// path without the query string).
func checkSticky(t *testing.T, objs []object) {
	t.Helper()
	if route := named[gwv1.HTTPRoute](objs, "gateway"); route != nil {
		btp := targeting[egv1a1.BackendTrafficPolicy](objs, "gateway", func(p *egv1a1.BackendTrafficPolicy) egv1a1.PolicyTargetReferences {
			return p.Spec.PolicyTargetReferences
		})
		eep := targeting[egv1a1.EnvoyExtensionPolicy](objs, "gateway", func(p *egv1a1.EnvoyExtensionPolicy) egv1a1.PolicyTargetReferences {
			return p.Spec.PolicyTargetReferences
		})
		if btp == nil || eep == nil {
			t.Fatalf("the gateway HTTPRoute has no BackendTrafficPolicy (%v) or EnvoyExtensionPolicy (%v)", btp != nil, eep != nil)
		}
		lb := btp.Spec.LoadBalancer
		if lb == nil || lb.Type != egv1a1.ConsistentHashLoadBalancerType || lb.ConsistentHash == nil {
			t.Fatal("the gateway's BackendTrafficPolicy is not a consistent hash")
		}
		ch := lb.ConsistentHash
		if ch.Type != egv1a1.HeadersConsistentHashType || len(ch.Headers) != 1 || ch.Headers[0] == nil {
			t.Fatalf("consistent hash on %s %v, want exactly one header set from the campaign id", ch.Type, ch.Headers)
		}
		header := strings.ToLower(ch.Headers[0].Name)
		if header == ":path" || header == "path" || header == ":authority" || header == "authorization" || header == "cookie" {
			t.Fatalf("consistent hash on %s: that is the URL or a credential, not the campaign", header)
		}
		if len(eep.Spec.Lua) != 1 || eep.Spec.Lua[0].Inline == nil {
			t.Fatal("the gateway's EnvoyExtensionPolicy has no inline Lua")
		}
		checkCampaignKey(t, *eep.Spec.Lua[0].Inline, header)
		var noTimeout bool
		for _, r := range route.Spec.Rules {
			if r.Timeouts != nil && r.Timeouts.Request != nil && *r.Timeouts.Request == "0s" {
				noTimeout = true
			}
		}
		if !noTimeout {
			t.Error("the gateway HTTPRoute keeps a request timeout: WebSockets would be cut")
		}
	}
	if in := named[networkingv1.Ingress](objs, "gateway"); in != nil {
		if got := in.Annotations["nginx.ingress.kubernetes.io/upstream-hash-by"]; got != "$uri" {
			t.Errorf("gateway Ingress upstream-hash-by = %q, want $uri (the path without the query string)", got)
		}
		for _, k := range []string{"nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"} {
			if n, err := strconv.Atoi(in.Annotations[k]); err != nil || n < 3600 {
				t.Errorf("gateway Ingress %s = %q, want an hour or more for idle sockets", k, in.Annotations[k])
			}
		}
	}
}

// targeting returns the policy of type T whose targetRefs name the HTTPRoute.
func targeting[T any](objs []object, route string, refs func(*T) egv1a1.PolicyTargetReferences) *T {
	for _, p := range find[T](objs) {
		for _, r := range refs(p).TargetRefs {
			if r.Kind == "HTTPRoute" && string(r.Name) == route {
				return p
			}
		}
	}
	return nil
}

// checkCampaignKey runs the route's Lua filter (gopher-lua, with a stream
// handle of Envoy's Lua API reduced to headers) on socket URLs and asserts
// the hash header it leaves: the campaign id, whatever the query string
// says, and nothing a client sent itself.
func checkCampaignKey(t *testing.T, script, header string) {
	t.Helper()
	const token = "eyJhbGciOiJIUzI1NiJ9.secret"
	cases := []struct {
		path, sent, want string
	}{
		{"/ws/campaign/42/", "", "42"},
		{"/ws/campaign/42", "", "42"},
		{"/ws/campaign/42/?access_token=" + token, "", "42"},
		{"/ws/campaign/42/?since=0000000100000000000000000007&access_token=" + token, "", "42"},
		{"/ws/campaign/42?access_token=" + token, "", "42"},
		{"/ws/campaign/7/", "99", "7"},            // a client cannot pick its pod
		{"/ws/campaign/x/", "99", ""},             // not a campaign: no key at all
		{"/api/campaigns/42", "", ""},             // not a socket
		{"/ws/campaign/?access_token=42", "", ""}, // the query string is never read
	}
	for _, c := range cases {
		L := lua.NewState(lua.Options{SkipOpenLibs: false})
		if err := L.DoString(luaHandleMock); err != nil {
			L.Close()
			t.Fatal(err)
		}
		h := L.NewTable()
		h.RawSetString(":path", lua.LString(c.path))
		if c.sent != "" {
			h.RawSetString(header, lua.LString(c.sent))
		}
		L.SetGlobal("H", h)
		if err := L.DoString(script); err != nil {
			L.Close()
			t.Fatalf("the gateway's Lua does not load: %v", err)
		}
		if err := L.CallByParam(lua.P{Fn: L.GetGlobal("envoy_on_request"), NRet: 0, Protect: true}, L.GetGlobal("StreamHandle")); err != nil {
			L.Close()
			t.Fatalf("envoy_on_request(%q): %v", c.path, err)
		}
		got := ""
		if v := h.RawGetString(header); v != lua.LNil {
			got = v.String()
		}
		L.Close()
		if got != c.want {
			t.Errorf("path %q (client sent %s=%q): hash key %q, want %q", c.path, header, c.sent, got, c.want)
		}
		if strings.Contains(got, token) {
			t.Errorf("path %q: the token reached the hash key", c.path)
		}
	}
}

// luaHandleMock is Envoy's Lua stream handle, as far as a header filter
// uses it: headers():get/add/replace/remove over the global table H.
const luaHandleMock = `
Headers = {}
function Headers:get(k) return H[k] end
function Headers:add(k, v) if H[k] ~= nil then H[k] = H[k] .. "," .. v else H[k] = v end end
function Headers:replace(k, v) H[k] = v end
function Headers:remove(k) H[k] = nil end
StreamHandle = {}
function StreamHandle:headers() return Headers end
function StreamHandle:logInfo(m) end
`

// routeTable is where tools/cmd/devedge sends each path locally; the
// cluster's routes must agree.
var routeTable = []struct{ path, service string }{
	{"/api/campaigns", "content"},
	{"/api/campaigns/", "content"},
	{"/api/campaigns/42", "content"},
	{"/api/campaigns/42/updates", "content"},
	{"/api/campaigns/42/releases", "content"},
	{"/api/campaigns/42/contributionsx", "content"},
	{"/api/campaigns/42/contributions", "contribution"},
	{"/api/campaigns/42/contributions/7", "contribution"},
	{"/api/campaigns/42/comments", "comment"},
	{"/api/campaigns/42/milestones", "milestone"},
	{"/api/campaigns/42/milestones/3", "milestone"},
	{"/api/live/campaigns/42", "fanout"},
	{"/ws/campaign/42/", "gateway"},
	{"/api/nothing", ""},
}

// TestRoutes resolves every path of routeTable through the rendered
// HTTPRoutes (Gateway API precedence as Envoy Gateway applies it: exact,
// then regular expression, then the longest prefix) and through the
// rendered Ingresses (ingress-nginx with use-regex: longest path first,
// case-insensitive prefix regex).
func TestRoutes(t *testing.T) {
	helmBin(t)
	for _, c := range renderCases(t) {
		if c.chart != "campaign-live" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			objs := render(t, c)
			routes := find[gwv1.HTTPRoute](objs)
			ingresses := find[networkingv1.Ingress](objs)
			if len(routes) == 0 && len(ingresses) == 0 {
				if c.name == "campaign-live/local" {
					t.Skip("the local values route nothing: skaffold forwards each service's port")
				}
				t.Fatal("neither HTTPRoutes nor Ingresses rendered")
			}
			web := named[gwv1.HTTPRoute](objs, "web") != nil || named[networkingv1.Ingress](objs, "web") != nil
			for _, r := range routeTable {
				if r.service == "" && web {
					// With the web client installed, / is its prefix; its
					// nginx answers 404 under /api/ as devedge does.
					r.service = "web"
				}
				if len(routes) > 0 {
					if got := resolveHTTPRoute(t, routes, r.path); got != r.service {
						t.Errorf("HTTPRoutes send %s to %q, devedge to %q", r.path, got, r.service)
					}
				}
				if len(ingresses) > 0 {
					if got := resolveIngress(t, ingresses, r.path); got != r.service {
						t.Errorf("Ingresses send %s to %q, devedge to %q", r.path, got, r.service)
					}
				}
			}
		})
	}
}

type candidate struct {
	rank    int // 0 exact, 1 regex, 2 prefix
	length  int
	service string
}

func resolveHTTPRoute(t *testing.T, routes []*gwv1.HTTPRoute, path string) string {
	t.Helper()
	var cs []candidate
	for _, r := range routes {
		for _, rule := range r.Spec.Rules {
			svc := ""
			if len(rule.BackendRefs) > 0 {
				svc = string(rule.BackendRefs[0].Name)
			}
			for _, m := range rule.Matches {
				if m.Path == nil || m.Path.Value == nil {
					continue
				}
				v, typ := *m.Path.Value, gwv1.PathMatchPathPrefix
				if m.Path.Type != nil {
					typ = *m.Path.Type
				}
				switch typ {
				case gwv1.PathMatchExact:
					if path == v {
						cs = append(cs, candidate{0, len(v), svc})
					}
				case gwv1.PathMatchRegularExpression:
					re, err := regexp.Compile("^(?:" + v + ")$") // Envoy: the whole path must match
					if err != nil {
						t.Fatalf("HTTPRoute %s: regex %q: %v", r.Name, v, err)
					}
					if re.MatchString(path) {
						cs = append(cs, candidate{1, len(v), svc})
					}
				case gwv1.PathMatchPathPrefix:
					p := strings.TrimSuffix(v, "/")
					if v == "/" || path == p || strings.HasPrefix(path, p+"/") {
						cs = append(cs, candidate{2, len(v), svc})
					}
				}
			}
		}
	}
	return best(cs)
}

func resolveIngress(t *testing.T, ingresses []*networkingv1.Ingress, path string) string {
	t.Helper()
	var paths []struct {
		path, service string
	}
	for _, in := range ingresses {
		for _, rule := range in.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				paths = append(paths, struct{ path, service string }{p.Path, p.Backend.Service.Name})
			}
		}
	}
	slices.SortStableFunc(paths, func(a, b struct{ path, service string }) int { return cmp.Compare(len(b.path), len(a.path)) })
	for _, p := range paths {
		re, err := regexp.Compile("(?i)^" + p.path)
		if err != nil {
			t.Fatalf("Ingress path %q: %v", p.path, err)
		}
		if re.MatchString(path) {
			return p.service
		}
	}
	return ""
}

func best(cs []candidate) string {
	if len(cs) == 0 {
		return ""
	}
	slices.SortStableFunc(cs, func(a, b candidate) int {
		if a.rank != b.rank {
			return cmp.Compare(a.rank, b.rank)
		}
		return cmp.Compare(b.length, a.length)
	})
	return cs[0].service
}
