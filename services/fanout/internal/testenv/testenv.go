//go:build integration

// Package testenv gives each integration test its own clean Postgres schema
// and Kafka topic on the local stack (scripts/stack/stack.sh), so tests in
// parallel packages do not see each other's data.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/campaign-live/campaign-live/pkg/kafkax"
)

// Name returns a unique lowercase name with prefix.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// Postgres returns DATABASE_URL_FANOUT pointed at a new, empty schema, which
// is dropped when the test ends. It skips the test when the variable is
// unset.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("DATABASE_URL_FANOUT")
	if base == "" {
		t.Skip("DATABASE_URL_FANOUT is not set: run `bash scripts/stack/stack.sh up && source .run/stack.env`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to DATABASE_URL_FANOUT: %v", err)
	}
	defer conn.Close(ctx)
	schema := Name("test")
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("DATABASE_URL_FANOUT: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as run-time settings
	u.RawQuery = q.Encode()
	return u.String()
}

// Kafka returns the brokers of KAFKA_BROKERS and a new topic with
// partitions, deleted when the test ends. It skips the test when the
// variable is unset.
func Kafka(t testing.TB, partitions int) (brokers []string, topic string) {
	t.Helper()
	env := os.Getenv("KAFKA_BROKERS")
	if env == "" {
		t.Skip("KAFKA_BROKERS is not set: run `bash scripts/stack/stack.sh up && source .run/stack.env`")
	}
	brokers = strings.Split(env, ",")
	topic = Name("fanout-test")
	conn, err := kafka.Dial("tcp", brokers[0])
	if err != nil {
		t.Fatalf("dial %s: %v", brokers[0], err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		t.Fatalf("find the controller: %v", err)
	}
	cc, err := kafka.Dial("tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		t.Fatalf("dial the controller: %v", err)
	}
	defer cc.Close()
	if err := cc.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	t.Cleanup(func() {
		cc, err := kafka.Dial("tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
		if err != nil {
			t.Logf("delete topic %s: %v", topic, err)
			return
		}
		defer cc.Close()
		if err := cc.DeleteTopics(topic); err != nil {
			t.Logf("delete topic %s: %v", topic, err)
		}
	})
	// Wait until every partition has a leader, so the first write lands.
	if err := kafkax.AwaitLeaders(conn, topic, partitions, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return brokers, topic
}

// Produce writes msgs to topic as the services' producers do
// (kafkax.NewWriter), through a transport of its own: kafka-go's shared
// one caches metadata for 6 s and would not yet know a topic created a
// moment ago.
func Produce(t testing.TB, brokers []string, topic string, msgs ...kafka.Message) {
	t.Helper()
	writer := kafkax.NewWriter(brokers, topic, min(max(1, len(msgs)), 1000))
	transport := &kafka.Transport{}
	defer transport.CloseIdleConnections()
	writer.Transport = transport
	defer writer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := writer.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce: %v", err)
	}
}
