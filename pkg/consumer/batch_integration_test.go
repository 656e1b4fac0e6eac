//go:build integration

package consumer_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/campaign-live/campaign-live/pkg/consumer"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/testkit"
)

// TestBatchAppliesEachRecordOnce: a batch over three partitions applies
// every wanted record once and in order per partition; the same batch
// again (a redelivery after a crash before the Kafka commit) and a batch
// overlapping it apply nothing twice; a handler failure applies nothing of
// its batch.
func TestBatchAppliesEachRecordOnce(t *testing.T) {
	pool, _ := testkit.DB(t, consumer.Migrations())
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE applied (seq serial, partition int, event_id text)`); err != nil {
		t.Fatal(err)
	}
	failOn := ""
	c := consumer.New(consumer.Config{Topic: "t", Group: "g", Pool: pool, Log: slog.New(slog.DiscardHandler),
		Types: []string{"comment"},
		Handler: func(ctx context.Context, tx pgx.Tx, e *campaignv1.Event) error {
			if e.GetId() == failOn {
				return errors.New("handler failed")
			}
			_, err := tx.Exec(ctx, `INSERT INTO applied (partition, event_id) VALUES ($1, $2)`, e.GetCampaignId()%3, e.GetId())
			return err
		}})
	record := func(i int, typ string) kafka.Message {
		campaign := int64(i%3 + 3)
		e, _ := event.New("comment", campaign, time.Now(), &campaignv1.Comment{Id: int64(i), CampaignId: campaign, Content: "x"})
		v, _ := event.Marshal(e)
		return kafka.Message{Topic: "t", Partition: int(campaign % 3), Offset: int64(i / 3), Value: v,
			Headers: []kafka.Header{{Key: event.HeaderType, Value: []byte(typ)}}}
	}
	var batch []kafka.Message
	for i := range 30 {
		typ := "comment"
		if i%5 == 0 {
			typ = "contribution" // not wanted: no effect, and no transaction of its own
		}
		batch = append(batch, record(i, typ))
	}
	count := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM applied`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := c.ApplyBatch(ctx, batch[:20]); err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyBatch(ctx, batch[:20]); err != nil { // redelivered
		t.Fatal(err)
	}
	if n := count(); n != 16 {
		t.Fatalf("after a batch and its redelivery: %d applied, want the 16 wanted records once", n)
	}
	e, _ := event.Unmarshal(batch[23].Value)
	failOn = e.GetId()
	if err := c.ApplyBatch(ctx, batch[10:]); err == nil {
		t.Fatal("a batch whose handler failed reported success")
	}
	if n := count(); n != 16 {
		t.Fatalf("a failed batch left %d records applied, want none of it (16 in all)", n)
	}
	failOn = ""
	if err := c.ApplyBatch(ctx, batch[10:]); err != nil { // overlaps the first batch
		t.Fatal(err)
	}
	if n := count(); n != 24 {
		t.Fatalf("after the overlapping batch: %d applied, want all 24 wanted records once", n)
	}
	rows, err := pool.Query(ctx, `SELECT partition, event_id FROM applied ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	order := map[int][]string{}
	for rows.Next() {
		var p int
		var id string
		_ = rows.Scan(&p, &id)
		order[p] = append(order[p], id)
	}
	for _, m := range batch {
		if string(m.Headers[0].Value) != "comment" {
			continue
		}
		e, _ := event.Unmarshal(m.Value)
		p := int(e.GetCampaignId() % 3)
		if len(order[p]) == 0 || order[p][0] != e.GetId() {
			t.Fatalf("partition %d applied out of order at %s: %v", p, e.GetId(), order[p])
		}
		order[p] = order[p][1:]
	}
}
