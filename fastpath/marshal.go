package fastpath

import "github.com/valyala/fastjson"

// AppendJSON appends v as compact JSON. It replaces fastjson's MarshalTo, which re-quotes a string
// it has unescaped with Go's strconv rules ("\x00", "\a"): not JSON. Here every string is written
// with JSON's escapes, whatever was read from it before.
func AppendJSON(dst []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		dst = append(dst, '{')
		first := true
		o.Visit(func(k []byte, c *fastjson.Value) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = AppendJSONString(dst, b2s(k))
			dst = append(dst, ':')
			dst = AppendJSON(dst, c)
		})
		return append(dst, '}')
	case fastjson.TypeArray:
		a, _ := v.Array()
		dst = append(dst, '[')
		for i, c := range a {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSON(dst, c)
		}
		return append(dst, ']')
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return AppendJSONString(dst, b2s(b))
	default:
		// Numbers keep their text as received; true, false and null are fixed.
		return v.MarshalTo(dst)
	}
}
