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
		f, _ := v.Float64()
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

// collidingItems returns, for an array of at least uniqueHashFrom items, which items share their
// hash with another (only those can be equal), or nil when none does.
func collidingItems(a []*fastjson.Value) []bool {
	type ih struct {
		h uint64
		i int
	}
	hs := make([]ih, len(a))
	for i, e := range a {
		hs[i] = ih{itemHash(e, 0), i}
	}
	slices.SortFunc(hs, func(x, y ih) int {
		switch {
		case x.h < y.h:
			return -1
		case x.h > y.h:
			return 1
		}
		return 0
	})
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
