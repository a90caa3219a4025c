package auth

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Mode is what a stream's policy asks of its producers.
type Mode uint8

const (
	// ModeNone: anyone may write, anonymous callers included, whatever their grants (the
	// EventGate behaviour, and the default default_auth).
	ModeNone Mode = iota
	// ModeRequired: any authenticated principal whose own grants cover the stream.
	ModeRequired
	// ModeList: only the listed principals, and only if their own grants cover the stream too.
	ModeList
)

func (m Mode) String() string {
	switch m {
	case ModeNone:
		return "none"
	case ModeRequired:
		return "required"
	case ModeList:
		return "list"
	}
	return "unknown"
}

// AuthSetting is a stream's `auth` setting, and the config's default_auth: ["none"],
// ["required"], or the names of the principals that may write (API key names, JWT subjects; one
// name space). In YAML and JSON it is a string ("none", "required", or one name) or a list. An
// empty setting means "as default_auth says".
type AuthSetting []string

// UnmarshalJSON takes a string or a list of strings.
func (s *AuthSetting) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = AuthSetting{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("auth must be \"none\", \"required\" or a list of principal names: %w", err)
	}
	*s = list
	return nil
}

// UnmarshalYAML takes a string or a list of strings (the unmarshaler interface goccy/go-yaml and
// yaml.v2 share, so this package imports no YAML library).
func (s *AuthSetting) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		*s = AuthSetting{one}
		return nil
	}
	var list []string
	if err := unmarshal(&list); err != nil {
		return fmt.Errorf("auth must be \"none\", \"required\" or a list of principal names: %w", err)
	}
	*s = list
	return nil
}

// PolicySpec is a stream's auth settings as the stream config gives them
// (producers.<service>.auth and the stream's developer mode switch).
type PolicySpec struct {
	// Auth: empty means the Authenticator's default_auth.
	Auth AuthSetting
	// Debug allows developer mode on the stream to principals flagged for it.
	Debug bool
}

// Policy is one stream's compiled auth policy: build it once per stream (config entry) with
// Authenticator.Policy and keep it beside the stream's other settings. It is safe for concurrent
// use.
type Policy struct {
	mode  Mode
	names map[string]struct{}
	list  []string
	debug bool

	// denials remembers the reason strings of recent denials, so that a batch of events a
	// principal may not write costs one formatted reason, not one per event.
	denialsMu sync.RWMutex
	denials   map[denialKey]string
}

type denialKey struct {
	cause  uint8
	name   string
	stream string
}

const (
	causeAnonymous uint8 = iota
	causeNotListed
	causeNotGranted
)

// maxDenials bounds a policy's reason cache; a full cache is emptied (denials are the rare path,
// and a stream name is checked against the stream config before it reaches Authorize, so the
// keys are bounded in practice anyway).
const maxDenials = 1024

// reasonNoPolicy is the reason when the caller passes no policy: fail closed.
const reasonNoPolicy = "stream has no auth policy"

// Mode returns what the policy asks.
func (pol *Policy) Mode() Mode { return pol.mode }

// Debug reports whether the policy allows developer mode.
func (pol *Policy) Debug() bool { return pol.debug }

// Principals returns the listed names of a ModeList policy.
func (pol *Policy) Principals() []string { return pol.list }

// String renders the policy for logs and /v1/info: "none", "required" or the names.
func (pol *Policy) String() string {
	if pol.mode == ModeList {
		return strings.Join(pol.list, ",")
	}
	return pol.mode.String()
}

func compilePolicy(auth AuthSetting, debug bool) (*Policy, error) {
	pol := &Policy{debug: debug}
	switch {
	case len(auth) == 0:
		return nil, fmt.Errorf("empty auth setting")
	case len(auth) == 1 && auth[0] == "none":
		pol.mode = ModeNone
	case len(auth) == 1 && auth[0] == "required":
		pol.mode = ModeRequired
	default:
		pol.mode = ModeList
		pol.names = make(map[string]struct{}, len(auth))
		for _, name := range auth {
			switch name {
			case "":
				return nil, fmt.Errorf("empty principal name in auth")
			case "none", "required":
				return nil, fmt.Errorf("auth %q must stand alone, not in a list of principals", name)
			case AnonymousName:
				return nil, fmt.Errorf("auth cannot list %q: use \"none\" to let anonymous callers write", name)
			}
			pol.names[name] = struct{}{}
		}
		pol.list = append([]string(nil), auth...)
	}
	return pol, nil
}

// Authorize reports whether principal p may write stream under the stream's policy pol, and
// if not, why, in words safe to send to the client. Both must hold: the policy admits p (anyone
// for "none"; any authenticated principal for "required"; the listed names for a list) and,
// unless the policy is "none", p's own grants cover the stream. A nil p is Anonymous; a nil pol
// denies (fail closed).
//
// It does not allocate when it allows; a denial formats its reason once per (principal, stream)
// and then serves it from the policy's bounded cache. stream may be borrowed memory (a fastjson
// string): Authorize keeps a copy, never stream itself. The reason is an ordinary immutable
// string.
func Authorize(p *Principal, pol *Policy, stream string) (ok bool, reason string) {
	if pol == nil {
		return false, reasonNoPolicy
	}
	if pol.mode == ModeNone {
		// Fast path: the EventGate default.
		return true, ""
	}
	if p == nil || p.Kind == KindAnonymous {
		return false, pol.deny(causeAnonymous, "", stream)
	}
	if pol.mode == ModeList {
		if _, listed := pol.names[p.Name]; !listed {
			return false, pol.deny(causeNotListed, p.Name, stream)
		}
	}
	if !p.grants.covers(stream) {
		return false, pol.deny(causeNotGranted, p.Name, stream)
	}
	return true, ""
}

func (pol *Policy) deny(cause uint8, name, stream string) string {
	k := denialKey{cause: cause, name: name, stream: stream}
	pol.denialsMu.RLock()
	r, ok := pol.denials[k]
	pol.denialsMu.RUnlock()
	if ok {
		return r
	}
	// Slow path: the first denial of this principal on this stream.
	switch cause {
	case causeAnonymous:
		r = "stream " + strconv.Quote(stream) + " requires authentication"
	case causeNotListed:
		r = "principal " + strconv.Quote(name) + " is not a producer of stream " + strconv.Quote(stream)
	default:
		r = "principal " + strconv.Quote(name) + " may not write stream " + strconv.Quote(stream)
	}
	k.stream = strings.Clone(stream) // stream may be borrowed; name belongs to an immutable Principal
	pol.denialsMu.Lock()
	if pol.denials == nil || len(pol.denials) >= maxDenials {
		pol.denials = make(map[denialKey]string)
	}
	pol.denials[k] = r
	pol.denialsMu.Unlock()
	return r
}
