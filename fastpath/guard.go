package fastpath

import (
	"slices"

	"github.com/valyala/fastjson"
)

// maxPairwiseKeys is the object size up to which duplicate keys are found by comparing every pair;
// larger objects sort their keys instead.
const maxPairwiseKeys = 24

// duplicateKey finds a key that appears twice in one object of ev. fastjson keeps both (Get sees
// the first, serialization writes both), where JavaScript keeps the last: such an event would mean
// different things to different consumers, so it is refused. It returns the JSON pointer of the
// object and the key, or ok=false; an object's own keys are checked before its members' objects.
// keys is scratch space for large objects, returned for reuse. Plain loops over the members (no
// Visit closures): this runs on every event.
func duplicateKey(ev *fastjson.Value, keys []string, path []byte) (pointer []byte, key string, scratch []string, found bool) {
	switch ev.Type() {
	case fastjson.TypeObject:
		o, _ := ev.Object()
		kvs := objectMembers(o)
		if len(kvs) <= maxPairwiseKeys {
			for i := 1; i < len(kvs); i++ {
				for j := 0; j < i; j++ {
					if kvs[i].k == kvs[j].k {
						return path, kvs[i].k, keys, true
					}
				}
			}
		} else {
			// Slow path: a large object. Sort its keys in the scratch space.
			start := len(keys)
			for _, kv := range kvs {
				keys = append(keys, kv.k)
			}
			if k, dup := sortedDuplicate(keys[start:]); dup {
				return path, k, keys, true
			}
			keys = keys[:start]
		}
		for _, kv := range kvs {
			if t := kv.v.Type(); t != fastjson.TypeObject && t != fastjson.TypeArray {
				continue
			}
			n := len(path)
			p := AppendPointerToken(path, kv.k)
			dup, k, s, found := duplicateKey(kv.v, keys, p)
			if found {
				return dup, k, s, true
			}
			keys, path = s, p[:n] // keep what the path grew to
		}
	case fastjson.TypeArray:
		a, _ := ev.Array()
		for i, c := range a {
			if t := c.Type(); t != fastjson.TypeObject && t != fastjson.TypeArray {
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
	return nil, "", keys, false
}

// sortedDuplicate sorts keys in place and returns a key that appears in it twice.
func sortedDuplicate(keys []string) (string, bool) {
	slices.Sort(keys)
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] {
			return keys[i], true
		}
	}
	return "", false
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
