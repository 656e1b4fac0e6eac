package k8s

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
)

// metricLabels lists every series the dashboard and the alerts may read,
// with the labels the service itself puts on it: the names the services
// expose on /metrics (pkg/consumer, pkg/outbox, pkg/limit, otelhttp in
// pkg/writesvc, and fanout's and the gateway's own), and Prometheus' up. A
// query naming anything else, or grouping or matching on a label the
// series does not carry, reads nothing in production and fails here.
var metricLabels = map[string][]string{
	"gateway_delivery_latency_seconds_bucket":     {"le"},
	"gateway_sockets_open":                        nil,
	"gateway_messages_sent_total":                 {"type"},
	"gateway_send_queue_depth":                    nil,
	"gateway_slow_client_closes_total":            nil,
	"gateway_closes_total":                        {"code"},
	"gateway_resumes_total":                       {"result"},
	"kafka_consumer_lag":                          {"group", "partition"},
	"fanout_apply_batch_size_bucket":              {"le"},
	"fanout_apply_duration_seconds_bucket":        {"le"},
	"fanout_publish_latency_seconds_bucket":       {"le"},
	"fanout_events_applied_total":                 {"type"},
	"fanout_gateway_queue_depth":                  nil,
	"outbox_backlog":                              nil,
	"outbox_oldest_age_seconds":                   nil,
	"http_server_request_duration_seconds_bucket": {"http_request_method", "http_response_status_code", "http_route", "le"},
	"http_server_request_duration_seconds_count":  {"http_request_method", "http_response_status_code", "http_route"},
	"rate_limit_refusals_total":                   {"limit"},
	"up":                                          nil,
}

// scrapeLabels are the labels Prometheus adds to every series a
// ServiceMonitor scrapes (job is the Service's name).
var scrapeLabels = []string{"namespace", "job", "pod", "instance", "service", "endpoint", "container"}

// dashboardMetrics must each appear in some panel: together they answer
// "is it real-time right now?".
var dashboardMetrics = []string{
	"gateway_delivery_latency_seconds_bucket", "gateway_sockets_open", "gateway_messages_sent_total",
	"gateway_send_queue_depth", "gateway_slow_client_closes_total", "gateway_closes_total", "gateway_resumes_total",
	"kafka_consumer_lag", "fanout_apply_batch_size_bucket", "fanout_apply_duration_seconds_bucket",
	"fanout_publish_latency_seconds_bucket", "fanout_events_applied_total", "fanout_gateway_queue_depth",
	"outbox_backlog", "outbox_oldest_age_seconds", "http_server_request_duration_seconds_bucket",
	"http_server_request_duration_seconds_count", "rate_limit_refusals_total",
}

// alertThresholds maps each alert that compares against a value to its
// key under monitoring.alerts; alertsWithout are the others.
var (
	alertThresholds = map[string]string{
		"CampaignLiveFanoutLag":           "fanoutLag",
		"CampaignLiveConsumerLag":         "writerLag",
		"CampaignLiveOutboxStuck":         "outboxOldestAge",
		"CampaignLiveDeliveryLatencyHigh": "deliveryLatencyP99",
		"CampaignLiveSlowClientCloses":    "slowClientCloses",
	}
	alertsWithout = []string{"CampaignLiveFanoutDown", "CampaignLiveFanoutNotConsuming"}
)

func promql(t *testing.T, where, expr string) parser.Expr {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: not PromQL: %v\n%s", where, err, expr)
		return nil
	}
	return e
}

// checkSeries holds every selector of e to metricLabels, and every
// matcher to wantMatch (the label that picks the installation, with its
// value): an alert or panel without it mixes two installations.
func checkSeries(t *testing.T, where string, e parser.Expr, wantMatch func(name, value string) bool, used map[string]bool) {
	t.Helper()
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			allowed, ok := metricLabels[n.Name]
			if !ok {
				t.Errorf("%s: reads %q, not a metric the services expose (metricLabels)", where, n.Name)
				return nil
			}
			used[n.Name] = true
			scoped := false
			for _, m := range n.LabelMatchers {
				if m.Name == model.MetricNameLabel {
					continue
				}
				if !slices.Contains(allowed, m.Name) && !slices.Contains(scrapeLabels, m.Name) {
					t.Errorf("%s: %s has no label %q", where, n.Name, m.Name)
				}
				if wantMatch(m.Name, m.Value) {
					scoped = true
				}
			}
			if !scoped {
				t.Errorf("%s: %s is not limited to one installation (namespace)", where, n)
			}
		case *parser.AggregateExpr:
			for _, l := range n.Grouping {
				for _, name := range metricNames(n.Expr) {
					if !slices.Contains(metricLabels[name], l) && !slices.Contains(scrapeLabels, l) {
						t.Errorf("%s: groups %s by %q, a label it does not carry", where, name, l)
					}
				}
			}
		}
		return nil
	})
}

