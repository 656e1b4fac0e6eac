// Command load drives campaign-live the way users do, through the real
// gateway and the real REST API, and reports what DESIGN.md §8 measures:
// delivered messages per second, loss, write→socket latency, connect rate,
// and the gateway's and fanout's memory and CPU.
//
// It opens N watchers over K campaigns it creates itself, waits for each
// socket's campaign_data, then writes contributions at R/s (open loop) or
// with C writers that each wait until their previous write reached every
// watcher of its campaign (closed loop, "as fast as delivery allows").
// Every contribution's amount encodes its write sequence number, so a
// watcher knows which write a frame answers without a shared map; loss is
// checked per watcher against the 201 responses (type + data.id).
//
//	load -workload w1|w2|w3|connect [-scale 0.01] [-ws ws://127.0.0.1:8104] [-json out.json]
//	load -summarize docs/bench -splice docs/performance.md
//
// It is bounded: hard caps on sockets, writes and wall time; every address
// must be loopback; it raises its own RLIMIT_NOFILE to the hard limit. It
// exits 1 on loss, a cross-campaign leak, a socket that never got its
// snapshot, or failed writes; 2 on a usage or setup error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// preset is one named workload of DESIGN.md §8 at scale 1.
type preset struct {
	watchers    int
	campaigns   int
	rate        float64 // writes/s; 0 with writers > 0 is closed loop
	writers     int
	duration    time.Duration
	warmup      time.Duration
	connectConc int
	hold        time.Duration // w3: how long sockets stay idle before measuring
	describe    string
}

var presets = map[string]preset{
	// w1's 24 writes in flight keep delivery saturated: the gateway writes a
	// socket's queued frames with one write(2), so throughput grows with the
	// writes in flight up to about 24 (docs/performance.md, W1 sweep).
	"w1": {watchers: 2000, campaigns: 1, writers: 24, duration: 20 * time.Second, warmup: 3 * time.Second,
		connectConc: 64, describe: "fan-out: 2,000 watchers of one campaign, closed-loop writes"},
	"w2": {watchers: 5000, campaigns: 500, rate: 1000, duration: 30 * time.Second, warmup: 3 * time.Second,
		connectConc: 64, describe: "spread: 5,000 watchers over 500 campaigns, 1,000 writes/s"},
	"w3": {watchers: 10000, campaigns: 100, hold: 10 * time.Second,
		connectConc: 64, describe: "idle: 10,000 sockets, gateway memory per socket"},
	"connect": {watchers: 5000, campaigns: 100, connectConc: 256,
		describe: "connect: open sockets as fast as possible, each with its campaign_data"},
}

// config is one run's parameters after the preset, -scale and explicit
// flags are applied.
type config struct {
	Workload    string        `json:"workload"`
	Scale       float64       `json:"scale"`
	WSURL       string        `json:"ws_url"`
	APIURL      string        `json:"api_url"`
	WriteAPIURL string        `json:"write_api_url"`
	Watchers    int           `json:"watchers"`
	Campaigns   int           `json:"campaigns"`
	Rate        float64       `json:"rate"`
	Writers     int           `json:"writers"`
	Duration    time.Duration `json:"duration_ns"`
	Warmup      time.Duration `json:"warmup_ns"`
	Hold        time.Duration `json:"hold_ns"`
	ConnectConc int           `json:"connect_concurrency"`
	Users       int           `json:"users"`
	MaxInflight int           `json:"max_inflight"`
	Drain       time.Duration `json:"drain_ns"`
	SourceAddrs int           `json:"source_addrs"`
	Resume      bool          `json:"resume"`

	secret      string
	pidDir      string
	jsonOut     string
	maxSockets  int
	maxWrites   int
	maxDuration time.Duration
	quiet       bool
	cpuProfile  string
}

// Hard caps no flag can lift: they keep a mistyped flag from turning the
// tool into something that takes the shared machine down.
const (
	capSockets  = 18000 // one process; ~20,000 files is the hard limit here
	capWrites   = 5_000_000
	capRate     = 20000
	capDuration = 30 * time.Minute
)

