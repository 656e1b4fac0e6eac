package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one run, as -json writes it.
type Result struct {
	Config    config    `json:"config"`
	StartedAt time.Time `json:"started_at"`
	Machine   Machine   `json:"machine"`
	Connect   Connect   `json:"connect"`
	Writes    *Writes   `json:"writes,omitempty"`
	Delivery  *Delivery `json:"delivery,omitempty"`
	Idle      *Idle     `json:"idle,omitempty"`
	Usage     []Usage   `json:"usage"`
	// ConsumerLagPeak is the highest kafka_consumer_lag each consumer group
	// reported during the write phase and its drain.
	ConsumerLagPeak map[string]int64 `json:"consumer_lag_peak,omitempty"`
	Targets         []Target         `json:"targets"`
	Notes           []string         `json:"notes,omitempty"`
	Failures        []string         `json:"failures,omitempty"`
	Pass            bool             `json:"pass"` // correctness: nothing lost, leaked or refused
}

// Machine is where the run happened and how busy it was.
type Machine struct {
	Host          string `json:"host"`
	CPUs          int    `json:"cpus"`
	Model         string `json:"model"`
	GoVersion     string `json:"go"`
	LoadAvgBefore string `json:"loadavg_before"`
	LoadAvgAfter  string `json:"loadavg_after"`
}

// Connect is the connect phase.
type Connect struct {
	Sockets    int            `json:"sockets"`
	Opened     int64          `json:"opened"`
	Failed     int64          `json:"failed"`
	Seconds    float64        `json:"seconds"`
	PerSecond  float64        `json:"per_second"` // sockets opened with their campaign_data
	Latency    Latency        `json:"latency"`    // dial to campaign_data
	Errors     map[string]int `json:"errors,omitempty"`
	Reconnects int64          `json:"reconnects"`
	CloseCodes map[string]int `json:"close_codes,omitempty"`
}

// Writes is the REST side of the write phase.
type Writes struct {
	Attempted    int64          `json:"attempted"`
	Acked        int64          `json:"acked"`
	Failed       int64          `json:"failed"`
	Skipped      int64          `json:"skipped"` // open loop: due while max-inflight were in flight
	Seconds      float64        `json:"seconds"`
	PerSecond    float64        `json:"per_second"`
	HTTP         Latency        `json:"http_latency"`
	DrainSeconds float64        `json:"drain_seconds"`
	Errors       map[string]int `json:"errors,omitempty"`
}

// Delivery is the socket side of the write phase.
type Delivery struct {
	Expected          int64    `json:"expected"` // acknowledged writes × watchers of their campaign
	Received          int64    `json:"received"` // unique receipts, including from a fresh campaign_data
	Lost              int64    `json:"lost"`
	WatchersWithLoss  int      `json:"watchers_with_loss"`
	LossSamples       []string `json:"loss_samples,omitempty"`
	Duplicates        int64    `json:"duplicates"`
	Reordered         int64    `json:"reordered"`
	Leaks             int64    `json:"leaks"`         // another campaign's event on a socket
	Foreign           int64    `json:"foreign"`       // not one of this run's writes
	IDMismatches      int64    `json:"id_mismatches"` // data.id differs from the 201's id
	ErrorFrames       int64    `json:"error_frames"`
	SnapshotResets    int64    `json:"snapshot_resets"`
	Resumes           int64    `json:"resumes"`
	InWindow          int64    `json:"in_window"`
	WindowSeconds     float64  `json:"window_seconds"`
	MessagesPerSecond float64  `json:"messages_per_second"`
	Latency           Latency  `json:"latency"` // write start to socket receipt
}

// Idle is W3's memory reading.
type Idle struct {
	Sockets               int64   `json:"sockets"`
	RSSBefore             int64   `json:"gateway_rss_before_bytes"`
	RSSAfter              int64   `json:"gateway_rss_after_bytes"`
	PerSocketBytes        float64 `json:"gateway_bytes_per_socket"`
	DevedgePerSocketBytes float64 `json:"devedge_bytes_per_socket,omitempty"`
}