func metricNames(e parser.Node) []string {
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if v, ok := n.(*parser.VectorSelector); ok {
			out = append(out, v.Name)
		}
		return nil
	})
	return out
}

// grafanaInterval is one of Grafana's interval variables ($__rate_interval,
// ${__interval}, $__range).
var grafanaInterval = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)(_ms|_s)?\}?`)

// expandGrafana replaces Grafana's interval variables with an interval, as
// Grafana does before the query runs. The dashboard's own variables are
// left as they are: they belong in label values ("$namespace"), where
// PromQL takes them as text; anywhere else the parse fails.
func expandGrafana(expr string) string {
	return grafanaInterval.ReplaceAllString(expr, "5m")
}

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *datasource              `json:"datasource"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

func everythingOn(t *testing.T) []object {
	t.Helper()
	for _, c := range renderCases(t) {
		if c.name == "campaign-live/everything-on" {
			return render(t, c)
		}
	}
	t.Fatal("no everything-on render case")
	return nil
}

// TestDashboard: the ConfigMap the Grafana sidecar loads holds the chart's
// dashboard file, valid JSON of a current Grafana, every panel on the
// ${datasource} variable, every query valid PromQL over the series the
// services expose, limited to the chosen namespace, and every series of
// dashboardMetrics shown.
func TestDashboard(t *testing.T) {
	helmBin(t)
	objs := everythingOn(t)
	var cms []*corev1.ConfigMap
	for _, cm := range find[corev1.ConfigMap](objs) {
		if cm.Labels["grafana_dashboard"] == "1" {
			cms = append(cms, cm)
		}
	}
	if len(cms) != 1 {
		t.Fatalf("%d ConfigMaps labelled grafana_dashboard=1, want 1", len(cms))
	}
	cm := cms[0]
	if cm.Annotations["grafana_folder"] != "campaign-live" {
		t.Errorf("ConfigMap %s: monitoring.dashboards.annotations not applied: %v", cm.Name, cm.Annotations)
	}
	raw, ok := cm.Data["campaign-live.json"]
	if !ok || len(cm.Data) != 1 {
		t.Fatalf("ConfigMap %s: data keys %v, want campaign-live.json", cm.Name, keys(cm.Data))
	}
	file, err := os.ReadFile(filepath.Join(repoRoot(t), "charts", "campaign-live", "dashboards", "campaign-live.json"))
	if err != nil {
		t.Fatal(err)
	}
	if raw != strings.TrimSpace(string(file)) {
		t.Error("the ConfigMap does not hold charts/campaign-live/dashboards/campaign-live.json as it is")
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(raw))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q, title %q: want both", d.UID, d.Title)
	}
	// 41 is Grafana 12.0's; 42 the last of the classic JSON model.
	if d.SchemaVersion < 41 {
		t.Errorf("schemaVersion %d: want a current Grafana's (41 or later)", d.SchemaVersion)
	}

	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type == "datasource" && v.Name == "datasource" && string(v.Query) != `"prometheus"` {
			t.Errorf("variable datasource: query %s, want \"prometheus\"", v.Query)
		}
		if v.Type == "query" {
			if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
				t.Errorf("variable %s: datasource is not ${datasource}", v.Name)
			}
			var q struct{ Query string }
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Errorf("variable %s: query %s: %v", v.Name, v.Query, err)
				continue
			}
			m := regexp.MustCompile(`^label_values\((.+), *([a-z_]+)\)$`).FindStringSubmatch(q.Query)
			if m == nil {
				t.Errorf("variable %s: query %q is not label_values(SERIES, LABEL)", v.Name, q.Query)
				continue
			}
			if e := promql(t, "variable "+v.Name, m[1]); e != nil {
				for _, name := range metricNames(e) {
					if _, ok := metricLabels[name]; !ok {
						t.Errorf("variable %s: reads %q, not a metric the services expose", v.Name, name)
					}
				}
			}
		}
	}
	if vars["datasource"] != "datasource" {
		t.Errorf("no datasource variable of type datasource: %v", vars)
	}
	if vars["namespace"] != "query" {
		t.Errorf("no namespace query variable: %v", vars)
	}

	used := map[string]bool{}
	ids := map[int]string{}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			if prev, dup := ids[p.ID]; dup {
				t.Errorf("%s: id %d is also %q's", where, p.ID, prev)
			}
			ids[p.ID] = p.Title
			if p.Title == "" {
				t.Errorf("%s: no title", where)
			}
			if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("%s: gridPos %+v outside Grafana's 24 columns", where, p.GridPos)
			}
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" || p.Datasource.Type != "prometheus" {
				t.Errorf("%s: datasource %+v, want the ${datasource} variable", where, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no queries", where)
			}
			for _, q := range p.Targets {
				qwhere := where + " query " + q.RefID
				if q.Datasource != nil && q.Datasource.UID != "${datasource}" {
					t.Errorf("%s: datasource %+v, want the ${datasource} variable", qwhere, q.Datasource)
				}
				e := promql(t, qwhere, expandGrafana(q.Expr))
				if e == nil {
					continue
				}
				checkSeries(t, qwhere, e, func(name, value string) bool {
					return name == "namespace" && value == "$namespace"
				}, used)
			}
		}
	}
	walk(d.Panels)
	for _, m := range dashboardMetrics {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func prometheusRules(objs []object) []*monitoringv1.PrometheusRule {
	return find[monitoringv1.PrometheusRule](objs)
}

// alertRules returns the alerting rules of the render's one PrometheusRule.
func alertRules(t *testing.T, objs []object) map[string]monitoringv1.Rule {
	t.Helper()
	prs := prometheusRules(objs)
	if len(prs) != 1 {
		t.Fatalf("%d PrometheusRules rendered, want 1", len(prs))
	}
	rules := map[string]monitoringv1.Rule{}
	for _, g := range prs[0].Spec.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("rule group %q: no name or no rules", g.Name)
		}
		for _, r := range g.Rules {
			if r.Record != "" {
				continue
			}
			if _, dup := rules[r.Alert]; dup {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			rules[r.Alert] = r
		}
	}
	return rules
}

