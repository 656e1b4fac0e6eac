package k8s

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestServicesAcceptRenderedConfig starts each service's real binary with
// the environment the production render gives its pod (the ConfigMap, and
// stand-ins for the Secrets) and asserts that its own configuration loader
// accepts it: every service validates its environment before it listens or
// connects, and exits naming the variable it refuses. A chart that wrote
// DRAIN_TIMEOUT=25 instead of 25s, or a FANOUT_ADDRS that is not host:port,
// fails here rather than in a crash-looping pod. The listen addresses are
// checked to be 0.0.0.0:PORT and then moved to 127.0.0.1:0, so the test
// opens nothing beyond loopback.
func TestServicesAcceptRenderedConfig(t *testing.T) {
	helmBin(t)
	if testing.Short() {
		t.Skip("builds every service")
	}
	objs := render(t, renderCase{name: "campaign-live/production", chart: "campaign-live", values: []string{"k8s/values-production.yaml"}, production: true})
	bin := t.TempDir()
	for _, s := range services {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			pod := podOf(objs, s)
			if pod == nil {
				t.Fatalf("no workload %s in the production render", s)
			}
			cm := named[corev1.ConfigMap](objs, s)
			if cm == nil {
				t.Fatalf("no ConfigMap %s", s)
			}
			env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			for k, v := range cm.Data {
				if k == "AUTH_JWKS_URL" {
					// The services fetch the key set at start; the test
					// reaches nothing off this machine (the schema checks
					// the URL's shape).
					continue
				}
				if strings.HasSuffix(k, "_ADDR") {
					if !regexp.MustCompile(`^0\.0\.0\.0:[0-9]+$`).MatchString(v) {
						t.Errorf("%s=%q: want 0.0.0.0:PORT in a pod", k, v)
					}
					v = "127.0.0.1:0"
				}
				env = append(env, k+"="+v)
			}
			for _, e := range pod.Containers[0].Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					v := "test-secret-value"
					if e.Name == "DATABASE_URL" {
						// Nothing listens there: the service gets past its
						// configuration and then waits on the database.
						v = "postgres://u:p@127.0.0.1:1/" + s + "?sslmode=disable&connect_timeout=1"
					}
					env = append(env, e.Name+"="+v)
				}
			}
			exe := filepath.Join(bin, s)
			build := exec.Command("go", "build", "-o", exe, "./services/"+s)
			build.Dir = repoRoot(t)
			// The services build in the repository's workspace (this
			// module runs outside it, with GOWORK=off).
			build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK="+filepath.Join(repoRoot(t), "go.work"))
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build ./services/%s: %v\n%s", s, err, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe)
			cmd.Env = env
			cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGKILL) }
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if ctx.Err() != nil {
				return // still running after 3s: configuration accepted
			}
			log := out.String()
			if refused := regexp.MustCompile(`configuration|[A-Z][A-Z0-9_]+=\\?"|want host:port|want a `).FindString(log); refused != "" {
				t.Fatalf("%s refuses the rendered configuration (%v):\n%s", s, err, log)
			}
			if !strings.Contains(log, "127.0.0.1:1") && !strings.Contains(strings.ToLower(log), "connect") {
				t.Fatalf("%s exited before reaching its database (%v):\n%s", s, err, log)
			}
		})
	}
}

func podOf(objs []object, name string) *corev1.PodSpec {
	if d := named[appsv1.Deployment](objs, name); d != nil {
		return &d.Spec.Template.Spec
	}
	if s := named[appsv1.StatefulSet](objs, name); s != nil {
		return &s.Spec.Template.Spec
	}
	return nil
}
