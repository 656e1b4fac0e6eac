package main

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clkTck is USER_HZ, 100 on every Linux this runs on.
const clkTck = 100

// procSample is one reading of a process.
type procSample struct {
	pid      int
	rssBytes int64
	cpuTicks int64 // utime + stime
	ok       bool
}

// readProc reads VmRSS from /proc/PID/status and utime+stime from
// /proc/PID/stat.
func readProc(pid int) procSample {
	s := procSample{pid: pid}
	if pid <= 0 {
		return s
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				s.rssBytes = kb * 1024
			}
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	s.cpuTicks = ut + stt
	s.ok = true
	return s
}

// machineTicks reads /proc/stat's first line: busy and total ticks over
// all cores.
func machineTicks() (busy, total int64) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0
	}
	var vals []int64
	for _, v := range fields[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		vals = append(vals, n)
	}
	for i, v := range vals {
		if i >= 8 { // guest time is already in user
			break
		}
		total += v
	}
	idle := vals[3]
	if len(vals) > 4 {
		idle += vals[4] // iowait
	}
	return total - idle, total
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

// watched are the processes whose cost a run reports, by pid file name.
var watched = []string{"gateway", "fanout", "devedge", "contribution", "content", "comment", "milestone"}

// mark is a reading of every watched process and the machine at one moment.
type mark struct {
	at        time.Time
	procs     map[string]procSample
	self      procSample
	groups    map[string]int64 // CPU ticks of every process by command name
	busy, tot int64
}

// groups are process families whose summed CPU a run reports: Postgres is
// one process per connection, Kafka one JVM.
var groups = []string{"postgres", "java"}

// groupTicks sums utime+stime of every process named in groups.
func groupTicks() map[string]int64 {
	out := map[string]int64{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			continue
		}
		name := strings.TrimSpace(string(comm))
		for _, g := range groups {
			if name == g {
				if s := readProc(pid); s.ok {
					out[g] += s.cpuTicks
				}
			}
		}
	}
	return out
}

// monitor samples the watched processes twice a second, for peak RSS and to
// notice a service restarted mid-run (its pid changed).
type monitor struct {
	pidDir string

	mu        sync.Mutex
	lagPeak   map[string]int64 // kafka_consumer_lag by consumer group, highest seen
	pids      map[string]int
	peak      map[string]int64
	restarted map[string]bool
	stop      chan struct{}
	done      chan struct{}
}

func newMonitor(pidDir string) *monitor {
	m := &monitor{pidDir: pidDir, pids: map[string]int{}, peak: map[string]int64{}, restarted: map[string]bool{}, lagPeak: map[string]int64{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, n := range watched {
		m.pids[n] = m.readPid(n)
	}
	go m.loop()
	return m
}

func (m *monitor) readPid(name string) int {
	b, err := os.ReadFile(filepath.Join(m.pidDir, name+".pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func (m *monitor) loop() {
	defer close(m.done)
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.sample()
			m.sampleLag()
		}
	}
}

func (m *monitor) sample() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range watched {
		pid := m.readPid(n)
		if pid != m.pids[n] || (pid > 0 && !readProc(pid).ok) {
			m.restarted[n] = true
		}
		if s := readProc(m.pids[n]); s.ok && s.rssBytes > m.peak[n] {
			m.peak[n] = s.rssBytes
		}
	}
}

// opsPorts are the ops listeners of the services that consume the topic
// through pkg/consumer and report kafka_consumer_lag (make run's ports).
var opsPorts = []int{9102, 9105, 9106}

var lagClient = &http.Client{Timeout: 300 * time.Millisecond}

// sampleLag reads each consumer's lag from its Prometheus endpoint.
func (m *monitor) sampleLag() {
	for _, port := range opsPorts {
		resp, err := lagClient.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		if err != nil {
			continue
		}
		// A group's lag is the sum over its partitions
		// (kafka_consumer_lag{group="g",partition="p"} n).
		total := map[string]int64{}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			rest, ok := strings.CutPrefix(sc.Text(), `kafka_consumer_lag{group="`)
			if !ok {
				continue
			}
			group, rest, ok := strings.Cut(rest, `"`)
			if !ok {
				continue
			}
			_, val, ok := strings.Cut(rest, "} ")
			if !ok {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil {
				continue
			}
			total[group] += int64(f)
		}
		_ = resp.Body.Close()
		m.mu.Lock()
		for group, n := range total {
			m.lagPeak[group] = max(m.lagPeak[group], n)
		}
		m.mu.Unlock()
	}
}

// resetLag forgets the peaks seen so far (before the phase that matters).
func (m *monitor) resetLag() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.lagPeak)
}

func (m *monitor) lagPeaks() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int64, len(m.lagPeak))
	maps.Copy(out, m.lagPeak)
	return out
}

// mark reads everything now.
func (m *monitor) mark() mark {
	m.mu.Lock()
	defer m.mu.Unlock()
	mk := mark{at: time.Now(), procs: map[string]procSample{}, self: readProc(os.Getpid())}
	for _, n := range watched {
		mk.procs[n] = readProc(m.pids[n])
	}
	mk.groups = groupTicks()
	mk.busy, mk.tot = machineTicks()
	return mk
}

func (m *monitor) close() {
	close(m.stop)
	<-m.done
}

// ProcUsage is one process's cost over a phase.
type ProcUsage struct {
	Pid        int     `json:"pid"`
	RSSStart   int64   `json:"rss_start_bytes"`
	RSSEnd     int64   `json:"rss_end_bytes"`
	RSSPeak    int64   `json:"rss_peak_bytes"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Cores      float64 `json:"cores"` // CPU seconds per wall second
	Restarted  bool    `json:"restarted,omitempty"`
}

// Usage is every process's cost over one phase, and the machine's.
type Usage struct {
	Phase        string               `json:"phase"`
	Seconds      float64              `json:"seconds"`
	Procs        map[string]ProcUsage `json:"procs"`
	MachineCores float64              `json:"machine_busy_cores"` // all processes
	OtherCores   float64              `json:"other_busy_cores"`   // not watched, not this tool: other people's work
}

func (m *monitor) usage(phase string, a, b mark) Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	secs := b.at.Sub(a.at).Seconds()
	u := Usage{Phase: phase, Seconds: secs, Procs: map[string]ProcUsage{}}
	if secs <= 0 {
		return u
	}
	var ours float64
	add := func(name string, s0, s1 procSample, peak int64) {
		if !s0.ok {
			return
		}
		cpu := float64(s1.cpuTicks-s0.cpuTicks) / clkTck
		if !s1.ok {
			cpu = 0
		}
		ours += cpu
		u.Procs[name] = ProcUsage{Pid: s0.pid, RSSStart: s0.rssBytes, RSSEnd: s1.rssBytes, RSSPeak: max(peak, s0.rssBytes, s1.rssBytes),
			CPUSeconds: cpu, Cores: cpu / secs, Restarted: m.restarted[name]}
	}
	for _, n := range watched {
		add(n, a.procs[n], b.procs[n], m.peak[n])
	}
	add("load", a.self, b.self, 0)
	for _, g := range groups {
		cpu := float64(b.groups[g]-a.groups[g]) / clkTck
		if cpu < 0 {
			cpu = 0
		}
		ours += cpu
		u.Procs[g] = ProcUsage{CPUSeconds: cpu, Cores: cpu / secs}
	}
	if b.tot > a.tot {
		cores := float64(runtime.NumCPU())
		u.MachineCores = float64(b.busy-a.busy) / float64(b.tot-a.tot) * cores
		u.OtherCores = max(0, u.MachineCores-ours/secs)
	}
	return u
}
