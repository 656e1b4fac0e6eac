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
