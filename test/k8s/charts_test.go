package k8s

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestLint runs helm lint --strict on every chart, with its defaults and
// with production values.
func TestLint(t *testing.T) {
	helmBin(t)
	root := repoRoot(t)
	charts := append([]string{"campaign-live-lib"}, serviceCharts...)
	charts = append(charts, "campaign-live")
	for _, c := range charts {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			args := []string{"lint", "--strict", "--kube-version", kubeVersion, "--namespace", namespace, root + "/charts/" + c}
			if _, err := helm(t, args...); err != nil {
				t.Error(err)
			}
			if c == "campaign-live-lib" {
				return
			}
			prod := productionValuesFor(t, c)
			if c == "campaign-live" {
				prod = root + "/k8s/values-production.yaml"
			}
			if _, err := helm(t, append(args, "--values", prod)...); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestCharts renders every case and holds every object to the rules below.
func TestCharts(t *testing.T) {
	helmBin(t)
	for _, c := range renderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			objs := render(t, c)
			if len(objs) == 0 {
				t.Fatal("rendered nothing")
			}
			checkMetadata(t, objs)
			checkWorkloads(t, objs, c)
			checkDisruptionBudgets(t, objs)
			checkServices(t, objs)
			checkReferences(t, objs)
			checkNetworkPolicies(t, objs)
			if d := named[appsv1.Deployment](objs, "gateway"); d != nil {
				checkGateway(t, objs, d)
			}
			if s := named[appsv1.StatefulSet](objs, "fanout"); s != nil {
				checkFanout(t, objs, s)
			}
		})
	}
}

func checkMetadata(t *testing.T, objs []object) {
	t.Helper()
	for _, o := range objs {
		for _, msg := range validation.IsDNS1123Subdomain(o.Meta.Name) {
			t.Errorf("%s: name: %s", o, msg)
		}
		if o.Meta.Namespace != namespace {
			t.Errorf("%s: namespace %q, want %q", o, o.Meta.Namespace, namespace)
		}
		for k, v := range o.Meta.Labels {
			for _, msg := range validation.IsQualifiedName(k) {
				t.Errorf("%s: label key %q: %s", o, k, msg)
			}
			for _, msg := range validation.IsValidLabelValue(v) {
				t.Errorf("%s: label %s=%q: %s", o, k, v, msg)
			}
		}
		for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of"} {
			if o.Meta.Labels[k] == "" {
				t.Errorf("%s: no %s label", o, k)
			}
		}
	}
}

// podSpecs returns each workload's name, pod template and replica count
// (-1 when an HPA owns it).
type workload struct {
	obj      object
	name     string
	kind     string
	template corev1.PodTemplateSpec
	replicas int32
	selector map[string]string
}

