package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/campaign-live/campaign-live/pkg/app"
	"github.com/campaign-live/campaign-live/pkg/auth"
)

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(app.NewEnvFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		HTTPAddr: "127.0.0.1:8104", OpsAddr: "127.0.0.1:9104",
		AllowedOrigins: []string{"http://localhost:8080", "http://127.0.0.1:8080"},
		JWTSecret:      "local-dev-secret", Auth: auth.Config{Secret: "local-dev-secret"},
		FanoutAddrs:      []string{"127.0.0.1:8203"},
		SubscribeTimeout: 5 * time.Second, SnapshotTimeout: 5 * time.Second,
		WriteTimeout: 10 * time.Second, PongWait: time.Minute, ReadLimit: 4096, SendQueue: 256,
		DrainTimeout: 25 * time.Second,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config = %+v\nwant     %+v", c, want)
	}
}

func TestConfigNamesEveryInvalidVariable(t *testing.T) {
	tests := []struct {
		name, value string
	}{
		{"HTTP_ADDR", "8104"},
		{"OPS_ADDR", "localhost:http-alt"},
		{"FANOUT_ADDRS", "127.0.0.1:8203, fanout"},
		{"ALLOWED_ORIGINS", "http://localhost:8080/path"},
		{"ALLOWED_ORIGINS", "localhost:8080"},
		{"WRITE_TIMEOUT", "ten"},
		{"PONG_WAIT", "10ms"},
		{"READ_LIMIT", "0"},
		{"SEND_QUEUE", "-1"},
		{"DRAIN_TIMEOUT", "0s"},
		{"SUBSCRIBE_TIMEOUT", "soon"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := loadConfig(app.NewEnvFrom(map[string]string{tt.name: tt.value}))
			if err == nil || !strings.Contains(err.Error(), tt.name) {
				t.Errorf("loadConfig error %v, want one naming %s", err, tt.name)
			}
		})
	}
}
