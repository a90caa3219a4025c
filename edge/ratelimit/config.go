package ratelimit

import (
	"fmt"
	"math"
	"sort"
)

// Config is the rate-limit section of the configuration. The zero Config limits nothing.
type Config struct {
	// IP limits each client address (edge/clientip's result). IPv6 addresses are keyed by their
	// IPv6Prefix bits, since one host commonly owns a whole /64.
	IP Scope `yaml:"ip" json:"ip"`
	// IPv6Prefix is how many leading bits of an IPv6 address make its key; 0 means 64.
	IPv6Prefix int `yaml:"ipv6_prefix" json:"ipv6_prefix"`
	// Principal limits each authenticated caller (API key or JWT subject).
	Principal Scope `yaml:"principal" json:"principal"`
	// Stream is the default limit of each stream; Streams overrides it per stream name.
	Stream Scope `yaml:"stream" json:"stream"`
	// Streams maps a configured stream name to its own limit (rate 0: that stream is unlimited).
	Streams map[string]Limit `yaml:"streams" json:"streams"`
}

// Scope is one limiter's settings.
type Scope struct {
	// Rate is the sustained rate in tokens (requests, or events for streams) per second;
	// 0 means unlimited.
	Rate float64 `yaml:"rate" json:"rate"`
	// Burst is how many tokens a full bucket holds; 0 means one second's worth (at least 1).
	Burst int `yaml:"burst" json:"burst"`
	// Capacity is how many keys the limiter tracks at most (rounded up to a power of two);
	// 0 means the scope's default (DefaultCapacity). Memory is about 26 bytes per key, allocated
	// up front. Keys land in sets of 8 at random: keep capacity at about twice the keys active
	// within a refill time, or full sets start forgetting debt (kind="active" evictions).
	Capacity int `yaml:"capacity" json:"capacity"`
}

// Limit is a per-stream override of Scope's rate and burst.
type Limit struct {
	Rate  float64 `yaml:"rate" json:"rate"`
	Burst int     `yaml:"burst" json:"burst"`
}

// Scope indexes; also the order in which Set evaluates the request scopes.
const (
	ScopeIP = iota
	ScopePrincipal
	ScopeStream
	numScopes
)

// ScopeName is the limiter label of each scope index.
var ScopeName = [numScopes]string{"ip", "principal", "stream"}

// DefaultCapacity is the capacity of each scope when Scope.Capacity is 0.
var DefaultCapacity = [numScopes]int{ScopeIP: 1 << 17, ScopePrincipal: 1 << 14, ScopeStream: 1 << 12}

const (
	minRate     = 1e-6 // one token in about 11.6 days
	maxRate     = 1e9  // one token per nanosecond
	maxBurst    = 1e9
	maxCapacity = 1 << 26
	maxTol      = 1 << 62 // burst*interval stays far from int64 overflow
)

// limit is a compiled rate: interval nanoseconds per token, tol = burst*interval. interval 0 means
// unlimited.
type limit struct {
	interval int64
	tol      int64
}

func (l limit) unlimited() bool { return l.interval == 0 }

func compileLimit(key string, rate float64, burst int) (limit, error) {
	if math.IsNaN(rate) || rate < 0 || (rate > 0 && (rate < minRate || rate > maxRate)) {
		return limit{}, fmt.Errorf("%s.rate: %v is out of range; want 0 (unlimited) or %g..%g per second", key, rate, minRate, float64(maxRate))
	}
	if burst < 0 || burst > maxBurst {
		return limit{}, fmt.Errorf("%s.burst: %d is out of range; want 0 (one second's worth) up to %d", key, burst, int(maxBurst))
	}
	if rate == 0 {
		return limit{}, nil
	}
	if burst == 0 {
		burst = int(math.Ceil(rate))
	}
	interval := int64(math.Round(1e9 / rate))
	if interval < 1 {
		interval = 1
	}
	if interval > maxTol/int64(burst) {
		return limit{}, fmt.Errorf("%s: rate %v with burst %d spans too long a time; raise the rate or lower the burst", key, rate, burst)
	}
	return limit{interval: interval, tol: interval * int64(burst)}, nil
}

// scopeLimits is one limiter's compiled settings.
type scopeLimits struct {
	def       limit
	overrides map[string]limit // stream only; nil when none
	capacity  int              // rounded; 0 when nothing is limited (no table)
	v6bits    int              // ip only
}

func compileScope(scope int, s Scope, overrides map[string]Limit) (scopeLimits, error) {
	key := "ratelimit." + ScopeName[scope]
	var sl scopeLimits
	var err error
	if sl.def, err = compileLimit(key, s.Rate, s.Burst); err != nil {
		return sl, err
	}
	if s.Capacity < 0 || s.Capacity > maxCapacity {
		return sl, fmt.Errorf("%s.capacity: %d is out of range; want 0 (default %d) up to %d", key, s.Capacity, DefaultCapacity[scope], maxCapacity)
	}
	limited := !sl.def.unlimited()
	if len(overrides) > 0 {
		names := make([]string, 0, len(overrides))
		for name := range overrides {
			names = append(names, name)
		}
		sort.Strings(names) // the first error is the same on every run
		sl.overrides = make(map[string]limit, len(overrides))
		for _, name := range names {
			o := overrides[name]
			l, err := compileLimit(fmt.Sprintf("ratelimit.streams[%q]", name), o.Rate, o.Burst)
			if err != nil {
				return sl, err
			}
			sl.overrides[name] = l
			limited = limited || !l.unlimited()
		}
	}
	if limited {
		c := s.Capacity
		if c == 0 {
			c = DefaultCapacity[scope]
		}
		sl.capacity = roundCapacity(c)
	}
	return sl, nil
}

// roundCapacity rounds c up to whole sets, a power of two of them.
func roundCapacity(c int) int {
	sets := 1
	for sets*ways < c {
		sets <<= 1
	}
	return sets * ways
}

func (c *Config) compile() ([numScopes]scopeLimits, error) {
	var out [numScopes]scopeLimits
	var err error
	if out[ScopeIP], err = compileScope(ScopeIP, c.IP, nil); err != nil {
		return out, err
	}
	switch {
	case c.IPv6Prefix == 0:
		out[ScopeIP].v6bits = 64
	case c.IPv6Prefix < 0 || c.IPv6Prefix > 128:
		return out, fmt.Errorf("ratelimit.ipv6_prefix: %d is out of range; want 0 (64) up to 128", c.IPv6Prefix)
	default:
		out[ScopeIP].v6bits = c.IPv6Prefix
	}
	if out[ScopePrincipal], err = compileScope(ScopePrincipal, c.Principal, nil); err != nil {
		return out, err
	}
	if out[ScopeStream], err = compileScope(ScopeStream, c.Stream, c.Streams); err != nil {
		return out, err
	}
	return out, nil
}
