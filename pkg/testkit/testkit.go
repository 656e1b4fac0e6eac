// Package testkit gives integration tests their own scratch resources on the
// real local stack: a fresh Postgres database and a fresh Kafka topic per
// test, dropped afterwards, so tests never see each other's data and can run
// while `make run` is up. Only tests import it.
//
// It reads the stack's settings from the environment that
// scripts/stack/stack.sh writes to .run/stack.env, and skips the test with
// a clear message when they are missing.
package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/kafkax"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
	"github.com/campaign-live/campaign-live/pkg/replica"
)

var seq atomic.Int64

func unique(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, time.Now().UnixNano(), seq.Add(1))
}

// DB creates a database of its own for one test, applies sets, and drops
// the database when the test ends. It returns the pool and the database's URL.
func DB(t testing.TB, sets ...pgdb.Migrations) (*pgxpool.Pool, string) {
	t.Helper()
	dsn := os.Getenv("DATABASE_URL_CONTENT")
	if dsn == "" {
		t.Skip("DATABASE_URL_CONTENT is not set: run scripts/stack/stack.sh up and source .run/stack.env")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the local Postgres: %v", err)
	}
	defer admin.Close(ctx)
	name := unique("test")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	cfg, _ := pgxpool.ParseConfig(dsn)
	cfg.ConnConfig.Database = name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Close()
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	if err := pgdb.Migrate(ctx, pool, slog.New(slog.DiscardHandler), sets...); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("DATABASE_URL_CONTENT is not a URL: %v", err)
	}
	u.Path = "/" + name
	return pool, u.String()
}

// Brokers returns the local Kafka's brokers, or skips the test.
func Brokers(t testing.TB) []string {
	t.Helper()
	b := os.Getenv("KAFKA_BROKERS")
	if b == "" {
		t.Skip("KAFKA_BROKERS is not set: run scripts/stack/stack.sh up and source .run/stack.env")
	}
	return strings.Split(b, ",")
}

// Topic creates a topic of its own for one test and deletes it after.
func Topic(t testing.TB, partitions int) (brokers []string, topic string) {
	t.Helper()
	brokers = Brokers(t)
	topic = strings.ReplaceAll(unique("test"), "_", "-")
	controller := func() *kafka.Conn {
		conn, err := kafka.Dial("tcp", brokers[0])
		if err != nil {
			t.Fatalf("dial kafka: %v", err)
		}
		defer conn.Close()
		ctl, err := conn.Controller()
		if err != nil {
			t.Fatalf("find the controller: %v", err)
		}
		cc, err := kafka.Dial("tcp", net.JoinHostPort(ctl.Host, strconv.Itoa(ctl.Port)))
		if err != nil {
			t.Fatalf("dial the controller: %v", err)
		}
		return cc
	}
	cc := controller()
	defer cc.Close()
	if err := cc.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	t.Cleanup(func() {
		cc := controller()
		defer cc.Close()
		_ = cc.DeleteTopics(topic)
	})
	// Wait until every partition has a leader, so the first write lands.
	conn, err := kafka.Dial("tcp", brokers[0])
	if err != nil {
		t.Fatalf("dial kafka: %v", err)
	}
	defer conn.Close()
	if err := kafkax.AwaitLeaders(conn, topic, partitions, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return brokers, topic
}

// Writer returns a writer to topic made as the services make theirs
// (kafkax.NewWriter), closed when the test ends, with a transport of its
// own: kafka-go's shared one caches metadata for 6 s, so it would not yet
// know a topic created a moment ago, and writes would fail until then.
func Writer(t testing.TB, brokers []string, topic string, batchSize int) *kafka.Writer {
	t.Helper()
	w := kafkax.NewWriter(brokers, topic, batchSize)
	transport := &kafka.Transport{}
	w.Transport = transport
	t.Cleanup(func() {
		_ = w.Close()
		transport.CloseIdleConnections()
	})
	return w
}

// API serves a handler under test on a loopback port for the test's life.
type API struct {
	t        testing.TB
	URL      string
	contract *Contract
}

// WithContract holds every exchange of a to c's OpenAPI document.
func (a *API) WithContract(c *Contract) *API {
	a.contract = c
	return a
}

// Serve starts h.
func Serve(t testing.TB, h http.Handler) *API {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &API{t: t, URL: srv.URL}
}

// Do sends a JSON request with an optional bearer token and returns the
// status and the decoded JSON object of the answer (nil if it is not one).
func (a *API) Do(method, path, token, body string) (int, map[string]any) {
	a.t.Helper()
	return a.DoHeader(method, path, token, body, nil)
}

// DoHeader is Do with extra request headers.
func (a *API) DoHeader(method, path, token, body string, header http.Header) (int, map[string]any) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	if a.contract != nil {
		req.Body = io.NopCloser(strings.NewReader(body))
		a.contract.check(req, resp, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// JSON renders v as compact JSON, for comparing decoded values in failures.
func JSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// SeedCampaign records c in the campaign replica of pool, as the consumer
// would on its `campaign` event.
func SeedCampaign(t testing.TB, pool *pgxpool.Pool, c *campaignv1.Campaign) {
	t.Helper()
	e, err := event.New("content", c.GetId(), time.Now(), c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return replica.Apply(ctx, tx, e) }); err != nil {
		t.Fatalf("seed campaign %d: %v", c.GetId(), err)
	}
}
