package httpval

import "bytes"

// TrimOWS trims the optional white space (spaces and tabs) HTTP allows around a header value.
func TrimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// Next splits the first element off a comma-separated list, white space trimmed; elem is empty
// for an empty element (RFC 9110, 5.6.1 allows them), rest is nil after the last.
func Next(list []byte) (elem, rest []byte) {
	if i := bytes.IndexByte(list, ','); i >= 0 {
		return TrimOWS(list[:i]), list[i+1:]
	}
	return TrimOWS(list), nil
}

// EqualFold compares ASCII b with lower-case a, ignoring b's case.
func EqualFold(b []byte, a string) bool {
	if len(b) != len(a) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != a[i] {
			return false
		}
	}
	return true
}
