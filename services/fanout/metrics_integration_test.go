//go:build integration

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/services/fanout/internal/testenv"
)

// scrape returns every sample on the ops port's /metrics by its series as
// exposed: name{label="value",...}.
func scrape(t *testing.T, opsAddr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + opsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return samples
}

// TestMetricsAfterApplying: after a few events went through, the ops port
// exposes the consumer's lag per partition, the events applied by type, the
// batch sizes and durations of the transactions, the publish latency and
// the gateway queue depth, with the values those events imply; and pprof.
func TestMetricsAfterApplying(t *testing.T) {
	dsn := testenv.Postgres(t)
	brokers, topic := testenv.Kafka(t, 2)
	group := testenv.Name("fanout-test")
	in := start(t, map[string]string{
		"DATABASE_URL": dsn, "KAFKA_BROKERS": brokers[0], "KAFKA_TOPIC": topic,
		"KAFKA_GROUP": group, "KAFKA_COMMIT_INTERVAL": "100ms",
	})
	defer in.stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := watch(t, ctx, in.client(t), 1, 2)

	var msgs []kafka.Message
	want := map[int64][]string{}
	add := func(campaignID int64, payload proto.Message) {
		e, err := event.New("test", campaignID, time.Now(), payload)
		if err != nil {
			t.Fatal(err)
		}
		b, err := event.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Key: event.Key(campaignID), Value: b})
		if e.GetType() != event.TypeCampaign {
			want[campaignID] = append(want[campaignID], e.GetId())
		}
	}
	user := &campaignv1.User{Id: 9, Username: "ada"}
	for id := int64(1); id <= 2; id++ {
		add(id, &campaignv1.Campaign{Id: id, Title: "c", GoalAmount: "100.00", Currency: "USD", Owner: user, CreatedAt: timestamppb.Now()})
	}
	for i := int64(1); i <= 5; i++ {
		add(1+i%2, &campaignv1.Contribution{Id: i, CampaignId: 1 + i%2, User: user, Amount: "1.00", Currency: "USD", CreatedAt: timestamppb.Now()})
	}
	add(1, &campaignv1.Comment{Id: 1, CampaignId: 1, User: user, Content: "hi", CreatedAt: timestamppb.Now()})
	msgs = append(msgs, kafka.Message{Key: event.Key(2), Value: []byte("not an event")})
	testenv.Produce(t, brokers, topic, msgs...)
	gateway(t, w, want)

	// Counters move just before or after each push: wait for the last.
	wantExact := map[string]float64{
		`fanout_events_applied_total{type="campaign"}`:                   2,
		`fanout_events_applied_total{type="contribution"}`:               5,
		`fanout_events_applied_total{type="comment"}`:                    1,
		`fanout_records_skipped_total{reason="undecodable"}`:             1,
		`fanout_apply_batch_size_sum`:                                    8,
		`fanout_publish_latency_seconds_count`:                           6,
		`fanout_publish_latency_seconds_bucket{le="10"}`:                 6,
		fmt.Sprintf(`kafka_consumer_lag{group=%q,partition="0"}`, group): 0,
		fmt.Sprintf(`kafka_consumer_lag{group=%q,partition="1"}`, group): 0,
	}
	var got map[string]float64
	for deadline := time.Now().Add(30 * time.Second); ; {
		got = scrape(t, in.opsAddr)
		var wrong []string
		for series, v := range wantExact {
			if g, ok := got[series]; !ok || g != v {
				wrong = append(wrong, fmt.Sprintf("%s = %v (exposed %v), want %v", series, g, ok, v))
			}
		}
		// A batch's size and its duration are two records: a scrape can
		// fall between them.
		if b, d := got["fanout_apply_batch_size_count"], got["fanout_apply_duration_seconds_count"]; b != d {
			wrong = append(wrong, fmt.Sprintf("%v batches, %v transactions timed; want one duration each", b, d))
		}
		if len(wrong) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics after 8 events, 1 undecodable record:\n%s", strings.Join(wrong, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}

	batches := got["fanout_apply_batch_size_count"]
	if batches < 1 || batches > 8 || got["fanout_apply_duration_seconds_count"] != batches {
		t.Errorf("%v batches, %v transactions timed; want 1 to 8, one duration each",
			batches, got["fanout_apply_duration_seconds_count"])
	}
	if d := got["fanout_apply_duration_seconds_sum"]; d <= 0 || d > 60 {
		t.Errorf("transactions took %v s in all, want a positive time under a minute", d)
	}
	if l := got["fanout_publish_latency_seconds_sum"]; l <= 0 || l > 6*10 {
		t.Errorf("publish latencies sum to %v s over 6 events, want positive and each under 10 s", l)
	}
	depths := 0
	for series, v := range got {
		if strings.HasPrefix(series, `fanout_gateway_queue_depth{gateway="127.0.0.1:`) {
			depths++
			if v < 0 || v > 4096 {
				t.Errorf("%s = %v, want 0..GATEWAY_QUEUE", series, v)
			}
		}
	}
	if depths != 1 {
		t.Errorf("%d fanout_gateway_queue_depth series, want 1 for the one Watch stream", depths)
	}

	resp, err := http.Get("http://" + in.opsAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Errorf("GET /debug/pprof/goroutine = %d %.80s", resp.StatusCode, body)
	}
}
