package edge

import (
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"

	"intake.dev/intake/edge/clientip"
)

// remoteAddr is the address of the connection's peer; none (not valid) when the request did not
// come over TCP (fasthttp then reports 0.0.0.0).
func remoteAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	ta, ok := ctx.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	a, _ := netip.AddrFromSlice(ta.IP)
	if a = a.Unmap(); a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}

// rateLimitAddr is the client address the per-address rate limit keys on: the peer, or the
// rightmost hop a trusted proxy's X-Forwarded-For names (clientip.FromLines says why).
func (s *Server) rateLimitAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	h := &ctx.Request.Header
	return clientip.FromLines(remoteAddr(ctx), h.PeekAll("X-Forwarded-For"), h.Peek("X-Client-IP"), s.trusted)
}

// appendEventsAddr appends the client address events record in http.client_ip as text, or
// nothing when there is none: the peer, or what a trusted proxy's X-Client-IP or X-Forwarded-For
// says, in eventgate-wikimedia's order (clientip.ForEvents). Once per request; it does not
// allocate once dst has room.
func (s *Server) appendEventsAddr(dst []byte, ctx *fasthttp.RequestCtx) []byte {
	h := &ctx.Request.Header
	a := clientip.ForEvents(remoteAddr(ctx), h.PeekAll("X-Forwarded-For"), h.Peek("X-Client-IP"), s.trusted)
	if !a.IsValid() {
		return dst
	}
	return a.AppendTo(dst)
}
