package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaign-live/campaign-live/pkg/auth"
)

// api is the REST side: tokens for many users, one keep-alive client.
type api struct {
	base   string
	writes string // base URL of contribution writes
	client *http.Client
	owner  string   // token of the campaigns' owner
	tokens []string // writers' tokens; write seq uses tokens[seq%len]
}

// Users of this tool have ids far above any test's, so their rate-limit
// buckets are their own.
const (
	ownerID     = 990_000_000
	firstUserID = 990_000_001
)

func newAPI(cfg *config, conns int) (*api, error) {
	mint := func(id int64, name string) (string, error) {
		return auth.Mint([]byte(cfg.secret), auth.User{ID: id, Username: name}, 2*time.Hour)
	}
	owner, err := mint(ownerID, "load-owner")
	if err != nil {
		return nil, err
	}
	a := &api{base: cfg.APIURL, writes: cfg.WriteAPIURL, owner: owner}
	for i := range cfg.Users {
		t, err := mint(int64(firstUserID+i), "load"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		a.tokens = append(a.tokens, t)
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		Proxy:               nil,
	}
	a.client = &http.Client{Transport: tr, Timeout: 15 * time.Second}
	return a, nil
}

func (a *api) post(ctx context.Context, path, token string, body []byte) (int, []byte, error) {
	return a.postTo(ctx, a.base, path, token, body)
}

func (a *api) postTo(ctx context.Context, base, path, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b, err
}

// createCampaigns creates n public campaigns, 16 at a time.
func (a *api) createCampaigns(ctx context.Context, workload string, n int) ([]int64, error) {
	ids := make([]int64, n)
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		mu    sync.Mutex
		first error
	)
	for range min(16, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				body := fmt.Appendf(nil, `{"title":"load %s #%d","description":"made by tools/cmd/load","goal_amount":"1000000000.00","currency":"USD"}`, workload, i)
				code, b, err := a.post(ctx, "/api/campaigns", a.owner, body)
				var c struct {
					ID int64 `json:"id"`
				}
				if err == nil && code != http.StatusCreated {
					err = fmt.Errorf("POST /api/campaigns: HTTP %d: %.200s", code, b)
				}
				if err == nil {
					err = json.Unmarshal(b, &c)
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				ids[i] = c.ID
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return ids, ctx.Err()
}

// waitLive waits until fanout serves every campaign's live view: then a
// socket gets its campaign_data rather than 4404.
func (a *api) waitLive(ctx context.Context, ids []int64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, id := range ids {
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/live/campaigns/%d", a.base, id), nil)
			resp, err := a.client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("campaign %d never appeared in the live view: %w", id, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// prime writes one contribution to every campaign before any socket
// opens, retrying 404s: the contribution service learns of a campaign from
// the topic (its replica), and under load that can take longer than its
// own short wait. The writes take sequence numbers no watcher expects.
func (st *state) prime(ctx context.Context, a *api) error {
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		mu    sync.Mutex
		first error
	)
	n := len(st.campaignIDs)
	for range min(16, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ci := int(next.Add(1) - 1)
				if ci >= n || ctx.Err() != nil {
					return
				}
				seq := st.seq.Add(1)
				body := fmt.Appendf(nil, `{"amount":"%d.%02d","currency":"USD"}`, seq/100, seq%100)
				path := "/api/campaigns/" + strconv.FormatInt(st.campaignIDs[ci], 10) + "/contributions"
				// A previous run's backlog can keep the replica behind for
				// minutes: wait it out rather than measure on top of it.
				deadline := time.Now().Add(3 * time.Minute)
				for {
					code, b, err := a.postTo(ctx, a.writes, path, a.tokens[seq%int64(len(a.tokens))], body)
					if err == nil && code == http.StatusCreated {
						break
					}
					if err == nil && code != http.StatusNotFound {
						err = fmt.Errorf("prime campaign %d: HTTP %d: %.200s", st.campaignIDs[ci], code, b)
					}
					if err == nil && time.Now().After(deadline) {
						err = fmt.Errorf("prime campaign %d: still 404 after 3 minutes", st.campaignIDs[ci])
					}
					if err != nil {
						mu.Lock()
						if first == nil {
							first = err
						}
						mu.Unlock()
						return
					}
					sleepCtx(ctx, 100*time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// waitApplied waits until fanout's live view of every campaign counts at
// least one contribution (the priming one): then no earlier backlog is
// left in its consumer to be measured as this run's latency.
func (a *api) waitApplied(ctx context.Context, ids []int64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, id := range ids {
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/live/campaigns/%d", a.base, id), nil)
			resp, err := a.client.Do(req)
			if err == nil {
				var v struct {
					Data struct {
						Count int64 `json:"contribution_count"`
					} `json:"data"`
				}
				derr := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&v)
				_ = resp.Body.Close()
				if derr == nil && resp.StatusCode == http.StatusOK && v.Data.Count > 0 {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("campaign %d: the live view never showed its first contribution: %w", id, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// writeStats counts the write side.
type writeStats struct {
	attempted, acked, failed, skipped atomic.Int64
	mu                                sync.Mutex
	errs                              map[string]int
	httpLat                           *shardedHist
}

func (ws *writeStats) fail(msg string) {
	ws.failed.Add(1)
	ws.mu.Lock()
	if ws.errs == nil {
		ws.errs = map[string]int{}
	}
	if len(ws.errs) < 20 {
		ws.errs[msg]++
	} else {
		ws.errs["(other)"]++
	}
	ws.mu.Unlock()
}

// write posts one contribution of seq cents to campaign index ci; it
// returns whether the API answered 201.
func (st *state) write(ctx context.Context, a *api, ws *writeStats, seq int64, ci int32, writer int) bool {
	st.local[seq].Store(st.nextLocal[ci].Add(1) - 1)
	st.camp[seq].Store(ci + 1)
	n := st.watchersOf[ci]
	st.pending[seq].Store(n)
	st.outstanding.Add(int64(n))
	if writer >= 0 {
		st.waiter[seq].Store(int32(writer + 1))
	}
	body := fmt.Appendf(nil, `{"amount":"%d.%02d","currency":"USD"}`, seq/100, seq%100)
	path := "/api/campaigns/" + strconv.FormatInt(st.campaignIDs[ci], 10) + "/contributions"
	ws.attempted.Add(1)
	start := st.now()
	st.startNs[seq].Store(start)
	code, b, err := a.postTo(ctx, a.writes, path, a.tokens[seq%int64(len(a.tokens))], body)
	if ws.httpLat != nil {
		ws.httpLat.record(int(seq), time.Duration(st.now()-start))
	}
	if err == nil && code != http.StatusCreated {
		err = fmt.Errorf("HTTP %d", code)
	}
	var c struct {
		ID int64 `json:"id"`
	}
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		if ctx.Err() == nil {
			ws.fail(trimErr(err))
		}
		// Its receipts are no longer expected (one that arrives anyway is
		// counted as received, never as loss).
		if left := st.pending[seq].Swap(poisoned); left > 0 {
			st.outstanding.Add(-int64(left))
		}
		return false
	}
	st.ids[seq].Store(c.ID)
	st.acked[seq].Store(true)
	ws.acked.Add(1)
	return true
}

func trimErr(err error) string {
	// Without the URL, so that one failure on many campaigns is one line:
	// "POST: EOF", not a line per campaign.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s: %w", strings.ToUpper(ue.Op), ue.Err)
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
