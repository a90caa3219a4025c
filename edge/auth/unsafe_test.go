package auth

import "unsafe"

// b2s returns b as a string without copying, as the edge does with fastjson memory; the string is
// valid only while b is unchanged.
func b2s(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