// TestAlerts: the PrometheusRule parses into the Operator's type (the
// render's strict decode), every expression is PromQL over the series the
// services expose and limited to the release's namespace, and every alert
// has a for, a severity and its summary and description, templates that
// Prometheus can expand.
func TestAlerts(t *testing.T) {
	helmBin(t)
	objs := everythingOn(t)
	pr := prometheusRules(objs)
	if len(pr) == 1 && pr[0].Labels["release"] != "prometheus" {
		t.Errorf("PrometheusRule %s: monitoring.alerts.labels not applied: %v", pr[0].Name, pr[0].Labels)
	}
	rules := alertRules(t, objs)
	want := append(slices.Sorted(maps.Keys(alertThresholds)), alertsWithout...)
	sort.Strings(want)
	if got := keys(rules); !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
	used := map[string]bool{}
	for name, r := range rules {
		where := "alert " + name
		e := promql(t, where, r.Expr.String())
		if e != nil {
			checkSeries(t, where, e, func(label, value string) bool {
				return label == "namespace" && value == namespace
			}, used)
		}
		if r.For == nil {
			t.Errorf("%s: no for: one bad scrape would page", where)
		} else if d, err := model.ParseDuration(string(*r.For)); err != nil || d <= 0 {
			t.Errorf("%s: for %q is not a positive duration (%v)", where, *r.For, err)
		}
		if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
			t.Errorf("%s: severity %q, want critical, warning or info", where, r.Labels["severity"])
		}
		if r.Labels["team"] != "live" {
			t.Errorf("%s: monitoring.alerts.alertLabels not applied: %v", where, r.Labels)
		}
		for _, a := range []string{"summary", "description"} {
			text := r.Annotations[a]
			if strings.TrimSpace(text) == "" {
				t.Errorf("%s: no %s annotation", where, a)
				continue
			}
			if err := expandable(text); err != nil {
				t.Errorf("%s: %s is not a template Prometheus expands: %v", where, a, err)
			}
		}
	}
}

// expandable parses an annotation as Prometheus does: text/template with
// $labels and $value defined and its functions (stubbed: only the parse
// matters).
func expandable(text string) error {
	funcs := template.FuncMap{}
	for _, f := range []string{"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "first", "value", "label", "query", "reReplaceAll", "title", "toUpper", "toLower", "printf", "externalURL", "pathPrefix", "safeHtml", "match", "args", "tableLink", "graphLink", "strvalue", "sortByLabel", "stripPort", "stripDomain", "parseDuration", "toTime", "toDuration", "urlQueryEscape"} {
		funcs[f] = func(...any) any { return nil }
	}
	defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	_, err := template.New("annotation").Funcs(funcs).Parse(defs + text)
	return err
}

