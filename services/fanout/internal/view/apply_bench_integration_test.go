//go:build integration

package view_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
	"github.com/campaign-live/campaign-live/services/fanout/internal/testenv"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

// benchTopic is a W2-like stream: campaigns campaigns spread over
// partitions partitions (by id, as a key hash would), whose contributions
// arrive interleaved across partitions in topic-read order.
type benchTopic struct {
	partitions int
	next       []int64 // next offset per partition
}

func (bt *benchTopic) at(campaignID int64) cursor.Position {
	p := int(campaignID % int64(bt.partitions))
	o := bt.next[p]
	bt.next[p]++
	return cursor.Position{Epoch: 1, Partition: int32(p), Offset: o}
}

// BenchmarkApply applies contributions over 500 campaigns in 12
// partitions to a real Postgres, in transactions of batch events (batch=1
// is one event per transaction, as the consumer did before batching), and
// reports events/s, the WAL written and the CPU the Postgres server spent
// per event. Timings swing with the disk's flushes; WAL and server CPU do
// not. It is a measurement, not a test: run it with
//
//	go test -tags integration -run '^$' -bench Apply -benchtime 3000x ./internal/view/
func BenchmarkApply(b *testing.B) {
	for _, batch := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) { benchmarkApply(b, batch) })
	}
}

func benchmarkApply(b *testing.B, batch int) {
	const campaigns = 500
	ctx := context.Background()
	// The pool's connections are named, so their server processes can be
	// found and their CPU read.
	app := testenv.Name("fanout_bench")
	pool, err := pgdb.Connect(ctx, testenv.Postgres(b)+"&application_name="+app, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil)), view.Migrations()); err != nil {
		b.Fatal(err)
	}
	s := view.NewStore(pool, 20)
	bt := &benchTopic{partitions: 12, next: make([]int64, 12)}
	at := time.Now().UTC()
	var setup []view.Record
	for id := int64(1); id <= campaigns; id++ {
		e, err := event.New("bench", id, at, &campaignv1.Campaign{Id: id, Title: "bench", GoalAmount: "1000.00",
			Currency: "USD", Owner: &campaignv1.User{Id: 1, Username: "ada"}, CreatedAt: timestamppb.New(at)})
		if err != nil {
			b.Fatal(err)
		}
		setup = append(setup, view.Record{Event: e, At: bt.at(id)})
	}
	if _, err := s.ApplyBatch(ctx, setup); err != nil {
		b.Fatal(err)
	}
	recs := make([]view.Record, b.N)
	for i := range recs {
		id := int64(1 + (i*7919)%campaigns)
		e, err := event.New("bench", id, at, &campaignv1.Contribution{Id: int64(i + 1), CampaignId: id,
			User: &campaignv1.User{Id: 5, Username: "bob"}, Amount: "10.50", Currency: "USD", CreatedAt: timestamppb.New(at)})
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = view.Record{Event: e, At: bt.at(id)}
	}
	var lsn string
	if err := pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		b.Fatal(err)
	}
	cpu := serverCPU(b, pool, app)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(recs); i += batch {
		if _, err := s.ApplyBatch(ctx, recs[i:min(i+batch, len(recs))]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.StopTimer()
	// WAL is the cluster's: other databases' writes count too, so read it
	// on a quiet server.
	var wal float64
	if err := pool.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)`, lsn).Scan(&wal); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(wal/float64(b.N), "WAL-bytes/event")
	if cpu >= 0 {
		b.ReportMetric(float64((serverCPU(b, pool, app)-cpu).Microseconds())/float64(b.N), "pg-cpu-µs/event")
	}
}

// serverCPU returns the CPU time (user and system) the server processes of
// the connections named app have used, or -1 when they cannot be read
// (Postgres on another machine).
func serverCPU(b *testing.B, pool *pgxpool.Pool, app string) time.Duration {
	b.Helper()
	rows, err := pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		b.Fatal(err)
	}
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		pids = append(pids, pid)
	}
	rows.Close()
	var ticks int64
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return -1
		}
		// Fields after the command name: utime and stime are the 12th
		// and 13th, in clock ticks (USER_HZ, 100 on Linux).
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += utime + stime
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
