package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// size is how hard a run pushes.
type size struct {
	Campaigns int           // per case
	Watchers  int           // sockets per case (cases 1-4, 6)
	Storm     int           // sockets on the drained gateway (case 5)
	Rate      int           // writes per second
	Writing   time.Duration // how long writes go on per case
	Settle    time.Duration // how long to wait for watchers to catch up
}

var sizes = map[string]size{
	"small": {Campaigns: 4, Watchers: 100, Storm: 1000, Rate: 40, Writing: 12 * time.Second, Settle: 60 * time.Second},
	"full":  {Campaigns: 20, Watchers: 1000, Storm: 3000, Rate: 150, Writing: 30 * time.Second, Settle: 120 * time.Second},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		sizeName = flag.String("size", "small", "small or full: the defaults of the flags below")
		cases    = flag.String("cases", "1,2,3,4,5,6", "cases to run, comma-separated")
		repo     = flag.String("repo", "", "repository root (default: found from the working directory)")
		api      = flag.String("api", "http://127.0.0.1:8080", "REST base URL")
	)
	flag.IntVar(&portBase, "port-base", portBase, "ports of the suite's own processes: base+3 (fanout2 HTTP; gRPC +100), base+4 and base+14 (gateways); ops ports +1000")
	sz := sizes["small"]
	flag.IntVar(&sz.Campaigns, "campaigns", 0, "campaigns per case")
	flag.IntVar(&sz.Watchers, "watchers", 0, "sockets per case")
	flag.IntVar(&sz.Storm, "storm", 0, "sockets on the gateway drained in case 5")
	flag.IntVar(&sz.Rate, "rate", 0, "writes per second")
	flag.DurationVar(&sz.Writing, "writing", 0, "how long writes go on per case")
	flag.DurationVar(&sz.Settle, "settle", 0, "how long to wait for watchers to catch up")
	flag.Parse()
	preset, ok := sizes[*sizeName]
	if !ok {
		return fmt.Errorf("-size %q: want small or full", *sizeName)
	}
	// Flags given override the preset.
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["campaigns"] {
		sz.Campaigns = preset.Campaigns
	}
	if !set["watchers"] {
		sz.Watchers = preset.Watchers
	}
	if !set["storm"] {
		sz.Storm = preset.Storm
	}
	if !set["rate"] {
		sz.Rate = preset.Rate
	}
	if !set["writing"] {
		sz.Writing = preset.Writing
	}
	if !set["settle"] {
		sz.Settle = preset.Settle
	}
	if sz.Campaigns < 1 || sz.Watchers < sz.Campaigns || sz.Rate < 1 || sz.Writing < 5*time.Second || sz.Storm < 1 {
		return fmt.Errorf("size %+v: want campaigns ≥ 1, watchers ≥ campaigns, rate ≥ 1, writing ≥ 5s", sz)
	}
	if *repo == "" {
		wd, _ := os.Getwd()
		for d := wd; d != "/"; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
				*repo = d
				break
			}
		}
		if *repo == "" {
			return fmt.Errorf("no go.work above %s: pass -repo", wd)
		}
	}
	if err := raiseFileLimit(sz.Storm + sz.Watchers + 1024); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sys, err := newSystem(*repo, *api)
	if err != nil {
		return err
	}
	defer sys.stopAll()
	r, err := newREST(*api)
	if err != nil {
		return err
	}
	if err := sys.healthy(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("the system is not running (make run): %w", err)
	}

	fmt.Printf("chaos: size %s: %d campaigns, %d sockets (%d in case 5), %d writes/s for %s per case\n",
		*sizeName, sz.Campaigns, sz.Watchers, sz.Storm, sz.Rate, sz.Writing)
	var results []result
	for _, c := range strings.Split(*cases, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 || n > len(allCases) {
			return fmt.Errorf("-cases: %q is not a case 1..%d", c, len(allCases))
		}
		cs := allCases[n-1]
		began := time.Now()
		fmt.Printf("case %d: %s ...\n", n, cs.name)
		res, err := runCase(ctx, sys, r, sz, n, cs)
		res.took = time.Since(began)
		if rerr := sys.restore(context.WithoutCancel(ctx)); rerr != nil {
			err = fmt.Errorf("%v; restoring the system: %w", err, rerr)
		}
		if err != nil {
			res.err = err
		}
		results = append(results, res)
		fmt.Printf("case %d: %s\n", n, res.summary())
		if ctx.Err() != nil {
			break
		}
	}
	printTable(os.Stdout, results)
	for _, r := range results {
		if !r.ok() {
			return fmt.Errorf("case %q failed", r.name)
		}
	}
	return nil
}

func raiseFileLimit(want int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise the open-file limit: %w", err)
	}
	if lim.Cur < uint64(want) {
		return fmt.Errorf("open-file limit %d, want at least %d: use fewer sockets", lim.Cur, want)
	}
	return nil
}
