package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Summary mode: `load -summarize DIR [-splice FILE]` reads DIR/WORKLOAD-N.json
// (the runs scripts/bench.sh full made), takes each metric's median over a
// workload's runs, writes DIR/summary.json, and puts a Markdown table
// between the bench markers of FILE.

const (
	markBegin = "<!-- bench:begin (scripts/bench.sh full writes between these markers) -->"
	markEnd   = "<!-- bench:end -->"
)

// Stat is a metric over runs.
type Stat struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
}

func statOf(vs []float64) Stat {
	if len(vs) == 0 {
		return Stat{}
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stat{Median: m, Min: s[0], Max: s[len(s)-1], Runs: vs}
}

// WorkloadSummary is one workload over its runs.
type WorkloadSummary struct {
	Workload string          `json:"workload"`
	Runs     int             `json:"runs"`
	WSURL    string          `json:"ws_url"`
	APIURL   string          `json:"api_url"`
	Scale    float64         `json:"scale"`
	Sockets  int             `json:"sockets"`
	Metrics  map[string]Stat `json:"metrics"`
	Targets  []Target        `json:"targets"` // judged on the medians
	AllPass  bool            `json:"all_pass"`
	Failures []string        `json:"failures,omitempty"`
	Notes    []string        `json:"notes,omitempty"`
}

// Summary is the whole bench.
type Summary struct {
	Date      string            `json:"date"`
	Machine   Machine           `json:"machine"`
	Workloads []WorkloadSummary `json:"workloads"`
}

var order = []string{"w1", "w2", "w3", "connect"}

func summarize(dir, splice string) error {
	sum := Summary{}
	var first, last time.Time
	for _, wl := range order {
		files, _ := filepath.Glob(filepath.Join(dir, wl+"-*.json"))
		sort.Strings(files)
		var runs []*Result
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			var r Result
			if err := json.Unmarshal(b, &r); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			runs = append(runs, &r)
		}
		if len(runs) == 0 {
			continue
		}
		sum.Machine = runs[0].Machine
		for _, r := range runs {
			if first.IsZero() || r.StartedAt.Before(first) {
				first = r.StartedAt
			}
			if r.StartedAt.After(last) {
				last = r.StartedAt
			}
		}
		sum.Workloads = append(sum.Workloads, summarizeWorkload(wl, runs))
	}
	sum.Date = first.UTC().Format("2006-01-02 15:04")
	if last.Sub(first) >= time.Minute {
		sum.Date += "–" + last.UTC().Format("15:04")
	}
	sum.Date += " UTC"
	if len(sum.Workloads) == 0 {
		return errors.New("no results in " + dir)
	}
	b, _ := json.MarshalIndent(sum, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	md := markdown(&sum)
	if splice == "" {
		fmt.Print(md)
		return nil
	}
	return spliceInto(splice, md)
}

func summarizeWorkload(wl string, runs []*Result) WorkloadSummary {
	s := WorkloadSummary{Workload: wl, Runs: len(runs), WSURL: runs[0].Config.WSURL, APIURL: runs[0].Config.APIURL,
		Scale: runs[0].Config.Scale, Sockets: runs[0].Config.Watchers, Metrics: map[string]Stat{}, AllPass: true}
	vals := map[string][]float64{}
	add := func(k string, v float64) { vals[k] = append(vals[k], v) }
	for i, r := range runs {
		add("connect_per_second", r.Connect.PerSecond)
		add("connect_p99_ms", r.Connect.Latency.P99)
		if d := r.Delivery; d != nil {
			add("messages_per_second", d.MessagesPerSecond)
			add("p50_ms", d.Latency.P50)
			add("p90_ms", d.Latency.P90)
			add("p99_ms", d.Latency.P99)
			add("max_ms", d.Latency.Max)
			add("lost", float64(d.Lost))
			add("expected", float64(d.Expected))
		}
		if w := r.Writes; w != nil {
			add("writes_per_second", w.PerSecond)
			add("http_p50_ms", w.HTTP.P50)
			add("http_p99_ms", w.HTTP.P99)
		}
		if id := r.Idle; id != nil {
			add("gateway_kib_per_socket", id.PerSocketBytes/1024)
		}
		for g, v := range r.ConsumerLagPeak {
			add("consumer_lag_peak_"+g, float64(v))
		}
		for _, u := range r.Usage {
			if (u.Phase == "write") || (u.Phase == "connect" && (wl == "connect" || wl == "w3")) {
				for _, p := range []string{"gateway", "fanout", "devedge", "contribution", "load", "postgres", "java"} {
					if pu, ok := u.Procs[p]; ok {
						add(p+"_cores", pu.Cores)
					}
				}
				var rest float64 // the writing services W2 does not write to, which consume every event
				for _, p := range []string{"content", "comment", "milestone"} {
					rest += u.Procs[p].Cores
				}
				add("services_cores", rest)
				add("other_cores", u.OtherCores)
			}
			if g, ok := u.Procs["gateway"]; ok {
				add("gateway_rss_peak_mib_"+u.Phase, float64(g.RSSPeak)/(1<<20))
			}
		}
		if !r.Pass {
			s.AllPass = false
			f := fmt.Sprintf("run %d: %s", i+1, strings.Join(r.Failures, "; "))
			if len(f) > 140 { // the run's JSON has it whole
				f = f[:140] + "…"
			}
			s.Failures = append(s.Failures, f)
		}
		for _, n := range r.Notes {
			s.Notes = append(s.Notes, fmt.Sprintf("run %d: %s", i+1, n))
		}
	}
	for k, v := range vals {
		s.Metrics[k] = statOf(v)
	}
	// Judge the targets on the medians, the way one run judges its own.
	med := &Result{Config: runs[0].Config, Connect: Connect{PerSecond: s.Metrics["connect_per_second"].Median}}
	if _, ok := vals["p99_ms"]; ok {
		med.Delivery = &Delivery{MessagesPerSecond: s.Metrics["messages_per_second"].Median, Lost: int64(s.Metrics["lost"].Max),
			Expected: int64(s.Metrics["expected"].Median),
			Latency:  Latency{Count: 1, P50: s.Metrics["p50_ms"].Median, P99: s.Metrics["p99_ms"].Median}}
		med.Writes = &Writes{PerSecond: s.Metrics["writes_per_second"].Median}
	}
	if _, ok := vals["gateway_kib_per_socket"]; ok {
		med.Idle = &Idle{PerSocketBytes: s.Metrics["gateway_kib_per_socket"].Median * 1024}
	}
	med.judge()
	s.Targets = med.Targets
	return s
}

func fmtNum(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%s", commas(int64(v+0.5)))
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func rng(s Stat) string {
	if len(s.Runs) < 2 {
		return fmtNum(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", fmtNum(s.Median), fmtNum(s.Min), fmtNum(s.Max))
}

func markdown(sum *Summary) string {
	var b bytes.Buffer
	m := sum.Machine
	fmt.Fprintf(&b, "Measured %s on `%s`: %d × %s, %s, %s/%s. Median of each workload's runs, (min–max) beside it.\n\n",
		sum.Date, m.Host, m.CPUs, m.Model, m.GoVersion, runtime.GOOS, runtime.GOARCH)
	b.WriteString("| workload | target (DESIGN.md §8) | measured: median (min–max) | met |\n|---|---|---|---|\n")
	for _, w := range sum.Workloads {
		for _, t := range w.Targets {
			met := "**no**"
			if t.Met {
				met = "yes"
			}
			key := map[string]string{
				"W1 delivered": "messages_per_second", "W1 p99": "p99_ms", "W2 p50": "p50_ms", "W2 p99": "p99_ms",
				"W2 lost": "lost", "W2 offered load acknowledged": "writes_per_second", "W3 gateway memory": "gateway_kib_per_socket",
				"connect rate": "connect_per_second",
			}[t.Name]
			fmt.Fprintf(&b, "| %s | %s %s | %s %s | %s |\n", w.Workload, t.Name, t.Want, rng(w.Metrics[key]), t.Unit, met)
		}
	}
	b.WriteString("\nWhere each run's cost went (medians; cores = CPU seconds per second of the write phase, or of the connect phase for W3 and connect; \"others\" is CPU used by processes outside the system under test, i.e. the other work on this machine):\n\n")
	b.WriteString("| workload | runs | sockets via | sockets | latency p50 / p90 / p99 / max ms | gateway | fanout | devedge | contribution | content + comment + milestone | postgres | kafka | load tool | others | correctness |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, w := range sum.Workloads {
		lat := "–"
		if _, ok := w.Metrics["p50_ms"]; ok {
			lat = fmt.Sprintf("%s / %s / %s / %s", fmtNum(w.Metrics["p50_ms"].Median), fmtNum(w.Metrics["p90_ms"].Median),
				fmtNum(w.Metrics["p99_ms"].Median), fmtNum(w.Metrics["max_ms"].Median))
		}
		c := func(k string) string {
			if s, ok := w.Metrics[k]; ok {
				return fmtNum(s.Median)
			}
			return "–"
		}
		ok := "all passed"
		if !w.AllPass {
			ok = "**" + strings.Join(w.Failures, "; ") + "**"
		}
		fmt.Fprintf(&b, "| %s | %d | `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			w.Workload, w.Runs, w.WSURL, commas(int64(w.Sockets)), lat, c("gateway_cores"), c("fanout_cores"), c("devedge_cores"),
			c("contribution_cores"), c("services_cores"), c("postgres_cores"), c("java_cores"), c("load_cores"), c("other_cores"), ok)
	}
	var notes []string
	for _, w := range sum.Workloads {
		for _, n := range w.Notes {
			notes = append(notes, w.Workload+" "+n)
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nNotes from the runs:\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	b.WriteString("\nThe \"sockets via\" column is the WebSocket URL each workload used; scripts/bench.sh explains its choices. Raw results: `docs/bench/WORKLOAD-N.json` (one per run) and `docs/bench/summary.json`.\n")
	return b.String()
}

// spliceInto replaces what is between the bench markers of path with md,
// or appends the markers and md when the file has none.
func spliceInto(path, md string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	block := markBegin + "\n" + md + markEnd
	s := string(old)
	i, j := strings.Index(s, markBegin), strings.Index(s, markEnd)
	switch {
	case i >= 0 && j > i:
		s = s[:i] + block + s[j+len(markEnd):]
	case len(s) == 0:
		s = "# Performance\n\n" + block + "\n"
	default:
		s = strings.TrimRight(s, "\n") + "\n\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(s), 0o644)
}
