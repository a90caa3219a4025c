package fastpath

import (
	"bytes"
	"slices"

	"github.com/valyala/fastjson"
)

// maxPairwiseKeys is the object size up to which duplicate keys are found by comparing every pair;
// larger objects sort their keys instead.
const maxPairwiseKeys = 24

// duplicateKey finds a key that appears twice in one object of ev. fastjson keeps both (Get sees
// the first, serialization writes both), where JavaScript keeps the last: such an event would mean
// different things to different consumers, so it is refused. It returns the JSON pointer of the
// object and the key, or ok=false. keys is scratch space, returned for reuse.
func duplicateKey(ev *fastjson.Value, keys [][]byte, path []byte) (pointer []byte, key []byte, scratch [][]byte, found bool) {
	switch ev.Type() {
	case fastjson.TypeObject:
		o, _ := ev.Object()
		start := len(keys)
		o.Visit(func(k []byte, _ *fastjson.Value) { keys = append(keys, k) })
		own := keys[start:]
		if len(own) <= maxPairwiseKeys {
			for i := 1; i < len(own); i++ {
				for j := 0; j < i; j++ {
					if bytes.Equal(own[i], own[j]) {
						return path, own[i], keys, true
					}
				}
			}
		} else {
			// Slow path: a large object. Sort a copy at the end of the scratch space.
			sorted := append(keys, own...)[len(keys):]
			slices.SortFunc(sorted, bytes.Compare)
			for i := 1; i < len(sorted); i++ {
				if bytes.Equal(sorted[i], sorted[i-1]) {
					return path, sorted[i], keys, true
				}
			}
		}
		keys = keys[:start]
		var dup, k []byte
		found := false
		o.Visit(func(key []byte, c *fastjson.Value) {
			if found || (c.Type() != fastjson.TypeObject && c.Type() != fastjson.TypeArray) {
				return
			}
			n := len(path)
			p := AppendPointerToken(path, b2s(key))
			if dup, k, keys, found = duplicateKey(c, keys, p); !found {
				path = p[:n] // keep what the path grew to
			}
		})
		return dup, k, keys, found
	case fastjson.TypeArray:
		a, _ := ev.Array()
		for i, c := range a {
			if c.Type() != fastjson.TypeObject && c.Type() != fastjson.TypeArray {
				continue
			}
			n := len(path)
			p := appendIndexToken(path, i)
			dup, k, s, found := duplicateKey(c, keys, p)
			if found {
				return dup, k, s, true
			}
			keys, path = s, p[:n]
		}
	}
	return nil, nil, keys, false
}

func appendIndexToken(dst []byte, i int) []byte {
	var buf [20]byte
	j := len(buf)
	for {
		j--
		buf[j] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	dst = append(dst, '/')
	return append(dst, buf[j:]...)
}