func workloads(objs []object) []workload {
	var out []workload
	hpa := map[string]bool{}
	for _, h := range find[autoscalingv2.HorizontalPodAutoscaler](objs) {
		hpa[h.Spec.ScaleTargetRef.Kind+"/"+h.Spec.ScaleTargetRef.Name] = true
	}
	for _, o := range objs {
		var w workload
		switch v := o.Typed.(type) {
		case *appsv1.Deployment:
			w = workload{obj: o, name: v.Name, kind: "Deployment", template: v.Spec.Template, replicas: deref(v.Spec.Replicas, 1), selector: v.Spec.Selector.MatchLabels}
		case *appsv1.StatefulSet:
			w = workload{obj: o, name: v.Name, kind: "StatefulSet", template: v.Spec.Template, replicas: deref(v.Spec.Replicas, 1), selector: v.Spec.Selector.MatchLabels}
		default:
			continue
		}
		if hpa[w.kind+"/"+w.name] {
			w.replicas = -1
		}
		out = append(out, w)
	}
	return out
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// checkWorkloads: every Deployment and StatefulSet has readiness and
// liveness probes on a port it declares, resources, a non-root read-only
// security context with every capability dropped, no service account token,
// a pinned image and the checksum/config annotation.
func checkWorkloads(t *testing.T, objs []object, c renderCase) {
	t.Helper()
	ws := workloads(objs)
	if len(ws) == 0 && c.chart != "campaign-live-lib" {
		t.Fatal("no Deployment or StatefulSet rendered")
	}
	for _, w := range ws {
		name := w.kind + " " + w.name
		pod := w.template.Spec
		if !labels.SelectorFromSet(w.selector).Matches(labels.Set(w.template.Labels)) {
			t.Errorf("%s: selector %v does not select its own pods %v", name, w.selector, w.template.Labels)
		}
		if w.template.Annotations["checksum/config"] == "" {
			t.Errorf("%s: no checksum/config annotation: a config-only upgrade would not roll the pods", name)
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken is not false (no service calls the Kubernetes API)", name)
		}
		psc := pod.SecurityContext
		if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod seccompProfile is not RuntimeDefault", name)
		}
		if len(pod.Containers) == 0 {
			t.Errorf("%s: no containers", name)
		}
		for _, ct := range pod.Containers {
			cname := name + " container " + ct.Name
			ports := map[string]int32{}
			for _, p := range ct.Ports {
				for _, msg := range validation.IsValidPortName(p.Name) {
					t.Errorf("%s: port name %q: %s", cname, p.Name, msg)
				}
				ports[p.Name] = p.ContainerPort
			}
			for kind, p := range map[string]*corev1.Probe{"readiness": ct.ReadinessProbe, "liveness": ct.LivenessProbe} {
				if p == nil || p.HTTPGet == nil {
					t.Errorf("%s: no HTTP %s probe", cname, kind)
					continue
				}
				if p.HTTPGet.Port.Type != intstr.String || ports[p.HTTPGet.Port.StrVal] == 0 {
					t.Errorf("%s: %s probe on port %s, which the container does not name", cname, kind, p.HTTPGet.Port.String())
				}
				if _, public := ports["ops"]; public && p.HTTPGet.Port.StrVal != "ops" {
					t.Errorf("%s: %s probe on %s, want the ops port", cname, kind, p.HTTPGet.Port.String())
				}
			}
			if ct.ReadinessProbe != nil && ct.ReadinessProbe.HTTPGet != nil && ct.LivenessProbe != nil && ct.LivenessProbe.HTTPGet != nil &&
				ct.ReadinessProbe.HTTPGet.Path == ct.LivenessProbe.HTTPGet.Path && ports["ops"] != 0 {
				t.Errorf("%s: readiness and liveness probe the same path %s: a dependency outage would restart the pods", cname, ct.LivenessProbe.HTTPGet.Path)
			}
			req, lim := ct.Resources.Requests, ct.Resources.Limits
			if req.Cpu().IsZero() || req.Memory().IsZero() {
				t.Errorf("%s: no cpu and memory requests", cname)
			}
			if lim.Memory().IsZero() {
				t.Errorf("%s: no memory limit", cname)
			}
			sc := ct.SecurityContext
			nonRoot := (sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
			if !nonRoot {
				t.Errorf("%s: runAsNonRoot is not true", cname)
			}
			if uid := runAsUser(sc, psc); uid == 0 {
				t.Errorf("%s: runs as uid 0 or sets no uid", cname)
			}
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("%s: readOnlyRootFilesystem is not true", cname)
			}
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: allowPrivilegeEscalation is not false", cname)
			}
			if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s: capabilities do not drop ALL (or add some)", cname)
			}
			if strings.HasSuffix(ct.Image, ":latest") || (!strings.Contains(ct.Image, ":") && !strings.Contains(ct.Image, "@")) {
				t.Errorf("%s: image %q is not pinned to a tag or digest", cname, ct.Image)
			}
			for _, e := range ct.Env {
				for _, msg := range validation.IsEnvVarName(e.Name) {
					t.Errorf("%s: env %q: %s", cname, e.Name, msg)
				}
				if isSecretName(e.Name) && e.Value != "" {
					t.Errorf("%s: %s is a literal; secrets come through secretKeyRef", cname, e.Name)
				}
			}
		}
		sleep := preStopSleep(pod)
		if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds <= sleep {
			t.Errorf("%s: terminationGracePeriodSeconds does not exceed the preStop sleep (%ds)", name, sleep)
		}
	}
}

func runAsUser(sc *corev1.SecurityContext, psc *corev1.PodSecurityContext) int64 {
	if sc != nil && sc.RunAsUser != nil {
		return *sc.RunAsUser
	}
	if psc != nil && psc.RunAsUser != nil {
		return *psc.RunAsUser
	}
	return 0
}

func isSecretName(env string) bool {
	return env == "DATABASE_URL" || strings.Contains(env, "SECRET") || strings.Contains(env, "PASSWORD") || strings.Contains(env, "TOKEN")
}

func preStopSleep(pod corev1.PodSpec) int64 {
	for _, c := range pod.Containers {
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			return c.Lifecycle.PreStop.Sleep.Seconds
		}
	}
	return 0
}

