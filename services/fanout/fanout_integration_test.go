//go:build integration

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/services/fanout/internal/testenv"
)

// instance is one running fanout process (run), on free ports.
type instance struct {
	grpcAddr, httpAddr, opsAddr string
	cancel                      context.CancelFunc
	errc                        chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs fanout with env on free ports and waits until it is ready.
// The ports are free when picked but bound by run a moment later, when
// another process may have taken one: run then exits, and start picks
// again.
func start(t *testing.T, env map[string]string) *instance {
	t.Helper()
	for attempt := 1; ; attempt++ {
		in, err := startOnce(t, env)
		if err == nil {
			return in
		}
		if !errors.Is(err, syscall.EADDRINUSE) || attempt == 5 {
			t.Fatalf("fanout exited at start: %v", err)
		}
		t.Logf("fanout exited at start, picking other ports: %v", err)
	}
}

// startOnce is one try of start: the error is run's, if it exited.
func startOnce(t *testing.T, env map[string]string) (*instance, error) {
	t.Helper()
	in := &instance{grpcAddr: freeAddr(t), httpAddr: freeAddr(t), opsAddr: freeAddr(t), errc: make(chan error, 1)}
	env["GRPC_ADDR"], env["HTTP_ADDR"], env["OPS_ADDR"] = in.grpcAddr, in.httpAddr, in.opsAddr
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { in.errc <- run(ctx, log) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + in.opsAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return in, nil
			}
		}
		select {
		case err := <-in.errc:
			cancel()
			if err == nil {
				err = errors.New("run returned before it was ready")
			}
			return nil, err
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("fanout not ready after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends the equivalent of SIGTERM and waits for a clean exit.
func (in *instance) stop(t *testing.T) {
	t.Helper()
	in.cancel()
	select {
	case err := <-in.errc:
		if err != nil {
			t.Fatalf("fanout exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("fanout did not stop in 30s")
	}
}

func (in *instance) client(t *testing.T) campaignv1.FanoutClient {
	t.Helper()
	conn, err := grpc.NewClient(in.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return campaignv1.NewFanoutClient(conn)
}

func watch(t *testing.T, ctx context.Context, c campaignv1.FanoutClient, ids ...int64) grpc.BidiStreamingClient[campaignv1.WatchRequest, campaignv1.WatchResponse] {
	t.Helper()
	w, err := c.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(&campaignv1.WatchRequest{Kind: &campaignv1.WatchRequest_Subscribe{
		Subscribe: &campaignv1.Subscribe{Seq: 1, CampaignIds: ids}}}); err != nil {
		t.Fatal(err)
	}
	m, err := w.Recv()
	if err != nil || m.GetSubscribed().GetSeq() != 1 {
		t.Fatalf("first message %v, %v; want Subscribed{1}", m, err)
	}
	return w
}

// gateway receives like a gateway: it drops a delivery at or before the last
// position it has for the campaign, and returns each campaign's event ids in
// the order first received, once all of want's ids arrived.
func gateway(t *testing.T, w grpc.BidiStreamingClient[campaignv1.WatchRequest, campaignv1.WatchResponse], want map[int64][]string) (map[int64][]string, map[int64]cursor.Position, map[cursor.Position]string) {
	t.Helper()
	got := map[int64][]string{}
	last := map[int64]cursor.Position{}
	seen := map[cursor.Position]string{}
	total := 0
	for _, ids := range want {
		total += len(ids)
	}
	for n := 0; n < total; {
		m, err := w.Recv()
		if err != nil {
			t.Fatalf("Recv after %d of %d events: %v (got %v)", n, total, err, got)
		}
		d := m.GetDelivery()
		p := cursor.FromPB(d.GetPosition())
		if id, ok := seen[p]; ok {
			if id != d.GetEventId() {
				t.Fatalf("position %v carried %s and then %s", p, id, d.GetEventId())
			}
			continue // a replay: dropped by position
		}
		if l, ok := last[d.GetCampaignId()]; ok && !l.Less(p) {
			t.Fatalf("campaign %d: new event %s at %v after %v: reordered", d.GetCampaignId(), d.GetEventId(), p, l)
		}
		var frame struct{ Type, Cursor, EventID string }
		if err := json.Unmarshal(d.GetFrame(), &struct {
			Type    *string `json:"type"`
			Cursor  *string `json:"cursor"`
			EventID *string `json:"event_id"`
		}{&frame.Type, &frame.Cursor, &frame.EventID}); err != nil {
			t.Fatalf("frame %s: %v", d.GetFrame(), err)
		}
		if frame.Type != d.GetEventType() || frame.Cursor != cursor.Encode(p) || frame.EventID != d.GetEventId() {
			t.Fatalf("frame %s does not match delivery %v", d.GetFrame(), d)
		}
		seen[p] = d.GetEventId()
		last[d.GetCampaignId()] = p
		got[d.GetCampaignId()] = append(got[d.GetCampaignId()], d.GetEventId())
		n++
	}
	return got, last, seen
}

func TestEndToEndThroughKafka(t *testing.T) {
	dsn := testenv.Postgres(t)
	brokers, topic := testenv.Kafka(t, 3)
	env := map[string]string{
		"DATABASE_URL": dsn, "KAFKA_BROKERS": brokers[0], "KAFKA_TOPIC": topic,
		"KAFKA_GROUP": testenv.Name("fanout-test"), "KAFKA_COMMIT_INTERVAL": "100ms", "RECENT_ITEMS": "50",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	first := start(t, env)
	client := first.client(t)
	w := watch(t, ctx, client, 1, 2) // before anything is produced

	// Campaign 1 and 2, their items, one event published twice, and a record
	// that is not an event.
	at := time.Now().UTC()
	var msgs []kafka.Message
	want := map[int64][]string{}
	republish := map[int64]kafka.Message{} // each campaign's last item, for later
	add := func(campaignID int64, payload proto.Message) kafka.Message {
		e, err := event.New("test", campaignID, at, payload)
		if err != nil {
			t.Fatal(err)
		}
		b, err := event.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		m := kafka.Message{Key: event.Key(campaignID), Value: b}
		msgs = append(msgs, m)
		if e.GetType() != event.TypeCampaign {
			want[campaignID] = append(want[campaignID], e.GetId())
			republish[campaignID] = m
		}
		return m
	}
	user := &campaignv1.User{Id: 9, Username: "ada"}
	for id := int64(1); id <= 2; id++ {
		add(id, &campaignv1.Campaign{Id: id, Title: fmt.Sprint("campaign ", id), GoalAmount: "100.00", Currency: "USD",
			Owner: user, CreatedAt: timestamppb.New(at)})
	}
	var twice kafka.Message
	for i := int64(1); i <= 20; i++ {
		amount := []string{"0.10", "0.20"}[i%2]
		m := add(1+i%2, &campaignv1.Contribution{Id: i, CampaignId: 1 + i%2, User: user, Amount: amount, Currency: "USD",
			CreatedAt: timestamppb.New(at)})
		if i == 5 {
			twice = m
		}
		add(1+i%2, &campaignv1.Comment{Id: i, CampaignId: 1 + i%2, User: user, Content: "hi", CreatedAt: timestamppb.New(at)})
	}
	add(1, &campaignv1.Milestone{Id: 1, CampaignId: 1, Title: "half", TargetAmount: "0.50", Status: "reached",
		ReachedAt: timestamppb.New(at), CreatedAt: timestamppb.New(at)})
	msgs = append(msgs, twice, kafka.Message{Key: event.Key(1), Value: []byte("not an event")})

	testenv.Produce(t, brokers, topic, msgs...)

	got, last, positions := gateway(t, w, want)
	for id, ids := range want {
		if fmt.Sprint(got[id]) != fmt.Sprint(ids) {
			t.Fatalf("campaign %d: received\n%v\nwant, once each and in order,\n%v", id, got[id], ids)
		}
	}

	// The snapshot agrees with the stream: every event in it, and a position
	// at or past the last one delivered.
	// The duplicate publish comes after the last new delivery: wait until the
	// view has taken it (its position moves on, its totals do not).
	dupCampaign := int64(2) // contribution 5
	deadline := time.Now().Add(30 * time.Second)
	for {
		snap, err := client.Snapshot(ctx, &campaignv1.SnapshotRequest{CampaignId: dupCampaign})
		if err != nil {
			t.Fatal(err)
		}
		if last[dupCampaign].Less(cursor.FromPB(snap.GetPosition())) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the view never took the duplicate publish: still at %v", snap.GetPosition())
		}
		time.Sleep(20 * time.Millisecond)
	}

	snaps := map[int64]*campaignv1.SnapshotResponse{}
	for id := int64(1); id <= 2; id++ {
		snap, err := client.Snapshot(ctx, &campaignv1.SnapshotRequest{CampaignId: id})
		if err != nil {
			t.Fatal(err)
		}
		if !snap.GetFound() {
			t.Fatalf("campaign %d not found", id)
		}
		var frame struct {
			Data struct {
				RaisedAmount      string `json:"raised_amount"`
				ContributionCount int    `json:"contribution_count"`
				Comments          []any  `json:"comments"`
			} `json:"data"`
		}
		if err := json.Unmarshal(snap.GetFrame(), &frame); err != nil {
			t.Fatal(err)
		}
		d := frame.Data
		p := cursor.FromPB(snap.GetPosition())
		if p.Less(last[id]) {
			t.Fatalf("campaign %d: snapshot at %v is before the last delivery at %v", id, p, last[id])
		}
		wantRaised := map[int64]string{1: "1.00", 2: "2.00"}[id] // ten of 0.10 / ten of 0.20
		if d.RaisedAmount != wantRaised || d.ContributionCount != 10 || len(d.Comments) != 10 {
			t.Fatalf("campaign %d: raised %s from %d contributions, %d comments; want %s, 10, 10",
				id, d.RaisedAmount, d.ContributionCount, len(d.Comments), wantRaised)
		}
		snaps[id] = snap

		// The REST view is the same bytes.
		resp, err := http.Get(fmt.Sprintf("http://%s/api/live/campaigns/%d", first.httpAddr, id))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != string(snap.GetFrame()) {
			t.Fatalf("GET campaign %d = %d %s\nwant the Snapshot frame %s", id, resp.StatusCode, body, snap.GetFrame())
		}
	}

	// SIGTERM: the stream ends with Unavailable so the gateway reconnects.
	// Before that it may still carry the duplicate's replay.
	first.stop(t)
	for {
		m, err := w.Recv()
		if err != nil {
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("Watch after shutdown: %v, want Unavailable", err)
			}
			break
		}
		if p := cursor.FromPB(m.GetDelivery().GetPosition()); last[m.GetDelivery().GetCampaignId()].Less(p) {
			t.Fatalf("a new delivery at %v after every event was delivered", p)
		}
	}

	// A new consumer group reads the whole topic again, as after losing its
	// offsets: every event is a duplicate, pushed again at its first
	// position, and the view's data does not change by a byte. It may
	// replay some before we subscribe, so we also republish one event per
	// campaign after subscribing: its replay, and the view's position moving
	// past it, show the partition was read to the end.
	env["KAFKA_GROUP"] = testenv.Name("fanout-test")
	second := start(t, env)
	defer second.stop(t)
	client = second.client(t)
	w = watch(t, ctx, client, 1, 2)
	testenv.Produce(t, brokers, topic, republish[1], republish[2])
	pending := map[int64]string{}
	for id, m := range republish {
		e, _ := event.Unmarshal(m.Value)
		pending[id] = e.GetId()
	}
	for len(pending) > 0 {
		m, err := w.Recv()
		if err != nil {
			t.Fatalf("Recv during the replay: %v", err)
		}
		d := m.GetDelivery()
		p := cursor.FromPB(d.GetPosition())
		if positions[p] != d.GetEventId() {
			t.Fatalf("replay of %s at %v, first delivered there: %q", d.GetEventId(), p, positions[p])
		}
		if pending[d.GetCampaignId()] == d.GetEventId() {
			delete(pending, d.GetCampaignId())
		}
	}
	for id, before := range snaps {
		var snap *campaignv1.SnapshotResponse
		for deadline := time.Now().Add(30 * time.Second); ; {
			var err error
			if snap, err = client.Snapshot(ctx, &campaignv1.SnapshotRequest{CampaignId: id}); err != nil {
				t.Fatal(err)
			}
			if cursor.FromPB(before.GetPosition()).Less(cursor.FromPB(snap.GetPosition())) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("campaign %d: the view never took the republished event", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got, was := dataOf(t, snap.GetFrame()), dataOf(t, before.GetFrame()); got != was {
			t.Fatalf("campaign %d changed on replay:\n%s\nwas\n%s", id, got, was)
		}
	}
}

func dataOf(t *testing.T, frame []byte) string {
	t.Helper()
	var f struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(frame, &f); err != nil {
		t.Fatal(err)
	}
	return string(f.Data)
}
