package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// execute runs one workload and returns its result; err is for a run that
// could not be set up or measured at all.
func execute(ctx context.Context, cfg *config) (*Result, error) {
	nofile, err := raiseNoFile()
	if err != nil {
		return nil, fmt.Errorf("raise RLIMIT_NOFILE: %w", err)
	}
	if need := uint64(cfg.Watchers + cfg.MaxInflight + 256); nofile < need {
		return nil, fmt.Errorf("RLIMIT_NOFILE is %d, %d sockets need about %d", nofile, cfg.Watchers, need)
	}
	host, _ := os.Hostname()
	res := &Result{
		Config: *cfg, StartedAt: time.Now().UTC(),
		Machine: Machine{Host: host, CPUs: runtime.NumCPU(), Model: cpuModel(), LoadAvgBefore: loadAvg(), GoVersion: runtime.Version()},
	}
	logf := func(format string, args ...any) {
		if !cfg.quiet {
			fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
		}
	}

	// Sequence numbers are preallocated: what the write phase can issue.
	var maxSeq int64
	switch {
	case cfg.Rate > 0:
		maxSeq = int64(cfg.Rate*cfg.Duration.Seconds()*1.05) + 64
	case cfg.Writers > 0:
		// A closed-loop write cannot take less than about a millisecond.
		maxSeq = int64(cfg.Writers) * int64(cfg.Duration/time.Millisecond+1)
	}
	maxSeq = max(1, min(maxSeq, int64(cfg.maxWrites))) + int64(cfg.Campaigns) // and one priming write per campaign
	st := newState(cfg, maxSeq)

	a, err := newAPI(cfg, max(cfg.MaxInflight, cfg.Writers, 16))
	if err != nil {
		return nil, err
	}
	logf("%s: creating %d campaigns through %s", cfg.Workload, cfg.Campaigns, cfg.APIURL)
	st.campaignIDs, err = a.createCampaigns(ctx, cfg.Workload, cfg.Campaigns)
	if err != nil {
		return nil, fmt.Errorf("create campaigns: %w", err)
	}
	if err := a.waitLive(ctx, st.campaignIDs, 60*time.Second); err != nil {
		return nil, err
	}
	st.watchersOf = make([]int32, cfg.Campaigns)
	st.nextLocal = make([]atomic.Int32, cfg.Campaigns)
	if cfg.Rate > 0 || cfg.Writers > 0 {
		logf("%s: one contribution to each campaign through %s, so the contribution service knows them", cfg.Workload, cfg.WriteAPIURL)
		if err := st.prime(ctx, a); err != nil {
			return nil, err
		}
		if err := a.waitApplied(ctx, st.campaignIDs, 3*time.Minute); err != nil {
			return nil, err
		}
	}

	mon := newMonitor(cfg.pidDir)
	defer mon.close()
	if len(mon.pids) > 0 && mon.pids["gateway"] == 0 {
		res.Notes = append(res.Notes, "no gateway pid in "+cfg.pidDir+": memory and CPU are not reported")
	}

	// Connect: every watcher, ConnectConc at a time, each until its
	// campaign_data.
	watchers := make([]*watcher, cfg.Watchers)
	dialers := make([]*websocket.Dialer, cfg.SourceAddrs)
	for i := range dialers {
		dialers[i] = newDialer(i, cfg.SourceAddrs)
	}
	for i := range watchers {
		ci := int32(i % cfg.Campaigns)
		watchers[i] = newWatcher(st, i, ci, dialers[i%len(dialers)])
		st.watchersOf[ci]++
	}
	runtime.GC()
	time.Sleep(500 * time.Millisecond) // let the gateway's RSS settle before the baseline
	m0 := mon.mark()
	logf("%s: opening %d sockets to %s, %d at a time", cfg.Workload, cfg.Watchers, cfg.WSURL, cfg.ConnectConc)
	conn := connectAll(ctx, watchers, cfg.ConnectConc)
	m1 := mon.mark()
	res.Connect = conn
	res.Usage = append(res.Usage, mon.usage("connect", m0, m1))
	logf("%s: %d sockets open in %.2fs (%.0f/s), %d failed", cfg.Workload, conn.Opened, conn.Seconds, conn.PerSecond, conn.Failed)

	var reconnects atomic.Int64
	var wg sync.WaitGroup
	for _, w := range watchers {
		if w.conn == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); w.readLoop(ctx, &reconnects) }()
	}
	stopAll := func() {
		var sw sync.WaitGroup
		sem := make(chan struct{}, 64)
		for _, w := range watchers {
			sem <- struct{}{}
			sw.Add(1)
			go func() { defer sw.Done(); w.stop(); <-sem }()
		}
		sw.Wait()
		wg.Wait()
	}

	switch {
	case cfg.Workload == "w3" || (cfg.Rate == 0 && cfg.Writers == 0):
		if cfg.Hold > 0 {
			logf("%s: holding %d idle sockets for %s", cfg.Workload, conn.Opened, cfg.Hold)
			sleepCtx(ctx, cfg.Hold)
		}
		m2 := mon.mark()
		if cfg.Hold > 0 {
			res.Usage = append(res.Usage, mon.usage("hold", m1, m2))
		}
		if g0, g1 := m0.procs["gateway"], m2.procs["gateway"]; cfg.Workload == "w3" && g0.ok && g1.ok && conn.Opened > 0 {
			res.Idle = &Idle{
				Sockets: conn.Opened, RSSBefore: g0.rssBytes, RSSAfter: g1.rssBytes,
				PerSocketBytes: float64(g1.rssBytes-g0.rssBytes) / float64(conn.Opened),
			}
			if d0, d1 := m0.procs["devedge"], m2.procs["devedge"]; d0.ok && d1.ok {
				res.Idle.DevedgePerSocketBytes = float64(d1.rssBytes-d0.rssBytes) / float64(conn.Opened)
			}
		}
		stopAll()
	default:
		m2 := mon.mark()
		mon.resetLag()
		ws := &writeStats{httpLat: newShardedHist(8)}
		logf("%s: writing for %s (%s)", cfg.Workload, cfg.Duration, loopDesc(cfg))
		wstart := time.Now()
		writeEnd := drive(ctx, st, a, ws)
		m3 := mon.mark()
		res.Usage = append(res.Usage, mon.usage("write", m2, m3))
		writeSecs := time.Since(wstart).Seconds()
		logf("%s: %d writes in %.1fs; waiting up to %s for %d outstanding deliveries", cfg.Workload, ws.attempted.Load(), writeSecs, cfg.Drain, st.outstanding.Load())
		// Wait while deliveries still arrive: what is late is not lost.
		// Loss is what has not arrived once nothing has for cfg.Drain.
		hardStop := time.Now().Add(3 * time.Minute)
		lastProgress, lastOut := time.Now(), st.outstanding.Load()
		for st.outstanding.Load() > 0 && ctx.Err() == nil && time.Since(lastProgress) < cfg.Drain && time.Now().Before(hardStop) {
			time.Sleep(20 * time.Millisecond)
			if o := st.outstanding.Load(); o < lastOut {
				lastOut, lastProgress = o, time.Now()
			}
		}
		drainSecs := time.Since(wstart).Seconds() - writeSecs
		stopAll()
		res.Writes = &Writes{
			Attempted: ws.attempted.Load(), Acked: ws.acked.Load(), Failed: ws.failed.Load(), Skipped: ws.skipped.Load(),
			Seconds: writeSecs, PerSecond: float64(ws.acked.Load()) / writeSecs, Errors: ws.errs,
			HTTP: latencyOf(ws.httpLat.merged()), DrainSeconds: drainSecs,
		}
		res.Delivery = account(st, watchers, writeEnd)
		res.ConsumerLagPeak = mon.lagPeaks()
	}
	res.Connect.Reconnects = reconnects.Load()
	res.Connect.CloseCodes = map[string]int{}
	for _, w := range watchers {
		for code, n := range w.closeCodes {
			res.Connect.CloseCodes[fmt.Sprint(code)] += n
		}
	}
	for _, u := range res.Usage {
		for name, p := range u.Procs {
			if p.Restarted {
				res.Notes = append(res.Notes, fmt.Sprintf("%s restarted during the %s phase (someone else's test?): its numbers are not comparable", name, u.Phase))
			}
		}
	}
	res.Machine.LoadAvgAfter = loadAvg()
	res.judge()
	if ctx.Err() != nil {
		res.Notes = append(res.Notes, "stopped early: "+ctx.Err().Error())
	}
	return res, nil
}

