package k8s

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// TestRenderRefuses: values that would break a cluster stop the render
// with a message that names the value.
func TestRenderRefuses(t *testing.T) {
	helmBin(t)
	root := repoRoot(t)
	cases := []struct {
		name  string
		chart string
		set   []string
		want  string
	}{
		{"fanout beyond the partitions", "campaign-live", []string{"global.fanout.replicas=13"}, "partitions"},
		{"gateway killed mid-drain", "gateway", []string{"terminationGracePeriodSeconds=30"}, "terminationGracePeriodSeconds"},
		{"fanout autoscaled", "fanout", []string{"autoscaling.enabled=true"}, "autoscaling.enabled"},
		{"root", "content", []string{"securityContext.runAsNonRoot=false"}, "runAsNonRoot"},
		{"misspelt value", "content", []string{"replicaCont=3"}, "replicaCont"},
		{"hash on the URL", "gateway", []string{"envoyGateway.hashHeader=:path"}, "hashHeader"},
		{"origin with a path", "gateway", []string{"config.allowedOrigins[0]=https://example.com/app"}, "allowedOrigins"},
		{"alert without for", "campaign-live", []string{"monitoring.alerts.enabled=true", "monitoring.alerts.fanoutLag.for="}, "fanoutLag/for"},
		{"alert threshold not a number", "campaign-live", []string{"monitoring.alerts.deliveryLatencyP99.threshold=25ms"}, "deliveryLatencyP99/threshold"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := renderCase{chart: c.chart, set: c.set}.args(root)
			_, err := helm(t, args...)
			if err == nil {
				t.Fatalf("helm template %s --set %v rendered; want a refusal naming %s", c.chart, c.set, c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("refusal does not name %s:\n%v", c.want, err)
			}
		})
	}
}

