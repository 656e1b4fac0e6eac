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
	"fmt"
	"log/slog"
	"net"
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

	"github.com/campaign-live/campaign-live/pkg/pgdb"
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
	return brokers, topic
}