func main() {
	os.Exit(run())
}

func run() int {
	if len(os.Args) > 1 && (os.Args[1] == "-summarize" || os.Args[1] == "--summarize") {
		fs := flag.NewFlagSet("load -summarize", flag.ContinueOnError)
		splice := fs.String("splice", "", "put the Markdown table between the bench markers of this file")
		if len(os.Args) < 3 || fs.Parse(os.Args[3:]) != nil {
			fmt.Fprintln(os.Stderr, "usage: load -summarize DIR [-splice FILE]")
			return 2
		}
		if err := summarize(os.Args[2], *splice); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			return 2
		}
		return 0
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.maxDuration)
	defer cancel()

	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	res, err := execute(ctx, cfg)
	if res != nil {
		if !cfg.quiet {
			printTable(os.Stdout, res)
		}
		if cfg.jsonOut != "" {
			if werr := writeJSON(cfg.jsonOut, res); werr != nil {
				fmt.Fprintln(os.Stderr, "load:", werr)
				return 2
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 2
	}
	if !res.Pass {
		fmt.Fprintln(os.Stderr, "load: FAILED:", strings.Join(res.Failures, "; "))
		return 1
	}
	return 0
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var (
		workload    = fs.String("workload", "", "preset: w1, w2, w3 or connect (required)")
		scale       = fs.Float64("scale", 1, "multiply the preset's sockets, campaigns and rate (0.01 for a tiny run)")
		wsURL       = fs.String("ws", "ws://127.0.0.1:8080", "WebSocket base URL: devedge (:8080) or the gateway itself (ws://127.0.0.1:8104)")
		apiURL      = fs.String("api", "http://127.0.0.1:8080", "REST base URL (campaigns, live views)")
		writeAPI    = fs.String("write-api", "", "base URL of the contribution writes (default: -api; http://127.0.0.1:8102 is the contribution service itself)")
		watchers    = fs.Int("watchers", 0, "sockets to open (overrides the preset)")
		campaigns   = fs.Int("campaigns", 0, "campaigns to spread them over (overrides the preset)")
		rate        = fs.Float64("rate", -1, "writes per second, open loop (overrides the preset; 0 = closed loop)")
		writers     = fs.Int("writers", 0, "closed-loop writers, each waiting for full delivery of its last write")
		duration    = fs.Duration("duration", 0, "write phase (overrides the preset)")
		warmup      = fs.Duration("warmup", -1, "first part of the write phase left out of latency and throughput")
		hold        = fs.Duration("hold", -1, "w3: idle time before memory is read")
		connectConc = fs.Int("connect-concurrency", 0, "sockets being opened at once")
		users       = fs.Int("users", 0, "distinct writing users (the per-user write limit is 6000/min under make run); default rate/20, at least 50")
		maxInflight = fs.Int("max-inflight", 1024, "open loop: writes in flight at most; a write due while full is counted as skipped")
		drain       = fs.Duration("drain", 30*time.Second, "after the last write, wait for outstanding deliveries until none arrives for this long (3 minutes at most)")
		srcAddrs    = fs.Int("source-addrs", 1, "spread sockets over this many source addresses 127.0.0.1..N (ephemeral ports)")
		resume      = fs.Bool("resume", true, "reconnect a closed socket with since=CURSOR, as the browser client does")
		secret      = fs.String("secret", envOr("AUTH_JWT_SECRET", "local-dev-secret"), "HS256 secret for writer tokens")
		pidDir      = fs.String("pid-dir", ".run/pid", "where gateway.pid and fanout.pid are")
		jsonOut     = fs.String("json", "", "write the result as JSON to this file")
		maxSockets  = fs.Int("max-sockets", 12000, fmt.Sprintf("refuse to open more sockets (at most %d in one process)", capSockets))
		maxWrites   = fs.Int("max-writes", 1_000_000, fmt.Sprintf("stop writing after this many (at most %d)", capWrites))
		maxDuration = fs.Duration("max-duration", 10*time.Minute, fmt.Sprintf("hard limit on the whole run (at most %s)", capDuration))
		quiet       = fs.Bool("quiet", false, "no table on stdout")
		cpuProfile  = fs.String("cpuprofile", "", "write the tool's own CPU profile to this file")
	)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	p, ok := presets[*workload]
	if !ok {
		return nil, fmt.Errorf("-workload %q: want one of w1, w2, w3, connect", *workload)
	}
	if *scale <= 0 || *scale > 10 {
		return nil, fmt.Errorf("-scale %v: want 0 < scale <= 10", *scale)
	}
	sc := func(n int) int { return max(1, int(float64(n)**scale+0.5)) }
	c := &config{
		Workload: *workload, Scale: *scale, WSURL: strings.TrimRight(*wsURL, "/"), APIURL: strings.TrimRight(*apiURL, "/"),
		WriteAPIURL: strings.TrimRight(*writeAPI, "/"),
		Watchers:    sc(p.watchers), Campaigns: sc(p.campaigns), Rate: p.rate * *scale, Writers: p.writers,
		Duration: p.duration, Warmup: p.warmup, Hold: p.hold, ConnectConc: p.connectConc,
		MaxInflight: *maxInflight, Drain: *drain, SourceAddrs: *srcAddrs, Resume: *resume,
		secret: *secret, pidDir: *pidDir, jsonOut: *jsonOut,
		maxSockets: min(*maxSockets, capSockets), maxWrites: min(*maxWrites, capWrites),
		maxDuration: min(*maxDuration, capDuration), quiet: *quiet, cpuProfile: *cpuProfile,
	}
	if c.WriteAPIURL == "" {
		c.WriteAPIURL = c.APIURL
	}
	if *watchers > 0 {
		c.Watchers = *watchers
	}
	if *campaigns > 0 {
		c.Campaigns = *campaigns
	}
	if *rate >= 0 {
		c.Rate = *rate
	}
	if *writers > 0 {
		c.Writers = *writers
	}
	if *duration > 0 {
		c.Duration = *duration
	}
	if *warmup >= 0 {
		c.Warmup = *warmup
	}
	if *hold >= 0 {
		c.Hold = *hold
	}
	if *connectConc > 0 {
		c.ConnectConc = *connectConc
	}
	if c.Rate > 0 {
		c.Writers = 0 // open loop
	}
	c.Users = *users
	if c.Users <= 0 {
		c.Users = max(50, int(c.Rate/20))
		if c.Writers > 0 {
			c.Users = max(c.Users, 200)
		}
	}
	switch {
	case c.Watchers > c.maxSockets:
		return nil, fmt.Errorf("%d sockets is over -max-sockets %d (one process holds at most %d; run several processes for more)", c.Watchers, c.maxSockets, capSockets)
	case c.Campaigns > c.Watchers && c.Workload != "w1":
		c.Campaigns = c.Watchers
	case c.Rate > capRate:
		return nil, fmt.Errorf("-rate %v is over the cap of %d/s", c.Rate, capRate)
	case c.Warmup >= c.Duration && c.Duration > 0:
		return nil, fmt.Errorf("-warmup %s must be shorter than -duration %s", c.Warmup, c.Duration)
	case c.SourceAddrs < 1 || c.SourceAddrs > 250:
		return nil, fmt.Errorf("-source-addrs %d: want 1..250", c.SourceAddrs)
	}
	for _, u := range []string{c.WSURL, c.APIURL, c.WriteAPIURL} {
		if err := checkLoopback(u); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// checkLoopback refuses any URL whose host is not a loopback address: this
// tool generates load, and only this machine may receive it.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q: not a URL", raw)
	}
	switch u.Scheme {
	case "ws", "http":
	default:
		return fmt.Errorf("%q: want ws:// or http:// on loopback", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q: only loopback addresses (127.0.0.0/8, ::1, localhost) may be loaded", raw)
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// raiseNoFile lifts RLIMIT_NOFILE's soft limit to the hard one and returns
// the new soft limit.
func raiseNoFile() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return l.Cur, nil
}

var errAborted = errors.New("run aborted")
