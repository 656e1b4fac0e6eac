// Command devedge is the local stand-in for the cluster's Gateway API routes:
// one origin, http://localhost:8080, that serves the web client at / and
// routes /api/... and /ws/... to the services exactly as the HTTPRoutes in
// charts/ do. It is for `make run` and the end-to-end tests, not for
// production.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/campaign-live/campaign-live/pkg/app"
	"github.com/campaign-live/campaign-live/pkg/problem"
)

func main() {
	log := app.Logger("devedge")
	app.Main(log, func(ctx context.Context) error { return run(ctx, log, app.NewEnv()) })
}

// route sends requests whose path matches to a backend.
type route struct {
	name    string
	match   func(path string) bool
	backend *httputil.ReverseProxy
}

func run(ctx context.Context, log *slog.Logger, env *app.Env) error {
	var (
		addr         = env.String("EDGE_ADDR", "127.0.0.1:8080")
		content      = env.String("CONTENT_URL", "http://127.0.0.1:8101")
		contribution = env.String("CONTRIBUTION_URL", "http://127.0.0.1:8102")
		comment      = env.String("COMMENT_URL", "http://127.0.0.1:8105")
		milestone    = env.String("MILESTONE_URL", "http://127.0.0.1:8106")
		fanout       = env.String("FANOUT_URL", "http://127.0.0.1:8103")
		gateway      = env.String("GATEWAY_URL", "http://127.0.0.1:8104")
		webDir       = env.String("WEB_DIR", "web/dist")
	)
	if err := env.Err(); err != nil {
		return err
	}
	// http.DefaultTransport keeps 2 idle connections per backend: under
	// load most proxied requests would open a new one (W2's writes through
	// devedge reached 800/s with an 880 ms p50).
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 1024
	transport.MaxIdleConnsPerHost = 256
	proxy := func(name, raw string) (*httputil.ReverseProxy, error) {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%s URL %q: invalid", name, raw)
		}
		p := httputil.NewSingleHostReverseProxy(u)
		p.Transport = transport
		p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			log.Warn("backend unavailable", "backend", name, "path", r.URL.Path, "err", err)
			problem.Write(w, &problem.Error{Kind: problem.Unavailable, Title: name + " unavailable"})
		}
		return p, nil
	}
	// The order matters: the first match wins, as in an HTTPRoute's rules
	// sorted by specificity.
	specs := []struct {
		name, url string
		match     func(string) bool
	}{
		{"contribution", contribution, campaignSub("contributions")},
		{"comment", comment, campaignSub("comments")},
		{"milestone", milestone, campaignSub("milestones")},
		{"fanout", fanout, prefix("/api/live/")},
		{"content", content, prefix("/api/campaigns")},
		{"gateway", gateway, prefix("/ws/")},
	}
	var routes []route
	for _, s := range specs {
		p, err := proxy(s.name, s.url)
		if err != nil {
			return err
		}
		routes = append(routes, route{name: s.name, match: s.match, backend: p})
	}
	web := webHandler(webDir)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, rt := range routes {
			if rt.match(r.URL.Path) {
				rt.backend.ServeHTTP(w, r)
				return
			}
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			problem.Write(w, problem.New(problem.NotFound, "not found"))
			return
		}
		web.ServeHTTP(w, r)
	})
	return app.ServeHTTP(ctx, log, "edge", addr, h, 5*time.Second)
}

func prefix(p string) func(string) bool {
	return func(path string) bool { return strings.HasPrefix(path, p) }
}

// campaignSub matches /api/campaigns/{id}/{sub} and what lies below it.
func campaignSub(sub string) func(string) bool {
	return func(path string) bool {
		rest, ok := strings.CutPrefix(path, "/api/campaigns/")
		if !ok {
			return false
		}
		_, tail, ok := strings.Cut(rest, "/")
		return ok && (tail == sub || strings.HasPrefix(tail, sub+"/"))
	}
}

// webHandler serves the built web client, and index.html for client-side
// routes such as /campaigns/42. Until the client is built it says so.
func webHandler(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		index := filepath.Join(dir, "index.html")
		if _, err := os.Stat(index); errors.Is(err, os.ErrNotExist) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintln(w, "campaign-live is running. The web client is not built; the API is at /api/ and sockets at /ws/campaign/{id}/.")
			return
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.Clean("/"+r.URL.Path))); err != nil {
			http.ServeFile(w, r, index)
			return
		}
		files.ServeHTTP(w, r)
	})
}
