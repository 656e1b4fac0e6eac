// Command gateway serves the browser's WebSocket, /ws/campaign/{id}/: it
// keeps a Watch stream to every fanout instance, sends each socket its
// campaign's snapshot and then the campaign's events, and drains its
// sockets with 1012 on SIGTERM.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/campaign-live/campaign-live/pkg/app"
	"github.com/campaign-live/campaign-live/pkg/telemetry"
)

func main() {
	log := app.Logger("gateway")
	app.Main(log, func(ctx context.Context) error { return run(ctx, log, app.NewEnv()) })
}

// run reads the configuration and, only when it is valid, listens and
// serves until ctx ends.
func run(ctx context.Context, log *slog.Logger, env *app.Env) error {
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	tel, err := telemetry.Setup(ctx, "gateway", telemetry.Options{})
	if err != nil {
		return err
	}
	defer tel.Close() // last: flush the final spans
	wsLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen HTTP_ADDR: %w", err)
	}
	if cfg.SocketSendBuffer > 0 {
		wsLn = sendBufferListener{Listener: wsLn, size: cfg.SocketSendBuffer}
	}
	opsLn, err := net.Listen("tcp", cfg.OpsAddr)
	if err != nil {
		_ = wsLn.Close()
		return fmt.Errorf("listen OPS_ADDR: %w", err)
	}
	return serve(ctx, log, cfg, wsLn, opsLn, tel.Metrics)
}

// sendBufferListener caps the kernel send buffer of every connection it
// accepts. Linux otherwise grows it up to net.ipv4.tcp_wmem's maximum (MiBs)
// for a client that does not read, which hides a slow consumer from the
// send queue (SEND_QUEUE) for a long time and costs kernel memory per
// socket.
type sendBufferListener struct {
	net.Listener
	size int
}

func (l sendBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(l.size)
	}
	return c, err
}