// checkDisruptionBudgets: a workload that runs more than one pod (or is
// autoscaled) has exactly one PodDisruptionBudget over its pods, one that
// lets a drain proceed; every budget covers some workload's pods.
func checkDisruptionBudgets(t *testing.T, objs []object) {
	t.Helper()
	pdbs := find[policyv1.PodDisruptionBudget](objs)
	for _, w := range workloads(objs) {
		var covering []string
		for _, p := range pdbs {
			sel, err := metaSelector(p.Spec.Selector)
			if err != nil {
				t.Errorf("PodDisruptionBudget %s: %v", p.Name, err)
				continue
			}
			if sel.Matches(labels.Set(w.template.Labels)) {
				covering = append(covering, p.Name)
				if p.Spec.MinAvailable != nil {
					t.Errorf("PodDisruptionBudget %s: minAvailable blocks drains when replicas are few; use maxUnavailable", p.Name)
				}
				if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.IntValue() < 1 {
					t.Errorf("PodDisruptionBudget %s: maxUnavailable below 1 blocks every drain", p.Name)
				}
			}
		}
		many := w.replicas == -1 || w.replicas > 1
		switch {
		case many && len(covering) != 1:
			t.Errorf("%s %s runs %s pods and has %d PodDisruptionBudgets %v, want 1", w.kind, w.name, replicasText(w.replicas), len(covering), covering)
		case !many && len(covering) > 0:
			t.Errorf("%s %s runs one pod and has PodDisruptionBudgets %v", w.kind, w.name, covering)
		}
	}
	for _, p := range pdbs {
		sel, _ := metaSelector(p.Spec.Selector)
		if !slices.ContainsFunc(workloads(objs), func(w workload) bool { return sel.Matches(labels.Set(w.template.Labels)) }) {
			t.Errorf("PodDisruptionBudget %s selects no workload's pods", p.Name)
		}
	}
}

func replicasText(n int32) string {
	if n == -1 {
		return "autoscaled"
	}
	return fmt.Sprint(n)
}

// checkServices: a Service selects some workload's pods, and each target
// port is a port those pods name.
func checkServices(t *testing.T, objs []object) {
	t.Helper()
	for _, s := range find[corev1.Service](objs) {
		var target *workload
		for _, w := range workloads(objs) {
			if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(w.template.Labels)) {
				target = &w
				break
			}
		}
		if target == nil {
			t.Errorf("Service %s selects no workload's pods", s.Name)
			continue
		}
		named := map[string]bool{}
		for _, c := range target.template.Spec.Containers {
			for _, p := range c.Ports {
				named[p.Name] = true
			}
		}
		for _, p := range s.Spec.Ports {
			if p.TargetPort.Type == intstr.String && !named[p.TargetPort.StrVal] {
				t.Errorf("Service %s: targetPort %s is not a port of %s", s.Name, p.TargetPort.StrVal, target.name)
			}
		}
	}
}

// checkReferences: what an object names exists in the render (or is one of
// the Secrets made outside Helm on purpose).
func checkReferences(t *testing.T, objs []object) {
	t.Helper()
	services := map[string]*corev1.Service{}
	for _, s := range find[corev1.Service](objs) {
		services[s.Name] = s
	}
	configMaps := map[string]bool{}
	for _, c := range find[corev1.ConfigMap](objs) {
		configMaps[c.Name] = true
	}
	for _, w := range workloads(objs) {
		for _, c := range w.template.Spec.Containers {
			for _, e := range c.EnvFrom {
				if e.ConfigMapRef != nil && !configMaps[e.ConfigMapRef.Name] {
					t.Errorf("%s %s: envFrom ConfigMap %s is not rendered", w.kind, w.name, e.ConfigMapRef.Name)
				}
			}
		}
		if s, ok := w.obj.Typed.(*appsv1.StatefulSet); ok {
			h := services[s.Spec.ServiceName]
			if h == nil || h.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("StatefulSet %s: serviceName %s is not a headless Service in the render", s.Name, s.Spec.ServiceName)
			}
		}
	}
	for _, h := range find[autoscalingv2.HorizontalPodAutoscaler](objs) {
		ref := h.Spec.ScaleTargetRef
		if !slices.ContainsFunc(workloads(objs), func(w workload) bool { return w.kind == ref.Kind && w.name == ref.Name }) {
			t.Errorf("HorizontalPodAutoscaler %s: target %s %s is not rendered", h.Name, ref.Kind, ref.Name)
		}
		if len(h.Spec.Metrics) == 0 {
			t.Errorf("HorizontalPodAutoscaler %s: no metrics", h.Name)
		}
	}
	for _, r := range find[gwv1.HTTPRoute](objs) {
		for _, rule := range r.Spec.Rules {
			for _, b := range rule.BackendRefs {
				s := services[string(b.Name)]
				if s == nil {
					t.Errorf("HTTPRoute %s: backend Service %s is not rendered", r.Name, b.Name)
					continue
				}
				if b.Port == nil || !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == int32(*b.Port) }) {
					t.Errorf("HTTPRoute %s: Service %s has no port %v", r.Name, b.Name, b.Port)
				}
			}
		}
	}
	for _, in := range find[networkingv1.Ingress](objs) {
		for _, rule := range in.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				s := services[p.Backend.Service.Name]
				if s == nil {
					t.Errorf("Ingress %s: backend Service %s is not rendered", in.Name, p.Backend.Service.Name)
					continue
				}
				if !slices.ContainsFunc(s.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == p.Backend.Service.Port.Name }) {
					t.Errorf("Ingress %s: Service %s has no port %s", in.Name, s.Name, p.Backend.Service.Port.Name)
				}
			}
		}
	}
}

