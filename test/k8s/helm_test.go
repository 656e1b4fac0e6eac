package k8s

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

// kubeVersion is the Kubernetes version the charts are rendered for: the
// oldest the charts declare (kubeVersion >=1.30) is checked by helm itself;
// this one is what .Capabilities reports during the render.
const kubeVersion = "1.34.0"

const namespace = "campaign-live"

// serviceCharts are the charts built on campaign-live-lib.
var serviceCharts = []string{"content", "contribution", "comment", "milestone", "fanout", "gateway", "web"}

// services are the Go services (one image each).
var services = []string{"content", "contribution", "comment", "milestone", "fanout", "gateway"}

func repoRoot(t testing.TB) string {
	t.Helper()
	if r := os.Getenv("REPO_ROOT"); r != "" {
		return r
	}
	abs, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// helmBin returns the helm to run: $HELM, else the one scripts/k8s.sh
// caches. Without either the test is skipped: scripts/k8s.sh check always
// provides it.
func helmBin(t testing.TB) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	t.Skip("HELM is not set and helm is not built: run scripts/k8s.sh check")
	return ""
}

// helm runs helm with args and returns its standard output, or its error
// with standard error.
func helm(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	cmd.Dir = repoRoot(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// renderCase is one helm template of one chart with some values.
type renderCase struct {
	name   string
	chart  string   // directory under charts/
	values []string // files, relative to the repo root or absolute
	set    []string // --set
	// production marks the cases rendered with k8s/values-production.yaml.
	production bool
}

func (c renderCase) args(root string) []string {
	release := c.chart
	if c.chart == "campaign-live" {
		release = "campaign-live"
	}
	args := []string{"template", release, filepath.Join(root, "charts", c.chart),
		"--namespace", namespace, "--kube-version", kubeVersion}
	for _, v := range c.values {
		if !filepath.IsAbs(v) {
			v = filepath.Join(root, v)
		}
		args = append(args, "--values", v)
	}
	for _, s := range c.set {
		args = append(args, "--set", s)
	}
	return args
}

// productionValuesFor writes the production values of one service chart
// installed alone: the global section of k8s/values-production.yaml and
// that service's own section, as a team that ships the service alone would.
func productionValuesFor(t testing.TB, chart string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "k8s", "values-production.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := yaml.Unmarshal(raw, &all); err != nil {
		t.Fatalf("k8s/values-production.yaml: %v", err)
	}
	own, _ := all[chart].(map[string]any)
	if own == nil {
		own = map[string]any{}
	}
	own = copyMap(own)
	delete(own, "enabled")
	own["global"] = all["global"]
	out, err := yaml.Marshal(own)
	if err != nil {
		t.Fatal(err)
	}
	dir := productionDir(t)
	p := filepath.Join(dir, chart+".yaml")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	prodDirOnce sync.Once
	prodDir     string
)

func productionDir(t testing.TB) string {
	prodDirOnce.Do(func() {
		d, err := os.MkdirTemp("", "k8s-production-values-")
		if err != nil {
			t.Fatal(err)
		}
		prodDir = d
	})
	return prodDir
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// renderCases is every combination CI renders: each chart with its defaults
// and with production values, and the umbrella with every toggle on and
// with the Ingress instead of the Gateway API.
func renderCases(t testing.TB) []renderCase {
	var cases []renderCase
	for _, c := range serviceCharts {
		cases = append(cases,
			renderCase{name: c + "/default", chart: c},
			renderCase{name: c + "/production", chart: c, values: []string{productionValuesFor(t, c)}, production: true},
		)
	}
	cases = append(cases,
		renderCase{name: "campaign-live/default", chart: "campaign-live"},
		renderCase{name: "campaign-live/production", chart: "campaign-live", values: []string{"k8s/values-production.yaml"}, production: true},
		renderCase{name: "campaign-live/everything-on", chart: "campaign-live", values: []string{"test/k8s/testdata/everything-on.yaml"}},
		renderCase{name: "campaign-live/ingress", chart: "campaign-live", values: []string{"test/k8s/testdata/ingress.yaml"}},
		renderCase{name: "campaign-live/local", chart: "campaign-live", values: []string{"k8s/dev/values-local.yaml"}},
	)
	return cases
}

// rendered caches each case's objects: several tests read the same render.
var (
	renderMu    sync.Mutex
	renderCache = map[string][]object{}
)

func render(t testing.TB, c renderCase) []object {
	t.Helper()
	renderMu.Lock()
	if objs, ok := renderCache[c.name]; ok {
		renderMu.Unlock()
		return objs
	}
	renderMu.Unlock()
	out, err := helm(t, c.args(repoRoot(t))...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeAll(out)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	renderMu.Lock()
	renderCache[c.name] = objs
	renderMu.Unlock()
	return objs
}