// Target is one DESIGN.md §8 target next to what was measured.
type Target struct {
	Name     string  `json:"name"`
	Want     string  `json:"want"`
	Measured float64 `json:"measured"`
	Unit     string  `json:"unit"`
	Met      bool    `json:"met"`
}

// judge fills Targets, Failures and Pass.
func (r *Result) judge() {
	t := func(name, want string, v float64, unit string, met bool) {
		r.Targets = append(r.Targets, Target{Name: name, Want: want, Measured: v, Unit: unit, Met: met})
	}
	switch r.Config.Workload {
	case "w1":
		if d := r.Delivery; d != nil {
			t("W1 delivered", "≥ 500000 msg/s", d.MessagesPerSecond, "msg/s", d.MessagesPerSecond >= 500000)
			t("W1 p99", "≤ 100 ms", d.Latency.P99, "ms", d.Latency.Count > 0 && d.Latency.P99 <= 100)
		}
	case "w2":
		if d := r.Delivery; d != nil {
			t("W2 p50", "≤ 10 ms", d.Latency.P50, "ms", d.Latency.Count > 0 && d.Latency.P50 <= 10)
			t("W2 p99", "≤ 25 ms", d.Latency.P99, "ms", d.Latency.Count > 0 && d.Latency.P99 <= 25)
			t("W2 lost", "0", float64(d.Lost), "events", d.Lost == 0 && d.Expected > 0)
			if w := r.Writes; w != nil {
				t("W2 offered load acknowledged", fmt.Sprintf("≈ %.0f writes/s", r.Config.Rate), w.PerSecond, "writes/s", w.PerSecond >= 0.95*r.Config.Rate)
			}
		}
	case "w3":
		if i := r.Idle; i != nil {
			t("W3 gateway memory", "≤ 10 KiB/socket", i.PerSocketBytes/1024, "KiB/socket", i.PerSocketBytes <= 10*1024)
		}
	case "connect":
		t("connect rate", "≥ 5000/s", r.Connect.PerSecond, "sockets/s", r.Connect.PerSecond >= 5000)
	}
	if r.Connect.Failed > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d of %d sockets never got their campaign_data", r.Connect.Failed, r.Connect.Sockets))
	}
	if d := r.Delivery; d != nil {
		if d.Lost > 0 {
			r.Failures = append(r.Failures, fmt.Sprintf("lost %d of %d deliveries (%d watchers)", d.Lost, d.Expected, d.WatchersWithLoss))
		}
		if d.Leaks > 0 {
			r.Failures = append(r.Failures, fmt.Sprintf("%d events of another campaign reached a socket", d.Leaks))
		}
		if d.IDMismatches > 0 {
			r.Failures = append(r.Failures, fmt.Sprintf("%d events whose data.id differs from the 201's", d.IDMismatches))
		}
		if d.Reordered > 0 {
			r.Failures = append(r.Failures, fmt.Sprintf("%d events arrived behind a later one", d.Reordered))
		}
		if d.Expected == 0 {
			r.Failures = append(r.Failures, "no write was acknowledged")
		}
	}
	if w := r.Writes; w != nil && w.Failed > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d writes failed: %v", w.Failed, w.Errors))
	}
	r.Pass = len(r.Failures) == 0
}