// TestClusterManifests decodes every manifest in k8s/ strictly and checks
// the topic and the Gateway the charts rely on.
func TestClusterManifests(t *testing.T) {
	root := repoRoot(t)
	var objs []object
	err := filepath.WalkDir(filepath.Join(root, "k8s"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") || strings.HasPrefix(d.Name(), "values") {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := decodeAll(raw)
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
		for i := range got {
			got[i].Source = strings.TrimPrefix(p, root+"/")
		}
		objs = append(objs, got...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	topics := find[KafkaTopic](objs)
	var topic *KafkaTopic
	for _, k := range topics {
		if k.Name == "campaign-events" {
			topic = k
		}
	}
	if topic == nil {
		t.Fatal("k8s/: no KafkaTopic campaign-events")
	}
	if topic.Spec.Partitions != 12 || topic.Spec.Replicas != 3 {
		t.Errorf("KafkaTopic campaign-events: %d partitions, replication %d; want 12 and 3", topic.Spec.Partitions, topic.Spec.Replicas)
	}
	if topic.Labels["strimzi.io/cluster"] == "" {
		t.Error("KafkaTopic campaign-events: no strimzi.io/cluster label (the topic operator ignores it)")
	}
	if topic.Spec.Config["min.insync.replicas"] == nil {
		t.Error("KafkaTopic campaign-events: no min.insync.replicas (acks=all needs it to survive a broker loss)")
	}

	// The HTTPRoutes' default parentRef must name the Gateway shipped here,
	// on a listener that admits routes from the release namespace.
	var values map[string]any
	raw, err := os.ReadFile(filepath.Join(root, "charts", "campaign-live", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	ref := values["global"].(map[string]any)["gatewayApi"].(map[string]any)["parentRefs"].([]any)[0].(map[string]any)
	var gw *gwv1.Gateway
	for _, g := range find[gwv1.Gateway](objs) {
		if g.Name == ref["name"] && g.Namespace == ref["namespace"] {
			gw = g
		}
	}
	if gw == nil {
		t.Fatalf("k8s/: no Gateway %s/%s, the charts' default parentRef", ref["namespace"], ref["name"])
	}
	var listener *gwv1.Listener
	for i := range gw.Spec.Listeners {
		if string(gw.Spec.Listeners[i].Name) == ref["sectionName"] {
			listener = &gw.Spec.Listeners[i]
		}
	}
	if listener == nil {
		t.Fatalf("Gateway %s has no listener %v", gw.Name, ref["sectionName"])
	}
	if listener.AllowedRoutes == nil || listener.AllowedRoutes.Namespaces == nil || listener.AllowedRoutes.Namespaces.From == nil ||
		*listener.AllowedRoutes.Namespaces.From == gwv1.NamespacesFromSame {
		t.Errorf("Gateway %s listener %s admits routes only from its own namespace, not from %s", gw.Name, listener.Name, namespace)
	}
	// Idle sockets live for hours: the client side must not cut them.
	var ctp *egv1a1.ClientTrafficPolicy
	for _, p := range find[egv1a1.ClientTrafficPolicy](objs) {
		for _, r := range p.Spec.TargetRefs {
			if r.Kind == "Gateway" && string(r.Name) == gw.Name {
				ctp = p
			}
		}
	}
	if ctp == nil || ctp.Spec.Timeout == nil || ctp.Spec.Timeout.HTTP == nil || ctp.Spec.Timeout.HTTP.IdleTimeout == nil {
		t.Errorf("k8s/: no ClientTrafficPolicy with an HTTP idle timeout on Gateway %s", gw.Name)
	}
	if len(find[KafkaTopic](objs)) == 0 || !slices.ContainsFunc(objs, func(o object) bool { return o.Kind == "Namespace" && o.Meta.Name == namespace }) {
		t.Errorf("k8s/: no Namespace %s", namespace)
	}
}

// skaffoldConfig is the part of skaffold's v4beta13 schema this repository
// uses, kept here as its schema (skaffold's module is not served by the Go
// proxy here, and skaffold refuses go install): a key outside it fails the
// strict decode, so a misspelling cannot pass silently.
type skaffoldConfig struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Build     skaffoldBuild     `json:"build"`
	Manifests skaffoldManifests `json:"manifests"`
	Deploy    skaffoldDeploy    `json:"deploy"`
	Profiles  []skaffoldProfile `json:"profiles"`
}

type skaffoldProfile struct {
	Name        string              `json:"name"`
	Activation  []map[string]string `json:"activation,omitempty"`
	Build       *skaffoldBuild      `json:"build,omitempty"`
	Manifests   *skaffoldManifests  `json:"manifests,omitempty"`
	Deploy      *skaffoldDeploy     `json:"deploy,omitempty"`
	PortForward []struct {
		ResourceType string `json:"resourceType"`
		ResourceName string `json:"resourceName"`
		Namespace    string `json:"namespace,omitempty"`
		Port         int    `json:"port"`
		LocalPort    int    `json:"localPort,omitempty"`
	} `json:"portForward,omitempty"`
	Patches []struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value,omitempty"`
	} `json:"patches,omitempty"`
}

type skaffoldBuild struct {
	Artifacts []struct {
		Image   string `json:"image"`
		Context string `json:"context"`
		Docker  struct {
			Dockerfile string            `json:"dockerfile"`
			BuildArgs  map[string]string `json:"buildArgs,omitempty"`
			Target     string            `json:"target,omitempty"`
		} `json:"docker"`
	} `json:"artifacts,omitempty"`
	Local *struct {
		Push             *bool `json:"push,omitempty"`
		UseBuildkit      *bool `json:"useBuildkit,omitempty"`
		Concurrency      *int  `json:"concurrency,omitempty"`
		TryImportMissing *bool `json:"tryImportMissing,omitempty"`
	} `json:"local,omitempty"`
	TagPolicy map[string]any `json:"tagPolicy,omitempty"`
	Platforms []string       `json:"platforms,omitempty"`
}

type skaffoldManifests struct {
	RawYaml []string `json:"rawYaml,omitempty"`
	Helm    *struct {
		Releases []skaffoldRelease `json:"releases"`
	} `json:"helm,omitempty"`
}

type skaffoldRelease struct {
	Name                  string            `json:"name"`
	ChartPath             string            `json:"chartPath"`
	Namespace             string            `json:"namespace"`
	CreateNamespace       *bool             `json:"createNamespace,omitempty"`
	ValuesFiles           []string          `json:"valuesFiles,omitempty"`
	SetValueTemplates     map[string]string `json:"setValueTemplates,omitempty"`
	SetValues             map[string]any    `json:"setValues,omitempty"`
	SkipBuildDependencies *bool             `json:"skipBuildDependencies,omitempty"`
	Wait                  *bool             `json:"wait,omitempty"`
}

type skaffoldDeploy struct {
	Helm *struct {
		Hooks *struct {
			Before []struct {
				Host struct {
					Command []string `json:"command"`
				} `json:"host"`
			} `json:"before,omitempty"`
		} `json:"hooks,omitempty"`
		Releases []skaffoldRelease `json:"releases,omitempty"`
		Flags    *struct {
			Install []string `json:"install,omitempty"`
			Upgrade []string `json:"upgrade,omitempty"`
		} `json:"flags,omitempty"`
	} `json:"helm,omitempty"`
	Kubectl *struct {
		DefaultNamespace string `json:"defaultNamespace,omitempty"`
	} `json:"kubectl,omitempty"`
	StatusCheckDeadlineSeconds int `json:"statusCheckDeadlineSeconds,omitempty"`
}

// TestSkaffold: skaffold.yaml is of the current schema, builds one image per
// service from the repository root with the service's Dockerfile, and hands
// each image to its chart through setValueTemplates.
func TestSkaffold(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "skaffold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg skaffoldConfig
	if err := strictUnmarshal(raw, &cfg); err != nil {
		t.Fatalf("skaffold.yaml: %v", err)
	}
	if cfg.APIVersion != "skaffold/v4beta13" || cfg.Kind != "Config" {
		t.Errorf("skaffold.yaml: %s %s, want skaffold/v4beta13 Config", cfg.APIVersion, cfg.Kind)
	}
	images := map[string]bool{}
	for _, a := range cfg.Build.Artifacts {
		images[a.Image] = true
		if a.Context != "." {
			t.Errorf("artifact %s: context %q, want the repository root (pkg/ must be visible)", a.Image, a.Context)
		}
		if _, err := os.Stat(filepath.Join(root, a.Docker.Dockerfile)); err != nil {
			t.Errorf("artifact %s: %v", a.Image, err)
		}
	}
	if cfg.Deploy.Helm == nil || len(cfg.Deploy.Helm.Releases) != 1 {
		t.Fatal("skaffold.yaml: want one helm release (the umbrella)")
	}
	rel := cfg.Deploy.Helm.Releases[0]
	if rel.ChartPath != "charts/campaign-live" {
		t.Errorf("helm release chartPath %q, want charts/campaign-live", rel.ChartPath)
	}
	for _, s := range append(services[:len(services):len(services)], "web") {
		image := "campaign-live/" + s
		if !images[image] {
			t.Errorf("skaffold.yaml: no artifact %s", image)
		}
		key := strings.NewReplacer("/", "_", "-", "_").Replace(image)
		for _, v := range []string{s + ".image.registry", s + ".image.repository", s + ".image.tag"} {
			tmpl, ok := rel.SetValueTemplates[v]
			if !ok {
				t.Errorf("setValueTemplates has no %s", v)
				continue
			}
			if !strings.Contains(tmpl, key) {
				t.Errorf("setValueTemplates[%s] = %q does not name %s's image (%s)", v, tmpl, s, key)
			}
		}
	}
	if !slices.ContainsFunc(cfg.Profiles, func(p skaffoldProfile) bool {
		return p.Name == "local"
	}) {
		t.Error("skaffold.yaml: no local profile")
	}
	for _, f := range rel.ValuesFiles {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("helm release values file: %v", err)
		}
	}
	for _, p := range cfg.Profiles {
		if p.Deploy != nil && p.Deploy.Helm != nil {
			for _, r := range p.Deploy.Helm.Releases {
				for _, f := range r.ValuesFiles {
					if _, err := os.Stat(filepath.Join(root, f)); err != nil {
						t.Errorf("profile %s: values file: %v", p.Name, err)
					}
				}
			}
		}
		for _, patch := range p.Patches {
			if s, ok := patch.Value.(string); ok && strings.HasSuffix(s, ".yaml") {
				if _, err := os.Stat(filepath.Join(root, s)); err != nil {
					t.Errorf("profile %s: patch value: %v", p.Name, err)
				}
			}
		}
	}
}

// TestDockerfiles: each service's image is built from the repository root,
// statically, and runs as non-root on a distroless base with nothing to
// download at start.
func TestDockerfiles(t *testing.T) {
	root := repoRoot(t)
	from := regexp.MustCompile(`(?m)^FROM\s+(\S+)(\s+AS\s+(\S+))?`)
	for _, s := range services {
		p := filepath.Join(root, "deploy", "docker", s+".Dockerfile")
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			continue
		}
		text := string(raw)
		stages := from.FindAllStringSubmatchIndex(text, -1)
		if len(stages) < 2 {
			t.Errorf("%s: want a build stage and a runtime stage", p)
			continue
		}
		last := stages[len(stages)-1]
		base, final := text[last[2]:last[3]], text[last[0]:]
		if !strings.HasPrefix(base, "gcr.io/distroless/static") || !strings.Contains(base, "nonroot") {
			t.Errorf("%s: runtime base %s, want gcr.io/distroless/static...:nonroot", p, base)
		}
		if regexp.MustCompile(`(?m)^RUN\s`).MatchString(final) {
			t.Errorf("%s: RUN in the runtime stage (it has no shell)", p)
		}
		if !regexp.MustCompile(`(?m)^USER\s+(nonroot|65532)`).MatchString(final) {
			t.Errorf("%s: runtime stage does not set USER nonroot", p)
		}
		for _, want := range []string{"CGO_ENABLED=0", "./services/" + s, "-trimpath", `ENTRYPOINT ["/` + s + `"]`} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: no %s", p, want)
			}
		}
		if _, err := os.Stat(p + ".dockerignore"); err != nil {
			t.Errorf("%s: no .dockerignore beside it (the context is the whole repository): %v", p, err)
		}
	}
}
