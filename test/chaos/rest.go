package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaign-live/campaign-live/pkg/auth"
)

// rest talks to the REST API as two users: the campaigns' owner and a
// backer who contributes and comments.
type rest struct {
	base   string
	owner  string // tokens
	backer string
	client *http.Client
}

func newREST(base string) (*rest, error) {
	secret := os.Getenv("AUTH_JWT_SECRET")
	if secret == "" {
		secret = "local-dev-secret"
	}
	owner, err := auth.Mint([]byte(secret), auth.User{ID: 7001, Username: "chaos-owner"}, 6*time.Hour)
	if err != nil {
		return nil, err
	}
	backer, err := auth.Mint([]byte(secret), auth.User{ID: 7002, Username: "chaos-backer"}, 6*time.Hour)
	if err != nil {
		return nil, err
	}
	return &rest{base: base, owner: owner, backer: backer, client: &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}}, nil
}

func (r *rest) call(ctx context.Context, method, path, tok string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// createCampaigns creates n campaigns and waits until the live view has
// each of them.
func (r *rest) createCampaigns(ctx context.Context, n int, label string) ([]int64, error) {
	ids := make([]int64, 0, n)
	for i := range n {
		var c struct {
			ID int64 `json:"id"`
		}
		status, err := r.call(ctx, "POST", "/api/campaigns", r.owner, map[string]any{
			"title": fmt.Sprintf("chaos %s %d", label, i), "description": "fault injection",
			"goal_amount": "1000000.00", "currency": "USD",
		}, &c)
		if err != nil || status != http.StatusCreated {
			return nil, fmt.Errorf("create campaign: %d %v", status, err)
		}
		ids = append(ids, c.ID)
	}
	deadline := time.Now().Add(120 * time.Second)
	for _, id := range ids {
		for {
			status, _ := r.call(ctx, "GET", fmt.Sprintf("/api/live/campaigns/%d", id), "", nil, nil)
			if status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("campaign %d never reached the live view", id)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	// The writing services know a campaign from their replica of it: write
	// once to each before the watchers come (these events are in their
	// snapshots), so the case's writes are not refused as unknown.
	for _, id := range ids {
		for _, probe := range []struct{ path, body string }{
			{"contributions", `{"amount":"1.00","currency":"USD"}`},
			{"comments", `{"content":"probe"}`},
		} {
			for {
				var body map[string]any
				_ = json.Unmarshal([]byte(probe.body), &body)
				status, _ := r.call(ctx, "POST", fmt.Sprintf("/api/campaigns/%d/%s", id, probe.path), r.backer, body, nil)
				if status == http.StatusCreated {
					break
				}
				if time.Now().After(deadline) {
					return nil, fmt.Errorf("campaign %d: POST %s answers %d", id, probe.path, status)
				}
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	}
	return ids, nil
}

// written is what the REST API accepted, per campaign: "type:id" keys.
type written struct {
	mu     sync.Mutex
	keys   map[int64]map[string]bool
	failed atomic.Int64 // writes not accepted (their events are not expected)
}

func (w *written) add(campaign int64, key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.keys[campaign] == nil {
		w.keys[campaign] = map[string]bool{}
	}
	w.keys[campaign][key] = true
}

func (w *written) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, k := range w.keys {
		n += len(k)
	}
	return n
}

// write issues writes over campaigns at rate per second until stop is
// closed, from a few
// concurrent workers, alternating contributions and comments, spread over
// the campaigns (weights: campaign i gets weight[i] shares; nil = even).
func newWritten() *written { return &written{keys: map[int64]map[string]bool{}} }

// count returns how many writes of campaign were accepted so far.
func (w *written) count(campaign int64) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.keys[campaign])
}

func (r *rest) write(ctx context.Context, w *written, campaigns []int64, weight []int, rate int, stop <-chan struct{}) {
	var schedule []int64
	for i, id := range campaigns {
		n := 1
		if weight != nil {
			n = weight[i]
		}
		for range n {
			schedule = append(schedule, id)
		}
	}
	jobs := make(chan int, 64)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				id := schedule[i%len(schedule)]
				if i%2 == 0 {
					var c struct {
						ID int64 `json:"id"`
					}
					status, err := r.call(ctx, "POST", fmt.Sprintf("/api/campaigns/%d/contributions", id), r.backer,
						map[string]any{"amount": "1.00", "currency": "USD"}, &c)
					if err == nil && status == http.StatusCreated {
						w.add(id, fmt.Sprintf("contribution:%d", c.ID))
						continue
					}
				} else {
					var c struct {
						ID int64 `json:"id"`
					}
					status, err := r.call(ctx, "POST", fmt.Sprintf("/api/campaigns/%d/comments", id), r.backer,
						map[string]any{"content": fmt.Sprintf("chaos %d", i)}, &c)
					if err == nil && status == http.StatusCreated {
						w.add(id, fmt.Sprintf("comment:%d", c.ID))
						continue
					}
				}
				w.failed.Add(1)
			}
		})
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
		case <-stop:
		case <-tick.C:
			select {
			case jobs <- i:
			default: // the API is slower than the rate (a fault): skip, stay bounded
				w.failed.Add(1)
			}
			continue
		}
		break
	}
	close(jobs)
	wg.Wait()
}
