package ws

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"
)

// corkConn is a socket's connection as the WebSocket library sees it. It
// lets the writer send every frame it finds queued with one write(2):
// between cork and uncork the library's frame writes collect in a pooled
// buffer, and uncork sends them at once. A socket of a busy campaign has
// several frames queued whenever the fan-out runs ahead of the network,
// and one syscall per frame per socket is what the gateway spends most of
// its CPU on (docs/performance.md, W1). An idle socket holds no buffer.
//
// The library serializes its own writes (data frames from the writer,
// control frames such as pongs and closes from other goroutines); mu only
// orders those against uncork. A control frame written while corked goes
// out with the batch, a few microseconds later.
type corkConn struct {
	net.Conn
	mu       sync.Mutex
	corked   bool
	buf      *[]byte
	deadline time.Time // the last write deadline set while corked
}

// corkBuffers holds the batch buffers of the sockets being written now.
var corkBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxCorked bounds a batch: past it, uncork and cork again.
const maxCorked = 64 << 10

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// SetWriteDeadline keeps the deadline the library sets before each frame
// of a batch for the batch's one write: the runtime's timer update per
// frame was 5% of the gateway's CPU in W1.
func (c *corkConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.SetWriteDeadline(t)
	}
	c.deadline = t
	return nil
}

// cork starts a batch.
func (c *corkConn) cork() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		c.corked = true
		c.buf = corkBuffers.Get().(*[]byte)
	}
}

// corkedBytes is the size of the batch so far.
func (c *corkConn) corkedBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil {
		return 0
	}
	return len(*c.buf)
}

// uncork sends the batch with one write, under the write deadline set
// last while corked, and returns the buffer to the pool. A
// write error here is the error of the frames in the batch.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return nil
	}
	c.corked = false
	var err error
	if len(*c.buf) > 0 {
		if !c.deadline.IsZero() {
			err = c.Conn.SetWriteDeadline(c.deadline)
		}
		if err == nil {
			_, err = c.Conn.Write(*c.buf)
		}
	}
	c.deadline = time.Time{}
	if cap(*c.buf) <= 2*maxCorked { // an outsized batch is left to the collector
		*c.buf = (*c.buf)[:0]
		corkBuffers.Put(c.buf)
	}
	c.buf = nil
	return err
}

// corkingWriter hands the WebSocket library a corkConn when it hijacks the
// connection to upgrade it.
type corkingWriter struct {
	http.ResponseWriter
	conn *corkConn
}

func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: nc}
	return w.conn, brw, nil
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *corkingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
