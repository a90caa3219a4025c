package edge

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// limitListener holds the open connections to Config.MaxConnections, and those from one client
// IP to Config.MaxConnsPerIP (zero: no limit). A connection over a limit is answered at once, 503
// or 429 with a message naming the flag, and closed. (fasthttp's own Concurrency and MaxConnsPerIP
// answer in plain text naming its fields, not intake's flags.) Its connections can also be closed
// gently (limitConn.drainOnClose), so it wraps every listener the edge serves.
type limitListener struct {
	net.Listener
	maxConns, maxPerIP int
	retryAfter         string

	open  atomic.Int64
	mu    sync.Mutex
	perIP map[netip.Addr]int
}

func (s *Server) limitListener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, maxConns: s.cfg.MaxConnections, maxPerIP: s.cfg.MaxConnsPerIP,
		retryAfter: s.retryAfter, perIP: map[netip.Addr]int{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if n := l.open.Add(1); l.maxConns > 0 && n > int64(l.maxConns) {
			l.open.Add(-1)
			connectionsRejectedTotal.Inc()
			go l.reject(c, "503 Service Unavailable",
				`{"status":503,"message":"intake has `+itoa(l.maxConns)+` connections open, its most (--max-connections); retry later"}`)
			continue
		}
		lc := &limitConn{Conn: c, l: l}
		if l.maxPerIP > 0 {
			if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
				lc.ip = ap.Addr().Unmap()
				l.mu.Lock()
				n := l.perIP[lc.ip] + 1
				if n <= l.maxPerIP {
					l.perIP[lc.ip] = n
				}
				l.mu.Unlock()
				if n > l.maxPerIP {
					l.open.Add(-1)
					connectionsPerIPRejectedTotal.Inc()
					go l.reject(c, "429 Too Many Requests",
						`{"status":429,"message":"this client IP has `+itoa(l.maxPerIP)+` connections open, its most (--max-conns-per-ip); reuse one"}`)
					continue
				}
				lc.counted = true
			}
		}
		return lc, nil
	}
}

// reject answers a connection over a limit and closes it without serving its request, gently
// (drainClient, 64 KiB at most: an edge over its limits reads little for those it refuses).
func (l *limitListener) reject(c net.Conn, status, body string) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(drainTime))
	c.Write([]byte("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nRetry-After: " + l.retryAfter +
		"\r\nConnection: close\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body))
	drainClient(c, 64<<10)
}

// drainLimit bounds what a connection closed after an unread request (drainOnClose) reads and
// drops, and drainTime how long a gentle close waits for the client.
const (
	drainLimit = 4 << 20
	drainTime  = time.Second
)

// drainClient ends the edge's side of c, then reads and drops what the client still sends, up to
// limit bytes and drainTime: closing with the client's bytes unread would reset the connection,
// and the client, still sending, could lose the answer written before.
func drainClient(c net.Conn, limit int64) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(drainTime))
	io.Copy(io.Discard, io.LimitReader(c, limit))
}

// limitConn gives its place back when closed (once: fasthttp may close twice).
type limitConn struct {
	net.Conn
	l       *limitListener
	ip      netip.Addr
	counted bool // counted in l.perIP
	closed  atomic.Bool
	// drainOnClose: the answer was written before the request was read to its end (a body over
	// --max-body-bytes, a request fasthttp could not read): Close drains the client first
	// (drainClient, drainLimit bytes).
	drainOnClose atomic.Bool
}

func (c *limitConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		if tc, ok := c.Conn.(*net.TCPConn); ok && c.drainOnClose.Load() {
			drainClient(tc, drainLimit)
		}
		c.l.open.Add(-1)
		if c.counted {
			c.l.mu.Lock()
			if n := c.l.perIP[c.ip] - 1; n > 0 {
				c.l.perIP[c.ip] = n
			} else {
				delete(c.l.perIP, c.ip)
			}
			c.l.mu.Unlock()
		}
	}
	return c.Conn.Close()
}
