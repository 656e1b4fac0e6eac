package main

import (
	"strings"
	"testing"
	"time"

	"github.com/campaign-live/campaign-live/pkg/app"
)

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(app.NewEnvFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.KafkaTopic != "campaign-events" || c.KafkaGroup != "fanout" || c.CursorEpoch != 1 || c.RecentItems != 20 ||
		c.GRPCAddr != "127.0.0.1:8203" || c.HTTPAddr != "127.0.0.1:8103" || c.OpsAddr != "127.0.0.1:9103" ||
		c.GatewayStall != 10*time.Second || strings.Join(c.KafkaBrokers, ",") != "127.0.0.1:59092" ||
		!strings.Contains(c.DatabaseURL, "/fanout?") {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestConfigNamesEveryBadVariable(t *testing.T) {
	_, err := loadConfig(app.NewEnvFrom(map[string]string{
		"CURSOR_EPOCH": "0", "RECENT_ITEMS": "many", "GATEWAY_STALL_TIMEOUT": "-1s",
		"GRPC_ADDR": "8203", "KAFKA_BROKERS": "localhost",
	}))
	if err == nil {
		t.Fatal("loadConfig accepted bad values")
	}
	for _, name := range []string{"CURSOR_EPOCH", "RECENT_ITEMS", "GATEWAY_STALL_TIMEOUT", "GRPC_ADDR", "KAFKA_BROKERS"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

// EVENT_SEEN_MAX_AGE: 15 days unless set; 0 keeps every id; a value below
// HISTORY_MAX_AGE, negative or not a duration is refused by name.
func TestConfigEventSeenAge(t *testing.T) {
	for value, want := range map[string]time.Duration{"": 15 * 24 * time.Hour, "0": 0, "720h": 720 * time.Hour} {
		env := map[string]string{}
		if value != "" {
			env["EVENT_SEEN_MAX_AGE"] = value
		}
		c, err := loadConfig(app.NewEnvFrom(env))
		if err != nil || c.EventSeenAge != want {
			t.Errorf("EVENT_SEEN_MAX_AGE=%q: %v, %v; want %v", value, c.EventSeenAge, err, want)
		}
	}
	for _, env := range []map[string]string{
		{"EVENT_SEEN_MAX_AGE": "abc"},
		{"EVENT_SEEN_MAX_AGE": "-1h"},
		{"EVENT_SEEN_MAX_AGE": "1h"}, // below HISTORY_MAX_AGE's 24h
		{"EVENT_SEEN_MAX_AGE": "48h", "HISTORY_MAX_AGE": "72h"},
	} {
		if _, err := loadConfig(app.NewEnvFrom(env)); err == nil || !strings.Contains(err.Error(), "EVENT_SEEN_MAX_AGE") {
			t.Errorf("%v: error %v, want one naming EVENT_SEEN_MAX_AGE", env, err)
		}
	}
}
