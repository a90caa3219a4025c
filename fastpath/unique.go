package fastpath

import (
	"hash/maphash"
	"math"
	"slices"

	"github.com/valyala/fastjson"
)

// uniqueItems over many items compares only the items whose hashes collide: comparing every pair
// made one event with a 20,000-item array cost two seconds of CPU. Small arrays keep the plain
// pairwise loops (no hashing, no allocation).
const uniqueHashFrom = 16

var uniqueSeed = maphash.MakeSeed()

// itemHash is consistent with jsonEqual: equal values hash alike (numbers by value, objects
// whatever their key order); unequal ones rarely do.
func itemHash(v *fastjson.Value, depth int) uint64 {
	if depth > maxValidateDepth {
		return 0
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		f := jsFloat(v)
		if f == 0 {
			f = 0 // -0 equals 0
		}
		return mix(1, math.Float64bits(f))
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return mix(2, maphash.Bytes(uniqueSeed, b))
	case fastjson.TypeArray:
		a, _ := v.Array()
		h := uint64(3)
		for _, e := range a {
			h = mix(h, itemHash(e, depth+1))
		}
		return h
	case fastjson.TypeObject:
		h := uint64(4)
		for _, kv := range objectMembers(v.GetObject()) {
			h += mix(maphash.String(uniqueSeed, kv.k), itemHash(kv.v, depth+1)) // order-free
		}
		return mix(h, 5)
	case fastjson.TypeTrue:
		return 6
	case fastjson.TypeFalse:
		return 7
	}
	return 8 // null
}

func mix(a, b uint64) uint64 {
	h := (a ^ b) * 0x9E3779B97F4A7C15
	return h ^ h>>29
}

// itemHashes is an item's hash and index.
type itemHashes struct {
	h uint64
	i int
}

// hashedItems fills dst with a's hashes, sorted by hash.
func hashedItems(dst []itemHashes, a []*fastjson.Value) []itemHashes {
	for i, e := range a {
		dst = append(dst, itemHashes{itemHash(e, 0), i})
	}
	slices.SortFunc(dst, func(x, y itemHashes) int {
		switch {
		case x.h < y.h:
			return -1
		case x.h > y.h:
			return 1
		}
		return 0
	})
	return dst
}

// hashedDuplicate reports whether two items of a are equal, comparing only items whose hashes
// collide. It does not allocate for arrays of up to len(stack) items: uniqueItems arrays of valid
// events are on the hot path of their streams.
func hashedDuplicate(a []*fastjson.Value, js bool) bool {
	var stack [64]itemHashes
	hs := hashedItems(stack[:0], a)
	for k := 0; k < len(hs); {
		end := k + 1
		for end < len(hs) && hs[end].h == hs[k].h {
			end++
		}
		for x := k; x < end; x++ {
			for y := x + 1; y < end; y++ {
				if jsonEqual(a[hs[x].i], a[hs[y].i], js, 0) {
					return true
				}
			}
		}
		k = end
	}
	return false
}

// collidingItems returns, for an array of at least uniqueHashFrom items, which items share their
// hash with another (only those can be equal), or nil when none does. For the error path (Ajv's
// pair), which may allocate.
func collidingItems(a []*fastjson.Value) []bool {
	hs := hashedItems(make([]itemHashes, 0, len(a)), a)
	var cand []bool
	for k := 1; k < len(hs); k++ {
		if hs[k].h == hs[k-1].h {
			if cand == nil {
				cand = make([]bool, len(a))
			}
			cand[hs[k].i], cand[hs[k-1].i] = true, true
		}
	}
	return cand
}

// uniqueRule is how Ajv 6 looks for the duplicate pair its uniqueItems error names: it depends on
// the types the items declare.
type uniqueRule struct {
	scalar bool    // items declare only scalar types
	types  typeSet // the types items declare
	js     bool    // the reading of numbers (see Program)
}

// uniqueRuleOf reads the types declared by a uniqueItems array's "items".
func uniqueRuleOf(items *fastjson.Value) uniqueRule {
	var u uniqueRule
	if items == nil || items.Type() != fastjson.TypeObject {
		return u
	}
	t := items.Get("type")
	if t == nil {
		return u
	}
	for _, e := range append([]*fastjson.Value{t}, t.GetArray()...) {
		if e.Type() == fastjson.TypeString {
			u.types |= typeNames[string(e.GetStringBytes())]
		}
	}
	u.scalar = u.types != 0 && u.types&(tObject|tArray) == 0
	return u
}

// duplicate finds the pair of equal items Ajv 6's uniqueItems names. For items of declared
// scalar types Ajv keys a map by the item, walking from the end (i < j, j the nearest later
// duplicate); otherwise it compares every pair from the end (i > j).
//
// With many items, only items whose hashes collide are compared: equal items always collide, so
// the loops find the same pair in the same order.
func (u uniqueRule) duplicate(a []*fastjson.Value) (i, j int, ok bool) {
	var cand []bool
	if len(a) >= uniqueHashFrom {
		if cand = collidingItems(a); cand == nil {
			return 0, 0, false
		}
	}
	skip := func(k int) bool { return cand != nil && !cand[k] }
	if u.scalar {
		for i := len(a) - 1; i >= 0; i-- {
			if skip(i) || !scalarTypeOK(u.types, a[i], u.js) {
				continue
			}
			for j := i + 1; j < len(a); j++ {
				if !skip(j) && scalarTypeOK(u.types, a[j], u.js) && jsonEqual(a[i], a[j], u.js, 0) {
					return i, j, true
				}
			}
		}
		return 0, 0, false
	}
	for i := len(a) - 1; i >= 0; i-- {
		if skip(i) {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if !skip(j) && jsonEqual(a[i], a[j], u.js, 0) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

func scalarTypeOK(ts typeSet, v *fastjson.Value, js bool) bool {
	t := v.Type()
	var f float64
	if t == fastjson.TypeNumber {
		f = jsFloat(v)
	}
	return typeOK(ts, v, t, f, js)
}
