package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// system is the running campaign-live on this machine.
type system struct {
	repo   string            // repository root
	env    map[string]string // .run/stack.env
	logDir string
	api    string // REST base URL (devedge)

	mu    sync.Mutex
	procs map[string]*proc // started by us, by name
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func newSystem(repo, api string) (*system, error) {
	s := &system{repo: repo, api: api, logDir: filepath.Join(repo, ".run", "log"), procs: map[string]*proc{}}
	env, err := readEnv(filepath.Join(repo, ".run", "stack.env"))
	if err != nil {
		return nil, fmt.Errorf("the stack is not up (make run): %w", err)
	}
	s.env = env
	for _, bin := range []string{"fanout", "gateway"} {
		if _, err := os.Stat(filepath.Join(repo, "bin", bin)); err != nil {
			return nil, fmt.Errorf("bin/%s: %w (make run builds it)", bin, err)
		}
	}
	return s, nil
}

// readEnv reads `export KEY='value'` lines.
func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		env[k] = strings.Trim(v, `'"`)
	}
	return env, sc.Err()
}

// script runs a project script (scripts/...), its output in the chaos log.
func (s *system) script(ctx context.Context, args ...string) error {
	log, err := os.OpenFile(filepath.Join(s.logDir, "chaos-scripts.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "\n== %s %s\n", time.Now().Format(time.RFC3339), strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(s.repo, args[0])}, args[1:]...)...)
	cmd.Dir = s.repo
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w (see %s)", strings.Join(args, " "), err, log.Name())
	}
	return nil
}

// pidOf reads the pid of a service started by scripts/run.sh.
func (s *system) pidOf(name string) (int, error) {
	b, err := os.ReadFile(filepath.Join(s.repo, ".run", "pid", name+".pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// kill sends sig to the run.sh service name and, for SIGKILL, waits until
// it is gone.
func (s *system) kill(name string, sig syscall.Signal) error {
	pid, err := s.pidOf(name)
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("kill %s (%d): %w", name, pid, err)
	}
	for range 300 {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s (%d) still runs", name, pid)
}

// start runs bin/<binary> as name with the stack's environment plus env,
// logging to .run/log/chaos-<name>.log, and waits until it is ready on
// ports[0] (its ops port). Every port must be free first: the machine is
// shared, and a readiness answer from someone else's process would make a
// case test the wrong thing.
func (s *system) start(ctx context.Context, name, binary string, ports []int, env map[string]string) (*proc, error) {
	for _, port := range ports {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return nil, fmt.Errorf("start %s: port %d is taken (another process? pass -port-base): %w", name, port, err)
		}
		_ = ln.Close()
	}
	opsPort := ports[0]
	log, err := os.OpenFile(filepath.Join(s.logDir, "chaos-"+name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(s.repo, "bin", binary))
	cmd.Dir = s.repo
	cmd.Env = os.Environ()
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: a Ctrl-C of the suite reaches it only through
	// our cleanup, which stops it properly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	s.mu.Lock()
	s.procs[name] = p
	s.mu.Unlock()
	err = waitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", opsPort), 60*time.Second, p.done)
	if err == nil {
		select {
		case <-p.done:
			err = errors.New("exited right after it answered ready")
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err != nil {
		_, _ = s.stop(name, syscall.SIGKILL, time.Second)
		return nil, fmt.Errorf("%s: %w (log: %s)", name, err, log.Name())
	}
	return p, nil
}

// stop signals one of our processes and waits up to grace for it to exit,
// then kills it. It returns how long it took to exit after sig.
func (s *system) stop(name string, sig syscall.Signal, grace time.Duration) (time.Duration, error) {
	s.mu.Lock()
	p := s.procs[name]
	delete(s.procs, name)
	s.mu.Unlock()
	if p == nil {
		return 0, nil
	}
	began := time.Now()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return time.Since(began), nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return time.Since(began), fmt.Errorf("%s did not exit within %s of %s", name, grace, sig)
	}
}

// stopAll stops every process we started (SIGTERM, then KILL).
func (s *system) stopAll() {
	s.mu.Lock()
	var names []string
	for n := range s.procs {
		names = append(names, n)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Go(func() { _, _ = s.stop(n, syscall.SIGTERM, 30*time.Second) })
	}
	wg.Wait()
}

func waitReady(ctx context.Context, url string, timeout time.Duration, dead <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s", url, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-dead:
			return errors.New("exited before it was ready")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// healthy waits until every standard service answers ready: the normal
// state every case starts from and returns to.
func (s *system) healthy(ctx context.Context, timeout time.Duration) error {
	for _, port := range []int{9101, 9102, 9103, 9104, 9105, 9106} {
		if err := waitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", port), timeout, nil); err != nil {
			return err
		}
	}
	return nil
}

// services are the processes of scripts/run.sh, in its start order.
var services = []string{"content", "contribution", "comment", "milestone", "fanout", "gateway", "devedge"}

// revive restarts the services of scripts/run.sh that have exited, as a
// kubelet would restart a crashed pod, and returns their names.
func (s *system) revive(ctx context.Context) ([]string, error) {
	var dead []string
	for _, name := range services {
		pid, err := s.pidOf(name)
		if err != nil || syscall.Kill(pid, 0) != nil {
			dead = append(dead, name)
			if err := s.script(ctx, "scripts/run.sh", "restart", name); err != nil {
				return dead, err
			}
		}
	}
	return dead, nil
}

// restore brings back anything of the standard system a case left down.
func (s *system) restore(ctx context.Context) error {
	if err := s.script(ctx, "scripts/stack/stack.sh", "up"); err != nil {
		return err
	}
	if _, err := s.revive(ctx); err != nil {
		return err
	}
	return s.healthy(ctx, 60*time.Second)
}
