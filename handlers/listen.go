package handlers

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"parley/handlers/api"
)

// Serve serves HTTP on ln until Shutdown. Connections are wrapped so the
// timeouts mean what they say: a connection may sit idle — before its first
// request as between requests — for IdleTimeout and is then closed quietly,
// while ReadTimeout bounds reading one request from its first byte to its
// last. (fasthttp on its own applies ReadTimeout from accept to the first
// request, so a browser's pre-opened socket failed its first request.)
// Once Shutdown begins, a connection with no byte yet has freshGrace left.
func (s *Server) Serve(ln net.Listener) error {
	tl := &timedListener{Listener: ln, read: s.cfg.Timeouts.Read, idle: s.cfg.Timeouts.Idle, fresh: map[*timedConn]struct{}{}}
	s.listenersMu.Lock()
	s.listeners = append(s.listeners, tl)
	s.listenersMu.Unlock()
	return s.app.Listener(tl)
}

// freshGrace is how long, once shutdown begins, a connection that has not
// sent a byte yet may still begin its request before it is closed.
const freshGrace = 300 * time.Millisecond

// drainFresh gives the connections that have not begun a request
// freshGrace more (fasthttp's shutdown waits for them otherwise: it closes
// only connections idle between requests, so a browser's or a client
// pool's unused socket held shutdown for the whole grace period).
func (s *Server) drainFresh() {
	s.listenersMu.Lock()
	defer s.listenersMu.Unlock()
	for _, l := range s.listeners {
		l.drain(time.Now().Add(freshGrace))
	}
}

// timedListener wraps accepted connections in timedConn and keeps those
// that have not received a byte yet, for shutdown.
type timedListener struct {
	net.Listener
	read, idle time.Duration

	mu      sync.Mutex
	fresh   map[*timedConn]struct{}
	drainBy time.Time // set when shutting down
}

// Accept implements net.Listener.
func (l *timedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &timedConn{Conn: c, l: l, read: l.read, idle: l.idle, atStart: true}
	l.mu.Lock()
	l.fresh[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// drain makes every connection without a byte yet, and any accepted
// later, wait for its first byte until by at the latest.
func (l *timedListener) drain(by time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drainBy = by
	for c := range l.fresh {
		_ = c.Conn.SetReadDeadline(by)
	}
}

// armFirstByte sets how long a fresh connection waits for its first byte:
// the idle timeout, or less once shutdown began (set under the listener's
// lock, so drain cannot slip in between and be overwritten).
func (l *timedListener) armFirstByte(c *timedConn) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var by time.Time
	if c.idle > 0 {
		by = time.Now().Add(c.idle)
	}
	if !l.drainBy.IsZero() && (by.IsZero() || l.drainBy.Before(by)) {
		by = l.drainBy
	}
	if by.IsZero() {
		return nil
	}
	return c.Conn.SetReadDeadline(by)
}

// forget drops a connection from the fresh ones.
func (l *timedListener) forget(c *timedConn) {
	l.mu.Lock()
	delete(l.fresh, c)
	l.mu.Unlock()
}

// timedConn gives a connection's first request the idle timeout until its
// first byte arrives, and remembers whether the request being read is an API
// request, so errors raised before routing (a header too large, a read
// timeout) can still answer in the API's JSON.
type timedConn struct {
	net.Conn
	l          *timedListener
	read, idle time.Duration

	mu sync.Mutex
	// started: the first byte has arrived; from then on the server's own
	// deadlines (read and idle between requests) apply unchanged.
	started bool
	// atStart: the next bytes read begin a request (after a response was written).
	atStart bool
	api     bool
	head    []byte
}

// SetReadDeadline implements net.Conn; until the first byte the idle
// deadline set by Read stands.
func (c *timedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline implements net.Conn, with SetReadDeadline's rule.
func (c *timedConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// Read implements net.Conn.
func (c *timedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		if err := c.l.armFirstByte(c); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.sniff(p[:n])
		if !started {
			c.mu.Lock()
			c.started = true
			c.mu.Unlock()
			c.l.forget(c)
			var d time.Time
			if c.read > 0 {
				d = time.Now().Add(c.read)
			}
			if derr := c.Conn.SetReadDeadline(d); derr != nil && err == nil {
				err = derr
			}
		}
		return n, err
	}
	if !started && errors.Is(err, os.ErrDeadlineExceeded) {
		// Idle since accept: close quietly, as an idle keep-alive connection is.
		return 0, io.EOF
	}
	return n, err
}

// Close implements net.Conn.
func (c *timedConn) Close() error {
	c.l.forget(c)
	return c.Conn.Close()
}

// Write implements net.Conn: after a response, the next bytes read start a request.
func (c *timedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.atStart, c.head = true, c.head[:0]
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// sniffLen bounds how much of a request line sniff keeps.
const sniffLen = 64

// sniff notes whether the request starting with b is an API request.
func (c *timedConn) sniff(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.atStart {
		return
	}
	c.head = append(c.head, b[:min(len(b), sniffLen-len(c.head))]...)
	sp := bytes.IndexByte(c.head, ' ')
	need := sp + 1 + len(api.Prefix) + 1 // the method, a space, /api/v1 and one byte more
	if (sp < 0 || len(c.head) < need) && len(c.head) < sniffLen && bytes.IndexByte(c.head, '\n') < 0 {
		return // not enough of the request line yet
	}
	c.api = false
	if sp >= 0 {
		if rest, ok := bytes.CutPrefix(c.head[sp+1:], []byte(api.Prefix)); ok {
			c.api = len(rest) == 0 || bytes.IndexByte([]byte("/? "), rest[0]) >= 0
		}
	}
	c.atStart = false
}

// isAPI reports whether the request being served came in as an API request.
func (c *timedConn) isAPI() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.api
}
