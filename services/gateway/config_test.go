package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/campaign-live/campaign-live/pkg/app"
	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/limit"
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
		DrainTimeout: 25 * time.Second, HandshakeTimeout: 5 * time.Second,
		FrameRate: limit.Rate{Tokens: 10, Interval: time.Second}, FrameBurst: 20,
		RefusedFrames: limit.Rate{Tokens: 10, Interval: time.Minute},
		ConnectsPerIP: limit.Rate{Tokens: 60, Interval: time.Minute}, SocketsPerIP: 200,
		Pprof: true,
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
		{"HANDSHAKE_TIMEOUT", "0s"},
		{"WS_FRAME_RATE", "10"},
		{"WS_FRAME_BURST", "0"},
		{"WS_REFUSED_FRAMES", "x/1m"},
		{"WS_CONNECTS_PER_IP", "60/never"},
		{"WS_MAX_SOCKETS_PER_IP", "-1"},
		{"OPS_PPROF", "maybe"},
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

func TestConfigZeroTurnsLimitsOff(t *testing.T) {
	c, err := loadConfig(app.NewEnvFrom(map[string]string{
		"WS_FRAME_RATE": "0", "WS_REFUSED_FRAMES": "0", "WS_CONNECTS_PER_IP": "0", "WS_MAX_SOCKETS_PER_IP": "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.FrameRate != (limit.Rate{}) || c.RefusedFrames != (limit.Rate{}) || c.ConnectsPerIP != (limit.Rate{}) || c.SocketsPerIP != 0 {
		t.Errorf("limits = %+v %+v %+v %d, want all off", c.FrameRate, c.RefusedFrames, c.ConnectsPerIP, c.SocketsPerIP)
	}
}
