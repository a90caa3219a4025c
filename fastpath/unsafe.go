package fastpath

import (
	"unsafe"

	"github.com/valyala/fastjson"
)

// b2s returns b as a string without copying. The string is valid only while b is neither modified
// nor reused: never keep it beyond the life of the buffer it came from.
func b2s(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// fastjsonValue mirrors the layout of fastjson.Value (v1.6, pinned in go.mod; TestFastjsonMirror
// breaks on a change). The compiled validator uses it to read a number's text without a copy and
// to dress an object key as a string value for propertyNames without an allocation.
type fastjsonValue struct {
	o fastjsonObject
	a []*fastjson.Value
	s string
	t fastjson.Type
}

func init() {
	if unsafe.Sizeof(fastjsonValue{}) != unsafe.Sizeof(fastjson.Value{}) {
		panic("BUG: fastjson.Value's layout changed; fix fastjsonValue")
	}
}

// rawNumber returns the text of a number value as it was parsed. It is valid as long as v.
func rawNumber(v *fastjson.Value) string {
	return (*fastjsonValue)(unsafe.Pointer(v)).s
}

// setStringValue makes v a string value holding s (already unescaped). v borrows s.
func setStringValue(v *fastjson.Value, s string) {
	*(*fastjsonValue)(unsafe.Pointer(v)) = fastjsonValue{s: s, t: fastjson.TypeString}
}

// fastjsonObject mirrors fastjson.Object (see fastjsonValue).
type fastjsonObject struct {
	kvs           []fastjsonKV
	keysUnescaped bool
}

type fastjsonKV struct {
	k string
	v *fastjson.Value
}

// objectMembers returns o's members in order, keys unescaped, for a plain loop that can stop
// early (Visit calls a closure per member and cannot). The slice is o's own: read only, valid as
// long as o.
func objectMembers(o *fastjson.Object) []fastjsonKV {
	m := (*fastjsonObject)(unsafe.Pointer(o))
	if !m.keysUnescaped {
		o.Visit(func([]byte, *fastjson.Value) {}) // unescapes the keys, once
	}
	return m.kvs
}

// unsafePointer is v's address, for the mirror types.
func unsafePointer(v *fastjson.Value) unsafe.Pointer { return unsafe.Pointer(v) }
