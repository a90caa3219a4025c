package gen

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/klauspost/compress/gzip"
)

// Pool sizing: enough events that the invalid ratio is exact to 0.1% over one cycle of the pool
// and every source event appears, few enough that the pool stays small next to the bodies in flight.
const (
	minPoolBodies = 16
	minPoolEvents = 1000
	maxPoolEvents = 200000
)

const uuidLen = 36 // 8-4-4-4-12 hex digits

// body is one prebuilt request body. Bodies are shared by every connection and read-only; a
// connection that patches ids copies the body first.
type body struct {
	raw    []byte // the JSON: an object for one event, an array for more
	gz     []byte // raw gzipped, when --gzip and no per-request ids (else compressed per request)
	idOffs []int  // --unique-ids: where each event's meta.id value (uuidLen bytes) starts in raw
	valid  []bool // per event: sent valid (not broken on purpose)
	events int
}

// pool is the bodies of one run; request seq sends bodies[seq % len(bodies)].
type pool struct {
	bodies  []*body
	invalid int // invalid events over one cycle of the pool
	events  int // events over one cycle of the pool
	kinds   map[string]int
}

func poolSize(sourceEvents, batch int) int {
	n := max(minPoolBodies, ceilDiv(sourceEvents, batch), ceilDiv(minPoolEvents, batch))
	if n*batch > maxPoolEvents {
		n = max(2, maxPoolEvents/batch)
	}
	return n
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// buildPool encodes the bodies once, before the run: the generator's CPU goes to sending.
// Exactly round(ratio * events) events of a pool cycle are invalid, at positions drawn with seed.
func buildPool(src []event, cfg *Config) (*pool, error) {
	n := poolSize(len(src), cfg.Batch)
	total := n * cfg.Batch
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x10ad7e57))

	order := rng.Perm(len(src))
	nInvalid := int(math.Round(cfg.InvalidRatio * float64(total)))
	invalid := make([]bool, total)
	for _, i := range rng.Perm(total)[:nInvalid] {
		invalid[i] = true
	}

	p := &pool{invalid: nInvalid, events: total, kinds: map[string]int{}}
	var idSeed [32]byte
	crand.Read(idSeed[:])
	ids := newUUIDGen(idSeed)
	breaks := 0
	for bi := 0; bi < n; bi++ {
		b := &body{events: cfg.Batch, valid: make([]bool, cfg.Batch)}
		var raw []byte
		if cfg.Batch > 1 {
			raw = append(raw, '[')
		}
		for j := 0; j < cfg.Batch; j++ {
			k := bi*cfg.Batch + j
			ev := src[order[k%len(src)]]
			if invalid[k] || cfg.UniqueIDs {
				ev = clone(ev)
			}
			if invalid[k] {
				p.kinds[breakEvent(ev, breaks)]++
				breaks++
			}
			b.valid[j] = !invalid[k]
			var id []byte
			if cfg.UniqueIDs {
				id = ids.append(nil)
				metaOf(ev)["id"] = string(id)
			}
			if j > 0 {
				raw = append(raw, ',')
			}
			start := len(raw)
			var err error
			if raw, err = appendEvent(raw, ev); err != nil {
				return nil, fmt.Errorf("cannot encode an event: %w", err)
			}
			if cfg.UniqueIDs {
				// Fixed width: the id is found once, then patched in place before every send.
				i := bytes.Index(raw[start:], id)
				if i < 0 {
					panic("BUG: meta.id not found in its encoded event")
				}
				b.idOffs = append(b.idOffs, start+i)
			}
		}
		if cfg.Batch > 1 {
			raw = append(raw, ']')
		}
		b.raw = raw
		if cfg.Gzip && !cfg.UniqueIDs {
			b.gz = gzipAppend(nil, raw, gzip.DefaultCompression)
		}
		p.bodies = append(p.bodies, b)
	}
	return p, nil
}

// gzipAppend appends the gzip of src to dst.
func gzipAppend(dst, src []byte, level int) []byte {
	buf := bytes.NewBuffer(dst)
	w, err := gzip.NewWriterLevel(buf, level)
	if err != nil {
		panic("BUG: gzip level " + err.Error())
	}
	w.Write(src)
	w.Close()
	return buf.Bytes()
}

// uuidGen makes random (version 4) UUIDs from a fast seeded generator: one per connection, no
// locks, unique in practice across connections since each is seeded from crypto/rand.
type uuidGen struct {
	rng *rand.ChaCha8
}

func newUUIDGen(seed [32]byte) *uuidGen { return &uuidGen{rng: rand.NewChaCha8(seed)} }

func newUUIDGenRandom() *uuidGen {
	var seed [32]byte
	crand.Read(seed[:])
	return newUUIDGen(seed)
}

// put writes a new UUID into dst[:uuidLen].
func (g *uuidGen) put(dst []byte) {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], g.rng.Uint64())
	binary.LittleEndian.PutUint64(u[8:], g.rng.Uint64())
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	const hex = "0123456789abcdef"
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hex[c>>4], hex[c&0x0f]
		j += 2
	}
}

func (g *uuidGen) append(dst []byte) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, uuidLen)...)
	g.put(dst[n:])
	return dst
}
