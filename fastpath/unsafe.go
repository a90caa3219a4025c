package fastpath

import "unsafe"

// b2s returns b as a string without copying. The string is valid only while b is neither modified
// nor reused: never keep it beyond the life of the buffer it came from.
func b2s(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