func loopDesc(cfg *config) string {
	if cfg.Rate > 0 {
		return fmt.Sprintf("open loop, %.0f/s", cfg.Rate)
	}
	return fmt.Sprintf("closed loop, %d writers each waiting for full delivery", cfg.Writers)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// connectAll opens every watcher's socket, conc at a time.
func connectAll(ctx context.Context, ws []*watcher, conc int) Connect {
	var (
		next   atomic.Int64
		failed atomic.Int64
		mu     sync.Mutex
		errs   = map[string]int{}
		wg     sync.WaitGroup
	)
	lat := newShardedHist(8)
	start := time.Now()
	for g := range min(conc, len(ws)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ws) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := ws[i].connect(ctx, 20*time.Second); err != nil {
					failed.Add(1)
					ws[i].closeConn()
					mu.Lock()
					if len(errs) < 10 {
						errs[trimErr(err)]++
					} else {
						errs["(other)"]++
					}
					mu.Unlock()
					continue
				}
				lat.record(g, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	opened := int64(len(ws)) - failed.Load()
	return Connect{Sockets: len(ws), Opened: opened, Failed: failed.Load(), Seconds: secs,
		PerSecond: float64(opened) / secs, Latency: latencyOf(lat.merged()), Errors: errs}
}

// drive runs the write phase and returns when it ended (ns since epoch).
func drive(ctx context.Context, st *state, a *api, ws *writeStats) int64 {
	cfg := st.cfg
	wctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := st.now()
	st.measureFrom.Store(start + int64(cfg.Warmup))
	var wg sync.WaitGroup
	// Writes keep going past the phase's end only to finish; a request cut
	// by the phase's own deadline would look like a failure.
	reqCtx := context.WithoutCancel(ctx)
	if cfg.Rate > 0 {
		sem := make(chan struct{}, cfg.MaxInflight)
		var issued int64
		t0 := time.Now()
	loop:
		for {
			due := int64(time.Since(t0).Seconds() * cfg.Rate)
			for ; issued < due; issued++ {
				select {
				case sem <- struct{}{}:
				default:
					ws.skipped.Add(1) // the system is not keeping up; open loop does not wait
					continue
				}
				seq := st.seq.Add(1)
				if seq > st.maxSeq {
					<-sem
					break loop
				}
				ci := int32((seq - 1) % int64(len(st.campaignIDs)))
				wg.Add(1)
				go func() {
					defer wg.Done()
					st.write(reqCtx, a, ws, seq, ci, -1)
					<-sem
				}()
			}
			select {
			case <-wctx.Done():
				break loop
			case <-time.After(500 * time.Microsecond):
			}
		}
	} else {
		st.wake = make([]chan struct{}, cfg.Writers)
		for i := range st.wake {
			st.wake[i] = make(chan struct{}, 1)
		}
		for i := range cfg.Writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for wctx.Err() == nil {
					seq := st.seq.Add(1)
					if seq > st.maxSeq {
						return
					}
					ci := int32((seq - 1) % int64(len(st.campaignIDs)))
					if !st.write(reqCtx, a, ws, seq, ci, i) {
						sleepCtx(wctx, 10*time.Millisecond)
						continue
					}
					// Wait until every watcher has it, or give up on it
					// after a while (the loss check will tell).
					giveUp := time.NewTimer(5 * time.Second)
					for st.pending[seq].Load() > 0 {
						select {
						case <-st.wake[i]:
							continue
						case <-giveUp.C:
						case <-wctx.Done():
						}
						break
					}
					giveUp.Stop()
				}
			}()
		}
		<-wctx.Done()
	}
	end := st.now()
	st.measureTo.Store(end)
	wg.Wait()
	return end
}