func writeJSON(path string, r *Result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func printTable(out io.Writer, r *Result) {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	c := r.Config
	fmt.Fprintf(tw, "workload\t%s (scale %g): %s\n", c.Workload, c.Scale, presets[c.Workload].describe)
	fmt.Fprintf(tw, "sockets via\t%s\n", c.WSURL)
	fmt.Fprintf(tw, "writes via\t%s (campaigns via %s)\n", c.WriteAPIURL, c.APIURL)
	fmt.Fprintf(tw, "machine\t%d × %s, load %s → %s\n", r.Machine.CPUs, r.Machine.Model, r.Machine.LoadAvgBefore, r.Machine.LoadAvgAfter)
	fmt.Fprintf(tw, "connect\t%d/%d sockets in %.2fs = %.0f/s; dial→campaign_data p50 %.1f ms p99 %.1f ms max %.1f ms\n",
		r.Connect.Opened, r.Connect.Sockets, r.Connect.Seconds, r.Connect.PerSecond, r.Connect.Latency.P50, r.Connect.Latency.P99, r.Connect.Latency.Max)
	if len(r.Connect.Errors) > 0 {
		fmt.Fprintf(tw, "connect errors\t%v\n", r.Connect.Errors)
	}
	if w := r.Writes; w != nil {
		fmt.Fprintf(tw, "writes\t%d acked, %d failed, %d skipped in %.1fs = %.0f/s; HTTP p50 %.1f ms p99 %.1f ms\n",
			w.Acked, w.Failed, w.Skipped, w.Seconds, w.PerSecond, w.HTTP.P50, w.HTTP.P99)
	}
	if d := r.Delivery; d != nil {
		fmt.Fprintf(tw, "delivered\t%.0f msg/s over %.1fs (%d in window)\n", d.MessagesPerSecond, d.WindowSeconds, d.InWindow)
		fmt.Fprintf(tw, "write→socket\tp50 %.1f ms  p90 %.1f ms  p99 %.1f ms  p99.9 %.1f ms  max %.1f ms  (n=%d)\n",
			d.Latency.P50, d.Latency.P90, d.Latency.P99, d.Latency.P999, d.Latency.Max, d.Latency.Count)
		fmt.Fprintf(tw, "loss\t%d of %d lost (%d watchers); dup %d, reordered %d, leaks %d, foreign %d, resets %d, resumes %d, reconnects %d\n",
			d.Lost, d.Expected, d.WatchersWithLoss, d.Duplicates, d.Reordered, d.Leaks, d.Foreign, d.SnapshotResets, d.Resumes, r.Connect.Reconnects)
	}
	if i := r.Idle; i != nil {
		fmt.Fprintf(tw, "idle memory\tgateway %s → %s over %d sockets = %.1f KiB/socket",
			mib(i.RSSBefore), mib(i.RSSAfter), i.Sockets, i.PerSocketBytes/1024)
		if i.DevedgePerSocketBytes != 0 {
			fmt.Fprintf(tw, " (devedge %.1f KiB/socket)", i.DevedgePerSocketBytes/1024)
		}
		fmt.Fprintln(tw)
	}
	for _, u := range r.Usage {
		var parts []string
		names := make([]string, 0, len(u.Procs))
		for n := range u.Procs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			p := u.Procs[n]
			if p.Pid > 0 {
				parts = append(parts, fmt.Sprintf("%s %.2f cores %s", n, p.Cores, mib(max(p.RSSEnd, p.RSSPeak))))
			} else if p.CPUSeconds > 0 {
				parts = append(parts, fmt.Sprintf("%s %.2f cores", n, p.Cores))
			}
		}
		fmt.Fprintf(tw, "cost (%s, %.1fs)\t%s; machine %.2f busy cores, others %.2f\n", u.Phase, u.Seconds, strings.Join(parts, ", "), u.MachineCores, u.OtherCores)
	}
	if len(r.ConsumerLagPeak) > 0 {
		groups := make([]string, 0, len(r.ConsumerLagPeak))
		for g := range r.ConsumerLagPeak {
			groups = append(groups, g)
		}
		sort.Strings(groups)
		var parts []string
		for _, g := range groups {
			parts = append(parts, fmt.Sprintf("%s %d", g, r.ConsumerLagPeak[g]))
		}
		fmt.Fprintf(tw, "consumer lag peak\t%s (records; fanout does not report its own)\n", strings.Join(parts, ", "))
	}
	for _, t := range r.Targets {
		met := "NOT MET"
		if t.Met {
			met = "met"
		}
		fmt.Fprintf(tw, "target\t%s: %.4g %s (want %s) %s\n", t.Name, t.Measured, t.Unit, t.Want, met)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(tw, "note\t%s\n", n)
	}
	if d := r.Delivery; d != nil {
		for _, s := range d.LossSamples {
			fmt.Fprintf(tw, "loss sample\t%s\n", s)
		}
	}
	pass := "PASS"
	if !r.Pass {
		pass = "FAIL: " + strings.Join(r.Failures, "; ")
	}
	fmt.Fprintf(tw, "result\t%s\n", pass)
	_ = tw.Flush()
}
