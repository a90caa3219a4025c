package clientip

import (
	"fmt"
	"net/netip"

	"intake.dev/intake/edge/internal/httpval"
)

// Proxies is the set of addresses whose forwarding headers are believed: the load
// balancers and CDN nodes in front of the edge, and nothing a client controls.
type Proxies struct {
	prefixes []netip.Prefix // masked, IPv4 unmapped
}

// ParseProxies reads CIDRs ("10.0.0.0/8", "2001:db8::/32") and single addresses.
// It is for start-up and config reloads, not the hot path.
func ParseProxies(cidrs []string) (*Proxies, error) {
	t := &Proxies{prefixes: make([]netip.Prefix, 0, len(cidrs))}
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil || a.Zone() != "" {
				return nil, fmt.Errorf("cannot parse trusted proxy %q: want an address or a CIDR", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		t.prefixes = append(t.prefixes, p.Masked())
	}
	return t, nil
}

// Contains reports whether a is a trusted proxy. A nil Proxies trusts no one.
func (t *Proxies) Contains(a netip.Addr) bool {
	if t == nil {
		return false
	}
	a = a.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// From is the client's address for rate limiting and logs. Forwarding headers count only when
// the connection's remote address is a trusted proxy (else any client could claim any address):
// then X-Forwarded-For is walked from the right, past trusted proxies, and the first untrusted hop
// is the client (the hops to its left were written by the client and prove nothing). When every
// hop is trusted the leftmost one is the client. With no X-Forwarded-For, X-Client-IP is used
// (trust it only from a proxy that sets or strips it). A malformed hop or X-Client-IP means the
// remote address. IPv4-mapped addresses come back as IPv4. It does not allocate.
//
// xForwardedFor must be the last X-Forwarded-For line when there are several (some proxies, such
// as HAProxy's option forwardfor, append a line rather than extend the first, which a client may
// have sent itself); FromLines takes them all.
func From(remote netip.Addr, xForwardedFor, xClientIP []byte, trusted *Proxies) netip.Addr {
	lines := [1][]byte{xForwardedFor}
	return FromLines(remote, lines[:], xClientIP, trusted)
}

// FromLines is From for every X-Forwarded-For line in the order received (fasthttp's
// RequestHeader.PeekAll, which does not allocate once warm), read as one comma-separated list.
func FromLines(remote netip.Addr, xForwardedFor [][]byte, xClientIP []byte, trusted *Proxies) netip.Addr {
	remote = remote.Unmap()
	if !trusted.Contains(remote) {
		return remote
	}
	var leftmost netip.Addr
	for i := len(xForwardedFor) - 1; i >= 0; i-- {
		line := xForwardedFor[i]
		for end := len(line); end >= 0; {
			start := end - 1
			for start >= 0 && line[start] != ',' {
				start--
			}
			hop := httpval.TrimOWS(line[start+1 : end])
			end = start
			if len(hop) == 0 {
				continue // empty list elements are allowed (RFC 9110, 5.6.1)
			}
			a, ok := parseHop(hop)
			if !ok {
				return remote
			}
			if !trusted.Contains(a) {
				return a
			}
			leftmost = a
		}
	}
	if leftmost.IsValid() {
		return leftmost
	}
	if xci := httpval.TrimOWS(xClientIP); len(xci) > 0 {
		if a, ok := parseHop(xci); ok {
			return a
		}
	}
	return remote
}

// ForEvents is the client's address as events record it (http.client_ip), in eventgate-wikimedia's
// order of sources: X-Client-IP, else X-Forwarded-For, else the connection's remote address. As
// in From, the headers count only when the remote address is a trusted proxy; with none trusted
// the remote address is the client. It does not allocate.
//
// Where it differs from eventgate-wikimedia's getClientIp, which believes any peer's headers and
// copies them as written: a malformed X-Client-IP is skipped rather than recorded; of
// X-Forwarded-For (every line, left to right, split on commas) it takes the leftmost hop that is
// a well-formed address and not a trusted proxy (eventgate-wikimedia takes the leftmost text,
// whatever it is, and splits only on a comma followed by white space), or the leftmost
// well-formed hop when every one is trusted; the answer is an address, IPv4-mapped ones as IPv4
// and without a port ("::ffff:192.0.2.1" is how Node reports an IPv4 peer).
//
// It differs from From, the rate limiter's choice, on purpose: a rate limit keys on the
// rightmost untrusted hop, the only one a trusted proxy vouches for, since a client may write
// anything to the left of it and must not pick its own bucket; an event records what producers
// and their consumers have always had from eventgate-wikimedia, the address the proxy in front
// reports (X-Client-IP) or the hop nearest the client, which a client behind a trusted proxy can
// claim but gains nothing by.
func ForEvents(remote netip.Addr, xForwardedFor [][]byte, xClientIP []byte, trusted *Proxies) netip.Addr {
	remote = remote.Unmap()
	if !trusted.Contains(remote) {
		return remote
	}
	if a, ok := parseHop(httpval.TrimOWS(xClientIP)); ok {
		return a
	}
	var firstTrusted netip.Addr
	for _, line := range xForwardedFor {
		for rest := line; rest != nil; {
			var hop []byte
			hop, rest = httpval.Next(rest)
			a, ok := parseHop(hop)
			if !ok {
				continue // empty elements, names ("unknown") and garbage name no one
			}
			if !trusted.Contains(a) {
				return a
			}
			if !firstTrusted.IsValid() {
				firstTrusted = a
			}
		}
	}
	if firstTrusted.IsValid() {
		return firstTrusted
	}
	return remote
}

// parseHop reads one forwarded address: "192.0.2.1", "192.0.2.1:443", "2001:db8::1",
// "[2001:db8::1]" or "[2001:db8::1]:443". Zones, names ("unknown") and anything else fail.
func parseHop(b []byte) (netip.Addr, bool) {
	if len(b) == 0 || len(b) > 64 {
		return netip.Addr{}, false
	}
	if b[0] == '[' {
		end := 1
		for end < len(b) && b[end] != ']' {
			end++
		}
		if end == len(b) || !portOK(b[end+1:]) {
			return netip.Addr{}, false
		}
		ip, ok := parseIPv6(b[1:end])
		return netip.AddrFrom16(ip).Unmap(), ok
	}
	colons, last := 0, -1
	for i, c := range b {
		if c == ':' {
			colons++
			last = i
		}
	}
	switch colons {
	case 0:
		ip, ok := parseIPv4(b)
		return netip.AddrFrom4(ip), ok
	case 1:
		if !portOK(b[last:]) {
			return netip.Addr{}, false
		}
		ip, ok := parseIPv4(b[:last])
		return netip.AddrFrom4(ip), ok
	default:
		ip, ok := parseIPv6(b)
		return netip.AddrFrom16(ip).Unmap(), ok
	}
}

// portOK accepts "" or ":" and one to five digits.
func portOK(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if b[0] != ':' || len(b) < 2 || len(b) > 6 {
		return false
	}
	for _, c := range b[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseIPv4 reads dotted decimal as netip.ParseAddr does: four fields, no leading zeros.
// netip.ParseAddr itself needs a string and allocates its error, which a flood of bad headers
// would turn into garbage.
func parseIPv4(b []byte) (ip [4]byte, ok bool) {
	field, digits, val := 0, 0, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && val == 0 {
				return ip, false // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return ip, false
			}
		case c == '.':
			if digits == 0 || field == 3 {
				return ip, false
			}
			ip[field] = byte(val)
			field++
			digits, val = 0, 0
		default:
			return ip, false
		}
	}
	if field != 3 || digits == 0 {
		return ip, false
	}
	ip[3] = byte(val)
	return ip, true
}

// parseIPv6 reads RFC 4291 text (no zone) as netip.ParseAddr does, including a trailing
// dotted-decimal IPv4 part.
func parseIPv6(b []byte) (ip [16]byte, ok bool) {
	ellipsis := -1 // byte index in ip where "::" stands
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		ellipsis = 0
		b = b[2:]
		if len(b) == 0 {
			return ip, true
		}
	}
	i := 0
	for i < 16 {
		off, acc := 0, 0
		for ; off < len(b); off++ {
			d, ok := hexDigit(b[off])
			if !ok {
				break
			}
			if off == 4 {
				return ip, false
			}
			acc = acc<<4 | d
		}
		if off < len(b) && b[off] == '.' {
			// The last 32 bits as dotted decimal.
			if (ellipsis < 0 && i != 12) || i+4 > 16 {
				return ip, false
			}
			v4, ok := parseIPv4(b)
			if !ok {
				return ip, false
			}
			copy(ip[i:], v4[:])
			i += 4
			b = b[:0]
			break
		}
		if off == 0 {
			return ip, false
		}
		ip[i], ip[i+1] = byte(acc>>8), byte(acc)
		i += 2
		b = b[off:]
		if len(b) == 0 {
			break
		}
		if b[0] != ':' || len(b) == 1 {
			return ip, false
		}
		b = b[1:]
		if b[0] == ':' {
			if ellipsis >= 0 {
				return ip, false
			}
			ellipsis = i
			b = b[1:]
			if len(b) == 0 {
				break
			}
		}
	}
	if len(b) != 0 {
		return ip, false
	}
	if i < 16 {
		if ellipsis < 0 {
			return ip, false
		}
		n := 16 - i
		copy(ip[ellipsis+n:], ip[ellipsis:i])
		clear(ip[ellipsis : ellipsis+n])
	} else if ellipsis >= 0 {
		return ip, false // "::" must stand for at least one group
	}
	return ip, true
}

func hexDigit(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}