// checkNetworkPolicies: a policy selects some workload and its named ports
// are ports of those pods.
func checkNetworkPolicies(t *testing.T, objs []object) {
	t.Helper()
	for _, np := range find[networkingv1.NetworkPolicy](objs) {
		sel, err := metaSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Errorf("NetworkPolicy %s: %v", np.Name, err)
			continue
		}
		var target *workload
		for _, w := range workloads(objs) {
			if sel.Matches(labels.Set(w.template.Labels)) {
				target = &w
			}
		}
		if target == nil {
			t.Errorf("NetworkPolicy %s selects no workload", np.Name)
			continue
		}
		named := map[string]bool{}
		for _, c := range target.template.Spec.Containers {
			for _, p := range c.Ports {
				named[p.Name] = true
			}
		}
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				if p.Port != nil && p.Port.Type == intstr.String && !named[p.Port.StrVal] {
					t.Errorf("NetworkPolicy %s: port %s is not a port of %s", np.Name, p.Port.StrVal, target.name)
				}
			}
		}
	}
}

// checkGateway: the WebSocket gateway drains within its grace period,
// autoscales, spreads over nodes and is sticky by campaign.
func checkGateway(t *testing.T, objs []object, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	cm := named[corev1.ConfigMap](objs, "gateway")
	if cm == nil {
		t.Fatal("no gateway ConfigMap")
	}
	drain, err := time.ParseDuration(cm.Data["DRAIN_TIMEOUT"])
	if err != nil {
		t.Fatalf("gateway DRAIN_TIMEOUT %q: %v", cm.Data["DRAIN_TIMEOUT"], err)
	}
	sleep := preStopSleep(pod)
	if sleep < 5 {
		t.Errorf("gateway preStop sleep %ds: want at least 5s for the endpoints to drop the pod before it closes sockets", sleep)
	}
	if grace := deref(pod.TerminationGracePeriodSeconds, 30); time.Duration(grace)*time.Second <= time.Duration(sleep)*time.Second+drain {
		t.Errorf("gateway terminationGracePeriodSeconds %d does not exceed preStop %ds + DRAIN_TIMEOUT %s", grace, sleep, drain)
	}
	for _, k := range []string{"HTTP_ADDR", "OPS_ADDR"} {
		if !strings.HasPrefix(cm.Data[k], "0.0.0.0:") {
			t.Errorf("gateway %s=%q: want 0.0.0.0:PORT in a pod", k, cm.Data[k])
		}
	}
	if named[autoscalingv2.HorizontalPodAutoscaler](objs, "gateway") == nil && deref(d.Spec.Replicas, 1) > 1 {
		t.Error("gateway runs several pods and has no HorizontalPodAutoscaler")
	}
	if a := pod.Affinity; a == nil || a.PodAntiAffinity == nil ||
		(len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0) {
		t.Error("gateway has no pod anti-affinity")
	}
	checkSticky(t, objs)
}

// checkFanout: replicas within the partitions, a headless Service for the
// gateways, and gateways configured with every instance.
func checkFanout(t *testing.T, objs []object, s *appsv1.StatefulSet) {
	t.Helper()
	replicas := deref(s.Spec.Replicas, 1)
	if replicas > 12 {
		t.Errorf("fanout replicas %d exceed the topic's default 12 partitions", replicas)
	}
	h := named[corev1.Service](objs, s.Spec.ServiceName)
	if h == nil || h.Spec.ClusterIP != corev1.ClusterIPNone || !h.Spec.PublishNotReadyAddresses {
		t.Errorf("fanout's Service %s is not headless with publishNotReadyAddresses", s.Spec.ServiceName)
	}
	if named[autoscalingv2.HorizontalPodAutoscaler](objs, "fanout") != nil {
		t.Error("fanout has an HPA: the gateways' FANOUT_ADDRS would not follow it")
	}
	cm := named[corev1.ConfigMap](objs, "gateway")
	if cm == nil {
		return // fanout alone
	}
	var want []string
	for i := range replicas {
		want = append(want, fmt.Sprintf("%s-%d.%s.%s.svc.cluster.local:8203", s.Name, i, s.Spec.ServiceName, namespace))
	}
	if got := cm.Data["FANOUT_ADDRS"]; got != strings.Join(want, ",") {
		t.Errorf("gateway FANOUT_ADDRS = %q, want every fanout pod: %q", got, strings.Join(want, ","))
	}
}

func metaSelector(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return nil, fmt.Errorf("no selector")
	}
	return metav1.LabelSelectorAsSelector(s)
}