// TestAlertThresholds: each alert compares against the threshold its
// values give, and takes its for and severity from them.
func TestAlertThresholds(t *testing.T) {
	helmBin(t)
	type given struct {
		threshold float64
		forText   string
		severity  string
	}
	want := map[string]given{}
	set := []string{"monitoring.alerts.enabled=true"}
	for i, alert := range slices.Sorted(maps.Keys(alertThresholds)) {
		key := alertThresholds[alert]
		g := given{threshold: 1.5 + float64(i), forText: fmt.Sprintf("%dm", 11+i), severity: fmt.Sprintf("page%d", i)}
		want[alert] = g
		set = append(set,
			// A float as --set passes it: a string the schema admits.
			fmt.Sprintf("monitoring.alerts.%s.threshold=%s", key, strconv.FormatFloat(g.threshold, 'f', -1, 64)),
			fmt.Sprintf("monitoring.alerts.%s.for=%s", key, g.forText),
			fmt.Sprintf("monitoring.alerts.%s.severity=%s", key, g.severity),
		)
	}
	rules := alertRules(t, render(t, renderCase{name: "campaign-live/alert-thresholds", chart: "campaign-live", set: set}))
	for alert, g := range want {
		r, ok := rules[alert]
		if !ok {
			t.Errorf("no alert %s", alert)
			continue
		}
		if r.For == nil || string(*r.For) != g.forText || r.Labels["severity"] != g.severity {
			t.Errorf("%s: for %v, severity %q; want %s and %s from the values", alert, r.For, r.Labels["severity"], g.forText, g.severity)
		}
		e := promql(t, alert, r.Expr.String())
		if e == nil {
			continue
		}
		b, ok := e.(*parser.BinaryExpr)
		if !ok || !b.Op.IsComparisonOperator() {
			t.Errorf("%s: %s is not a comparison", alert, r.Expr.String())
			continue
		}
		if n, ok := b.RHS.(*parser.NumberLiteral); !ok || math.Abs(n.Val-g.threshold) > 1e-9 {
			t.Errorf("%s: compares against %s, want the values' threshold %v", alert, b.RHS, g.threshold)
		}
	}
	// The p99 of DESIGN.md §8, over every gateway.
	if r, ok := rules["CampaignLiveDeliveryLatencyHigh"]; ok &&
		!strings.HasPrefix(r.Expr.String(), `histogram_quantile(0.99, sum by (le) (rate(gateway_delivery_latency_seconds_bucket{`) {
		t.Errorf("CampaignLiveDeliveryLatencyHigh: %s is not the p99 over every gateway", r.Expr.String())
	}
}

// TestMonitoringOff: with the toggles at their defaults (off), no
// dashboard and no PrometheusRule is rendered, in any render that does not
// turn them on (everything-on and the production example do); and the
// dashboard goes to the namespace it is given.
func TestMonitoringOff(t *testing.T) {
	helmBin(t)
	for _, c := range renderCases(t) {
		if c.name == "campaign-live/everything-on" || c.name == "campaign-live/production" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			objs := render(t, c)
			if n := len(prometheusRules(objs)); n != 0 {
				t.Errorf("%d PrometheusRules rendered with monitoring.alerts off", n)
			}
			for _, cm := range find[corev1.ConfigMap](objs) {
				if _, ok := cm.Labels["grafana_dashboard"]; ok {
					t.Errorf("ConfigMap %s (a dashboard) rendered with monitoring.dashboards off", cm.Name)
				}
			}
		})
	}
	t.Run("dashboard namespace", func(t *testing.T) {
		objs := render(t, renderCase{name: "campaign-live/dashboard-namespace", chart: "campaign-live",
			set: []string{"monitoring.dashboards.enabled=true", "monitoring.dashboards.namespace=monitoring"}})
		var found bool
		for _, o := range objs {
			if cm, ok := o.Typed.(*corev1.ConfigMap); ok && cm.Labels["grafana_dashboard"] == "1" {
				found = true
				if o.Meta.Namespace != "monitoring" {
					t.Errorf("dashboard ConfigMap in %q, want monitoring", o.Meta.Namespace)
				}
			}
		}
		if !found {
			t.Error("no dashboard ConfigMap")
		}
	})
}