// account checks every acknowledged write against every watcher of its
// campaign, and sums the watchers' counters.
func account(st *state, ws []*watcher, writeEnd int64) *Delivery {
	d := &Delivery{}
	byCampaign := make([][]*watcher, len(st.campaignIDs))
	for _, w := range ws {
		byCampaign[w.campIdx] = append(byCampaign[w.campIdx], w)
		d.Received += w.unique
		d.Duplicates += w.dups
		d.Reordered += w.reordered
		d.Leaks += w.leaks
		d.Foreign += w.foreign
		d.IDMismatches += w.mismatches
		d.ErrorFrames += w.errorsRecv
		d.SnapshotResets += int64(w.resets)
		d.Resumes += int64(w.resumes)
		d.InWindow += w.inWindow
	}
	last := st.seq.Load()
	lossByWatcher := map[int]int64{}
	for seq := int64(1); seq <= min(last, st.maxSeq); seq++ {
		if !st.acked[seq].Load() {
			continue
		}
		ci := st.camp[seq].Load() - 1
		li := st.local[seq].Load()
		for _, w := range byCampaign[ci] {
			d.Expected++
			if !w.has(li) {
				d.Lost++
				lossByWatcher[w.idx]++
			}
		}
	}
	d.WatchersWithLoss = len(lossByWatcher)
	if len(lossByWatcher) > 0 {
		type wl struct {
			idx  int
			lost int64
		}
		var worst []wl
		for i, n := range lossByWatcher {
			worst = append(worst, wl{i, n})
		}
		sort.Slice(worst, func(i, j int) bool { return worst[i].lost > worst[j].lost })
		for _, x := range worst[:min(5, len(worst))] {
			w := ws[x.idx]
			d.LossSamples = append(d.LossSamples, fmt.Sprintf("watcher %d (campaign %d): lost %d, reconnects %d, resets %d, last error %q",
				x.idx, w.campaign, x.lost, w.reconnects, w.resets, w.lastErr))
		}
	}
	window := float64(writeEnd-st.measureFrom.Load()) / 1e9
	if window > 0 {
		d.MessagesPerSecond = float64(d.InWindow) / window
	}
	d.WindowSeconds = window
	d.Latency = latencyOf(st.lat.merged())
	return d
}
