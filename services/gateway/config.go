package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/campaign-live/campaign-live/pkg/app"
	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/limit"
)

// config is the gateway's configuration, read from the environment.
type config struct {
	HTTPAddr         string        // HTTP_ADDR: the WebSocket listener
	OpsAddr          string        // OPS_ADDR: /healthz and /readyz
	AllowedOrigins   []string      // ALLOWED_ORIGINS
	JWTSecret        string        // AUTH_JWT_SECRET (HS256, locally)
	Auth             auth.Config   // AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE with JWTSecret
	FanoutAddrs      []string      // FANOUT_ADDRS: every fanout instance
	SubscribeTimeout time.Duration // SUBSCRIBE_TIMEOUT: wait for fanout's acks
	SnapshotTimeout  time.Duration // SNAPSHOT_TIMEOUT: per snapshot attempt
	WriteTimeout     time.Duration // WRITE_TIMEOUT
	PongWait         time.Duration // PONG_WAIT; pings every 9/10 of it
	ReadLimit        int           // READ_LIMIT: bytes of one inbound message
	SendQueue        int           // SEND_QUEUE: frames queued per socket
	SocketSendBuffer int           // SOCKET_SEND_BUFFER: kernel send buffer per socket, bytes; 0: the kernel's autotuning
	DrainTimeout     time.Duration // DRAIN_TIMEOUT: SIGTERM to exit
	HandshakeTimeout time.Duration // HANDSHAKE_TIMEOUT: to read a handshake's headers, and a kept-alive connection's idle limit
	FrameRate        limit.Rate    // WS_FRAME_RATE: inbound messages per socket; zero: no limit
	FrameBurst       int           // WS_FRAME_BURST: of FrameRate's token bucket
	RefusedFrames    limit.Rate    // WS_REFUSED_FRAMES: refused inbound messages per socket before close 1008; zero: no limit
	ConnectsPerIP    limit.Rate    // WS_CONNECTS_PER_IP: handshakes per client IP; zero: no limit
	SocketsPerIP     int           // WS_MAX_SOCKETS_PER_IP: open sockets per client IP; 0: no limit
	Pprof            bool          // OPS_PPROF: /debug/pprof/ on the ops listener
}

// loadConfig reads and checks the configuration, reporting every invalid
// variable by name.
func loadConfig(env *app.Env) (config, error) {
	c := config{
		HTTPAddr:         env.String("HTTP_ADDR", "127.0.0.1:8104"),
		OpsAddr:          env.String("OPS_ADDR", "127.0.0.1:9104"),
		AllowedOrigins:   env.List("ALLOWED_ORIGINS", []string{"http://localhost:8080", "http://127.0.0.1:8080"}),
		JWTSecret:        env.String("AUTH_JWT_SECRET", "local-dev-secret"),
		FanoutAddrs:      env.List("FANOUT_ADDRS", []string{"127.0.0.1:8203"}),
		SubscribeTimeout: env.Duration("SUBSCRIBE_TIMEOUT", 5*time.Second),
		SnapshotTimeout:  env.Duration("SNAPSHOT_TIMEOUT", 5*time.Second),
		WriteTimeout:     env.Duration("WRITE_TIMEOUT", 10*time.Second),
		PongWait:         env.Duration("PONG_WAIT", 60*time.Second),
		ReadLimit:        env.Int("READ_LIMIT", 4096, 64, 1<<20),
		SendQueue:        env.Int("SEND_QUEUE", 256, 1, 1<<16),
		SocketSendBuffer: env.Int("SOCKET_SEND_BUFFER", 0, 0, 64<<20),
		DrainTimeout:     env.Duration("DRAIN_TIMEOUT", 25*time.Second),
		HandshakeTimeout: env.Duration("HANDSHAKE_TIMEOUT", 5*time.Second),
		FrameRate:        rateVar(env, "WS_FRAME_RATE", "10/1s"),
		FrameBurst:       env.Int("WS_FRAME_BURST", 20, 1, 1<<20),
		RefusedFrames:    rateVar(env, "WS_REFUSED_FRAMES", "10/1m"),
		ConnectsPerIP:    rateVar(env, "WS_CONNECTS_PER_IP", "60/1m"),
		SocketsPerIP:     env.Int("WS_MAX_SOCKETS_PER_IP", 200, 0, 1<<30),
		Pprof:            env.Bool("OPS_PPROF", true),
	}
	c.Auth = auth.Config{
		Secret:   c.JWTSecret,
		JWKSURL:  env.String("AUTH_JWKS_URL", ""),
		Issuer:   env.String("AUTH_ISSUER", ""),
		Audience: env.String("AUTH_AUDIENCE", ""),
	}
	errs := []error{env.Err()}
	for key, addr := range map[string]string{"HTTP_ADDR": c.HTTPAddr, "OPS_ADDR": c.OpsAddr} {
		errs = append(errs, checkAddr(key, addr))
	}
	for _, addr := range c.FanoutAddrs {
		errs = append(errs, checkAddr("FANOUT_ADDRS", addr))
	}
	for _, o := range c.AllowedOrigins {
		errs = append(errs, checkOrigin(o))
	}
	if c.PongWait < time.Second {
		errs = append(errs, fmt.Errorf("PONG_WAIT=%q: want at least 1s", c.PongWait))
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, nil
}

func rateVar(env *app.Env, key, def string) limit.Rate {
	var r limit.Rate
	env.Parsed(key, def, func(v string) (err error) { r, err = limit.ParseRate(v); return err })
	return r
}

func checkAddr(key, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return fmt.Errorf("%s=%q: want host:port", key, addr)
	}
	return nil
}

// checkOrigin accepts what browsers send as Origin: scheme://host[:port].
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("ALLOWED_ORIGINS: %q: want scheme://host[:port], such as http://localhost:8080", o)
	}
	return nil
}
