package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gorilla/websocket"
)

// The standard gateway (scripts/run.sh), and the ports of our own
// processes: offsets from -port-base (default 28100; ops ports +1000).
const (
	stdGateway = "ws://127.0.0.1:8104"
	offFanout2 = 3                // HTTP; gRPC at +100
	offGwA     = 4                // gateway-a
	offGwB     = 14               // gateway-b
	drainLimit = 10 * time.Second // DRAIN_TIMEOUT of the gateway drained in case 5
)

// portBase is -port-base.
var portBase = 28100

func wsURL(off int) string { return fmt.Sprintf("ws://127.0.0.1:%d", portBase+off) }

// caseRun is one case in progress: its watchers' gateways and what its
// fault found.
type caseRun struct {
	sys      *system
	sz       size
	gateways []string
	sockets  int
	slow     int // slow readers, watching the first campaign
	weight   func(campaigns int) []int
	notes    []string
	check    func(ws []*watcher) error // a case's own assertion, after settling
	mu       sync.Mutex
}

func (c *caseRun) note(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// revive restarts services that exited during the fault, as Kubernetes
// would, and notes them: a service should ride out a broker or database
// restart instead.
func (c *caseRun) revive(ctx context.Context) error {
	dead, err := c.sys.revive(ctx)
	if len(dead) > 0 {
		c.note("exited during the fault and restarted: %s", strings.Join(dead, ", "))
	}
	return err
}

type chaosCase struct {
	name  string
	setup func(ctx context.Context, c *caseRun) error
	fault func(ctx context.Context, c *caseRun) error
}

func gateway(ctx context.Context, s *system, name string, off int, env map[string]string) error {
	port := portBase + off
	e := map[string]string{
		"HTTP_ADDR":    fmt.Sprintf("127.0.0.1:%d", port),
		"OPS_ADDR":     fmt.Sprintf("127.0.0.1:%d", port+1000),
		"FANOUT_ADDRS": "127.0.0.1:8203",
		// The suite's storms open every socket from 127.0.0.1.
		"WS_CONNECTS_PER_IP":    "0",
		"WS_MAX_SOCKETS_PER_IP": "0",
	}
	for k, v := range env {
		e[k] = v
	}
	_, err := s.start(ctx, name, "gateway", []int{port + 1000, port}, e)
	return err
}

func fanout2Addr() string { return fmt.Sprintf("127.0.0.1:%d", portBase+offFanout2+100) }

func fanout2(ctx context.Context, s *system) error {
	http := portBase + offFanout2
	_, err := s.start(ctx, "fanout2", "fanout", []int{http + 1000, http, http + 100}, map[string]string{
		"DATABASE_URL": s.env["DATABASE_URL_FANOUT"],
		"GRPC_ADDR":    fanout2Addr(),
		"HTTP_ADDR":    fmt.Sprintf("127.0.0.1:%d", http),
		"OPS_ADDR":     fmt.Sprintf("127.0.0.1:%d", http+1000),
	})
	return err
}

var allCases = []chaosCase{
	{
		name: "kill -9 fanout, restart it",
		setup: func(_ context.Context, c *caseRun) error {
			c.gateways = []string{stdGateway}
			return nil
		},
		fault: func(ctx context.Context, c *caseRun) error {
			if err := c.sys.kill("fanout", syscall.SIGKILL); err != nil {
				return err
			}
			time.Sleep(time.Second)
			return c.sys.script(ctx, "scripts/run.sh", "restart", "fanout")
		},
	},
	{
		name: "second fanout: SIGTERM it, start it again, kill -9 it",
		setup: func(ctx context.Context, c *caseRun) error {
			if err := fanout2(ctx, c.sys); err != nil {
				return err
			}
			if err := gateway(ctx, c.sys, "gateway-a", offGwA, map[string]string{"FANOUT_ADDRS": "127.0.0.1:8203," + fanout2Addr()}); err != nil {
				return err
			}
			c.gateways = []string{wsURL(offGwA)}
			time.Sleep(3 * time.Second) // the group rebalances onto both
			return nil
		},
		fault: func(ctx context.Context, c *caseRun) error {
			took, err := c.sys.stop("fanout2", syscall.SIGTERM, 30*time.Second)
			if err != nil {
				return err
			}
			c.note("fanout2 left in %s", took.Round(time.Millisecond))
			if err := fanout2(ctx, c.sys); err != nil {
				return err
			}
			time.Sleep(3 * time.Second) // it takes partitions back
			_, err = c.sys.stop("fanout2", syscall.SIGKILL, 5*time.Second)
			return err
		},
	},
	{
		name: "Kafka down for 10 s",
		setup: func(_ context.Context, c *caseRun) error {
			c.gateways = []string{stdGateway}
			return nil
		},
		fault: func(ctx context.Context, c *caseRun) error {
			if err := c.sys.script(ctx, "scripts/stack/kafka.sh", "down"); err != nil {
				return err
			}
			time.Sleep(10 * time.Second)
			if err := c.sys.script(ctx, "scripts/stack/kafka.sh", "up"); err != nil {
				return err
			}
			return c.revive(ctx)
		},
	},
	{
		name: "restart Postgres",
		setup: func(_ context.Context, c *caseRun) error {
			c.gateways = []string{stdGateway}
			return nil
		},
		fault: func(ctx context.Context, c *caseRun) error {
			if err := c.sys.script(ctx, "scripts/stack/postgres.sh", "down"); err != nil {
				return err
			}
			time.Sleep(2 * time.Second)
			if err := c.sys.script(ctx, "scripts/stack/postgres.sh", "up"); err != nil {
				return err
			}
			return c.revive(ctx)
		},
	},
	{
		name: "SIGTERM a gateway holding the storm's sockets",
		setup: func(ctx context.Context, c *caseRun) error {
			if err := gateway(ctx, c.sys, "gateway-a", offGwA, map[string]string{"DRAIN_TIMEOUT": drainLimit.String()}); err != nil {
				return err
			}
			if err := gateway(ctx, c.sys, "gateway-b", offGwB, nil); err != nil {
				return err
			}
			c.gateways = []string{wsURL(offGwA), wsURL(offGwB)}
			c.sockets = c.sz.Storm
			c.check = func(ws []*watcher) error {
				n := 0
				for _, w := range ws {
					w.mu.Lock()
					n += w.closes[websocket.CloseServiceRestart]
					w.mu.Unlock()
				}
				c.note("%d sockets closed 1012", n)
				if n < len(ws) {
					return fmt.Errorf("%d of %d sockets were closed 1012", n, len(ws))
				}
				return nil
			}
			return nil
		},
		fault: func(_ context.Context, c *caseRun) error {
			took, err := c.sys.stop("gateway-a", syscall.SIGTERM, drainLimit+5*time.Second)
			c.note("gateway-a drained and exited in %s (DRAIN_TIMEOUT %s)", took.Round(time.Millisecond), drainLimit)
			if err == nil && took > drainLimit+time.Second {
				err = fmt.Errorf("gateway-a took %s to exit, over DRAIN_TIMEOUT %s", took, drainLimit)
			}
			return err
		},
	},
	{
		name: "a slow reader among fast ones",
		setup: func(ctx context.Context, c *caseRun) error {
			if err := gateway(ctx, c.sys, "gateway-a", offGwA, map[string]string{"SEND_QUEUE": "64", "SOCKET_SEND_BUFFER": "4096"}); err != nil {
				return err
			}
			c.gateways = []string{wsURL(offGwA)}
			c.slow = 1
			// The slow reader's campaign gets most writes.
			c.weight = func(n int) []int {
				w := make([]int, n)
				for i := range w {
					w[i] = 1
				}
				w[0] = 4 * n
				return w
			}
			c.check = func(ws []*watcher) error {
				for _, w := range ws {
					if w.slow {
						w.mu.Lock()
						n := w.closes[websocket.CloseTryAgainLater]
						w.mu.Unlock()
						c.note("the slow reader was closed 1013 %d times", n)
						if n == 0 {
							return fmt.Errorf("the slow reader was never closed 1013")
						}
					}
				}
				return nil
			}
			return nil
		},
	},
}

// result is one case's outcome.
type result struct {
	name                                   string
	written, failed, sockets               int
	expected, delivered                    int
	reordered, dups, badDups, snaps, resum int
	reconnects                             int
	took                                   time.Duration
	notes                                  []string
	err                                    error
}

func (r result) lost() int { return r.expected - r.delivered }

func (r result) ok() bool {
	return r.err == nil && r.lost() == 0 && r.reordered == 0 && r.badDups == 0 && r.written > 0
}

func (r result) summary() string {
	s := fmt.Sprintf("written %d (refused %d), delivered %d/%d, lost %d, reordered %d, duplicates %d (bad %d), snapshots %d, resumes %d, reconnects %d, %s",
		r.written, r.failed, r.delivered, r.expected, r.lost(), r.reordered, r.dups, r.badDups, r.snaps, r.resum, r.reconnects, r.took.Round(time.Second))
	for _, n := range r.notes {
		s += "; " + n
	}
	if r.err != nil {
		s += "; ERROR: " + r.err.Error()
	}
	return s
}

func printTable(w io.Writer, rs []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\t written\t sockets\t delivered\t lost\t reordered\t duplicates\t bad dups\t snapshots\t resumes\t took\t result\t")
	for _, r := range rs {
		verdict := "ok"
		if !r.ok() {
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t %d\t %d\t %d\t %d\t %d\t %d\t %d\t %d\t %d\t %s\t %s\t\n", r.name, r.written, r.sockets, r.delivered,
			r.lost(), r.reordered, r.dups, r.badDups, r.snaps, r.resum, r.took.Round(time.Second), verdict)
	}
	_ = tw.Flush()
}

// runCase runs one case: campaigns, watchers, writes with the fault in
// flight, settling, and the count.
func runCase(ctx context.Context, sys *system, r *rest, sz size, n int, cs chaosCase) (res result, err error) {
	res.name = fmt.Sprintf("%d %s", n, cs.name)
	c := &caseRun{sys: sys, sz: sz, sockets: sz.Watchers}
	defer func() {
		// Our processes go; the standard ones are restored by the caller.
		sys.stopAll()
		res.notes = c.notes
	}()
	if err := cs.setup(ctx, c); err != nil {
		return res, fmt.Errorf("setup: %w", err)
	}
	campaigns, err := r.createCampaigns(ctx, sz.Campaigns, fmt.Sprintf("case %d", n))
	if err != nil {
		return res, err
	}

	// Watchers, spread over the campaigns; slow readers on the first.
	wctx, stopWatchers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stopWatchers()
		wg.Wait()
	}()
	var watchers []*watcher
	for i := range c.sockets {
		watchers = append(watchers, newWatcher(campaigns[i%len(campaigns)], c.gateways, false))
	}
	wr := newWritten()
	for range c.slow {
		w := newWatcher(campaigns[0], c.gateways, true)
		w.written = func() int { return wr.count(campaigns[0]) }
		watchers = append(watchers, w)
	}
	res.sockets = len(watchers)
	dials := make(chan struct{}, 100) // bound the connect rate
	for _, w := range watchers {
		wg.Go(func() {
			dials <- struct{}{}
			go func() {
				select {
				case <-w.first:
				case <-time.After(30 * time.Second):
				}
				<-dials
			}()
			w.run(wctx)
		})
	}
	deadline := time.After(90 * time.Second)
	for _, w := range watchers {
		select {
		case <-w.first:
		case <-deadline:
			return res, fmt.Errorf("watchers did not all get their campaign_data in 90s")
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}

	// Writes, with the fault injected a quarter of the way in.
	var weight []int
	if c.weight != nil {
		weight = c.weight(len(campaigns))
	}
	// Writes go on for sz.Writing, and at least a quarter of it after the
	// fault was repaired, so some land on the repaired system.
	faultErr := make(chan error, 1)
	stopWrites := make(chan struct{})
	go func() {
		began := time.Now()
		var err error
		if cs.fault != nil {
			select {
			case <-time.After(sz.Writing / 4):
				err = cs.fault(ctx, c)
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		faultErr <- err
		select {
		case <-time.After(max(sz.Writing-time.Since(began), sz.Writing/4)):
		case <-ctx.Done():
		}
		close(stopWrites)
	}()
	r.write(ctx, wr, campaigns, weight, sz.Rate, stopWrites)
	if err := <-faultErr; err != nil {
		return res, fmt.Errorf("fault: %w", err)
	}
	res.written, res.failed = wr.total(), int(wr.failed.Load())

	// Settle: wait until every watcher has every event of its campaign.
	expect := func() (expected, delivered int) {
		wr.mu.Lock()
		defer wr.mu.Unlock()
		for _, w := range watchers {
			keys := wr.keys[w.campaign]
			expected += len(keys)
			delivered += w.has(keys)
		}
		return expected, delivered
	}
	settle := time.Now().Add(sz.Settle)
	for {
		res.expected, res.delivered = expect()
		if res.delivered == res.expected || time.Now().After(settle) || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // late duplicates or reorders show up too
	stopWatchers()
	wg.Wait()
	res.expected, res.delivered = expect()
	for _, w := range watchers {
		res.reordered += w.reordered
		res.dups += w.dups
		res.badDups += w.badDups
		res.snaps += w.snapshots
		res.resum += w.resumes
		for _, k := range w.closes {
			res.reconnects += k
		}
	}
	res.reconnects -= len(watchers) // the last close is ours
	if c.check != nil {
		if err := c.check(watchers); err != nil {
			return res, err
		}
	}
	if res.delivered < res.expected {
		c.note("%s", missing(watchers, wr))
	}
	return res, nil
}

// missing describes a few lost events, for the log.
func missing(ws []*watcher, wr *written) string {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	var out []string
	for _, w := range ws {
		for k := range wr.keys[w.campaign] {
			if !w.got[k] && len(out) < 5 {
				out = append(out, fmt.Sprintf("campaign %d lacks %s", w.campaign, k))
			}
		}
	}
	return "e.g. " + strings.Join(out, ", ")
}
