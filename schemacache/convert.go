package schemacache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"intake.dev/intake/fastpath"
)

// Limits on documents read from schema repositories and stream configs: a broken or hostile
// source must not make a load take unbounded memory or recursion.
const (
	maxDocumentBytes  = 8 << 20  // one schema document as read
	maxConfigBytes    = 64 << 20 // the stream config as read
	maxConvertedBytes = 32 << 20 // a YAML document expanded to JSON (aliases repeat content)
	maxYAMLDepth      = 200
)

// toJSON converts a schema or stream config document to compact JSON, keeping key order. A
// document whose first non-space byte is '{' or '[' is JSON; anything else is YAML.
func toJSON(data []byte) ([]byte, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var buf bytes.Buffer
		if err := json.Compact(&buf, trimmed); err != nil {
			return nil, fmt.Errorf("cannot parse JSON: %w", err)
		}
		return buf.Bytes(), nil
	}
	return yamlToJSON(data)
}

// yamlToJSON converts YAML to compact JSON the way js-yaml (which EventGate uses) reads the
// repositories, with one deliberate difference: timestamps and dates stay strings as written
// (js-yaml would make Date objects of quote-less 2020-01-01, which no schema means).
//
// It walks goccy's AST instead of decoding into interface values so that it controls every
// scalar: integers too large for int64 stay exact numbers, "1e3" is a number as in js-yaml, and
// key order is kept.
func yamlToJSON(data []byte) ([]byte, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot parse YAML: %w", err)
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			return nil, errors.New("cannot parse YAML: the file holds more than one document")
		}
		body = doc.Body
	}
	if body == nil {
		return nil, errors.New("cannot parse YAML: the file is empty")
	}
	c := &yamlConv{anchors: make(map[string]*jnode)}
	v, err := c.node(body, 0)
	if err != nil {
		return nil, err
	}
	return v.appendJSON(nil), nil
}

// jnode is the JSON tree a YAML document converts to. Nodes are immutable once built, so an
// alias shares the anchored node instead of converting it again.
type jnode struct {
	raw   []byte // scalar as JSON text, when keys and items are nil
	keys  []string
	vals  []*jnode
	items []*jnode
	isArr bool
	isObj bool
	size  int // length of its JSON text, so an alias bomb is caught before it is written
}

func (n *jnode) appendJSON(dst []byte) []byte {
	switch {
	case n.isObj:
		dst = append(dst, '{')
		for i, k := range n.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = n.vals[i].appendJSON(dst)
		}
		return append(dst, '}')
	case n.isArr:
		dst = append(dst, '[')
		for i, it := range n.items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = it.appendJSON(dst)
		}
		return append(dst, ']')
	default:
		return append(dst, n.raw...)
	}
}

type yamlConv struct {
	anchors map[string]*jnode
}

var (
	jsonNull  = &jnode{raw: []byte("null"), size: 4}
	jsonTrue  = &jnode{raw: []byte("true"), size: 4}
	jsonFalse = &jnode{raw: []byte("false"), size: 5}
)

func (c *yamlConv) scalar(raw []byte) (*jnode, error) {
	return &jnode{raw: raw, size: len(raw)}, nil
}

// grow adds n to a container's size and fails once the document would expand past the limit.
func (c *yamlConv) grow(parent *jnode, n int) error {
	parent.size += n
	if parent.size > maxConvertedBytes {
		return fmt.Errorf("cannot convert YAML: the document expands to more than %d bytes", maxConvertedBytes)
	}
	return nil
}

func (c *yamlConv) str(s string) (*jnode, error) { return c.scalar(appendJSONString(nil, s)) }

func (c *yamlConv) node(n ast.Node, depth int) (*jnode, error) {
	if depth > maxYAMLDepth {
		return nil, fmt.Errorf("cannot convert YAML: nested deeper than %d levels", maxYAMLDepth)
	}
	switch n := n.(type) {
	case nil:
		return jsonNull, nil
	case *ast.NullNode:
		return jsonNull, nil
	case *ast.BoolNode:
		if n.Value {
			return jsonTrue, nil
		}
		return jsonFalse, nil
	case *ast.IntegerNode:
		return c.integer(n)
	case *ast.FloatNode:
		return c.float(n.Token.Value, n.Value)
	case *ast.InfinityNode, *ast.NanNode:
		return nil, fmt.Errorf("cannot convert YAML at %s: %q has no JSON representation", position(n), n.GetToken().Value)
	case *ast.StringNode:
		if n.Token != nil && n.Token.Type == token.StringType {
			// Plain scalar: goccy leaves numbers it cannot hold (18446744073709552000) and
			// exponent forms without a dot (1e3) as strings; js-yaml reads them as numbers.
			if plainNumber.MatchString(n.Value) {
				return c.number(n.Value)
			}
		}
		return c.str(n.Value)
	case *ast.LiteralNode:
		if n.Value == nil {
			return c.str("")
		}
		return c.str(n.Value.Value)
	case *ast.AnchorNode:
		v, err := c.node(n.Value, depth+1)
		if err != nil {
			return nil, err
		}
		c.anchors[n.Name.GetToken().Value] = v
		return v, nil
	case *ast.AliasNode:
		name := n.Value.GetToken().Value
		v, ok := c.anchors[name]
		if !ok {
			return nil, fmt.Errorf("cannot convert YAML at %s: unknown alias *%s", position(n), name)
		}
		return v, nil
	case *ast.TagNode:
		return c.tagged(n, depth)
	case *ast.MappingNode:
		return c.mapping(n.Values, depth)
	case *ast.MappingValueNode:
		return c.mapping([]*ast.MappingValueNode{n}, depth)
	case *ast.SequenceNode:
		out := &jnode{isArr: true, items: make([]*jnode, 0, len(n.Values)), size: 2}
		for _, it := range n.Values {
			v, err := c.node(it, depth+1)
			if err != nil {
				return nil, err
			}
			if err := c.grow(out, v.size+1); err != nil {
				return nil, err
			}
			out.items = append(out.items, v)
		}
		return out, nil
	case *ast.DocumentNode:
		return c.node(n.Body, depth+1)
	case *ast.CommentNode, *ast.CommentGroupNode:
		return jsonNull, nil
	default:
		return nil, fmt.Errorf("cannot convert YAML at %s: unsupported node %s", position(n), n.Type())
	}
}

func (c *yamlConv) tagged(n *ast.TagNode, depth int) (*jnode, error) {
	tag := n.Start.Value
	switch token.ReservedTagKeyword(tag) {
	case token.StringTag, token.TimestampTag, token.BinaryTag:
		if n.Value == nil {
			return c.str("")
		}
		if s, ok := n.Value.(*ast.StringNode); ok {
			return c.str(s.Value)
		}
		if l, ok := n.Value.(*ast.LiteralNode); ok && l.Value != nil {
			return c.str(l.Value.Value)
		}
		return c.str(n.Value.GetToken().Value)
	case token.IntegerTag, token.FloatTag:
		text := strings.TrimSpace(n.Value.GetToken().Value)
		if plainNumber.MatchString(text) {
			return c.number(text)
		}
		return c.node(n.Value, depth+1)
	case token.NullTag:
		return jsonNull, nil
	case token.BooleanTag, token.MappingTag, token.SequenceTag, token.OrderedMapTag, token.SetTag:
		return c.node(n.Value, depth+1)
	default:
		return nil, fmt.Errorf("cannot convert YAML at %s: unknown tag %s", position(n), tag)
	}
}

func (c *yamlConv) mapping(values []*ast.MappingValueNode, depth int) (*jnode, error) {
	out := &jnode{isObj: true, size: 2}
	explicit := make(map[string]bool, len(values))
	for _, mv := range values {
		if mv.Key.IsMergeKey() {
			continue
		}
		k, err := c.key(mv.Key, depth)
		if err != nil {
			return nil, err
		}
		if explicit[k] {
			return nil, fmt.Errorf("cannot convert YAML at %s: duplicate key %q", position(mv), k)
		}
		explicit[k] = true
	}
	seen := make(map[string]bool, len(values))
	for _, mv := range values {
		if mv.Key.IsMergeKey() {
			// Merge key: the merged mappings' keys go here, unless the mapping sets them itself;
			// among several merged mappings the first one wins.
			merged, err := c.node(mv.Value, depth+1)
			if err != nil {
				return nil, err
			}
			sources := []*jnode{merged}
			if merged.isArr {
				sources = merged.items
			}
			for _, src := range sources {
				if !src.isObj {
					return nil, fmt.Errorf("cannot convert YAML at %s: a merge key needs a mapping", position(mv))
				}
				for i, k := range src.keys {
					if explicit[k] || seen[k] {
						continue
					}
					seen[k] = true
					if err := c.grow(out, len(k)+4+src.vals[i].size); err != nil {
						return nil, err
					}
					out.keys = append(out.keys, k)
					out.vals = append(out.vals, src.vals[i])
				}
			}
			continue
		}
		k, err := c.key(mv.Key, depth)
		if err != nil {
			return nil, err
		}
		v, err := c.node(mv.Value, depth+1)
		if err != nil {
			return nil, err
		}
		seen[k] = true
		if err := c.grow(out, len(k)+4+v.size); err != nil {
			return nil, err
		}
		out.keys = append(out.keys, k)
		out.vals = append(out.vals, v)
	}
	return out, nil
}

// key converts a mapping key to the string JavaScript would use as the property name.
func (c *yamlConv) key(k ast.MapKeyNode, depth int) (string, error) {
	var n ast.Node = k
	if mk, ok := k.(*ast.MappingKeyNode); ok {
		n = mk.Value
	}
	v, err := c.node(n, depth+1)
	if err != nil {
		return "", err
	}
	if v.isObj || v.isArr {
		return "", fmt.Errorf("cannot convert YAML at %s: a mapping key must be a scalar", position(n))
	}
	if len(v.raw) > 0 && v.raw[0] == '"' {
		var s string
		if err := json.Unmarshal(v.raw, &s); err != nil {
			return "", fmt.Errorf("BUG: cannot decode converted key %s: %w", v.raw, err)
		}
		return s, nil
	}
	return string(v.raw), nil
}

func (c *yamlConv) integer(n *ast.IntegerNode) (*jnode, error) {
	text := n.Token.Value
	if n.Token.Type == token.IntegerType && plainNumber.MatchString(text) {
		return c.number(text)
	}
	switch v := n.Value.(type) {
	case int64:
		return c.scalar(strconv.AppendInt(nil, v, 10))
	case uint64:
		return c.scalar(strconv.AppendUint(nil, v, 10))
	case int:
		return c.scalar(strconv.AppendInt(nil, int64(v), 10))
	default:
		return nil, fmt.Errorf("cannot convert YAML at %s: cannot read integer %q", position(n), text)
	}
}

func (c *yamlConv) float(text string, v float64) (*jnode, error) {
	if plainNumber.MatchString(text) {
		return c.number(text)
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil, fmt.Errorf("cannot convert YAML: %q has no JSON representation", text)
	}
	return c.scalar(fastpath.AppendJSNumber(nil, v))
}

// plainNumber matches the decimal numbers js-yaml reads from plain scalars.
var plainNumber = regexp.MustCompile(`^[-+]?(?:(?:0|[1-9][0-9_]*)(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?$`)

// number converts a decimal number as written in YAML to JSON: integers exactly, anything
// with a fraction or exponent as the double JavaScript would read.
func (c *yamlConv) number(text string) (*jnode, error) {
	t := strings.ReplaceAll(text, "_", "")
	t = strings.TrimPrefix(t, "+")
	if !strings.ContainsAny(t, ".eE") {
		if t == "-0" {
			t = "0"
		}
		var i big.Int
		if _, ok := i.SetString(t, 10); !ok {
			return nil, fmt.Errorf("cannot convert YAML: cannot read integer %q", text)
		}
		return c.scalar(i.Append(nil, 10))
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, fmt.Errorf("cannot convert YAML: cannot read number %q", text)
	}
	return c.scalar(fastpath.AppendJSNumber(nil, f))
}

func position(n ast.Node) string {
	if n == nil || n.GetToken() == nil || n.GetToken().Position == nil {
		return "?"
	}
	p := n.GetToken().Position
	return fmt.Sprintf("line %d column %d", p.Line, p.Column)
}

// appendJSONString appends s as a JSON string literal. Unlike strconv.Quote it writes JSON escapes
// (\u00XX, never \x), and it leaves valid UTF-8 as is.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == '\ufffd' && size == 1 {
				dst = append(dst, `\ufffd`...)
			} else if r == '\u2028' || r == '\u2029' {
				dst = append(dst, `\u202`...)
				dst = append(dst, hex[r&0xf])
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"':
			dst = append(dst, `\"`...)
		case c == '\\':
			dst = append(dst, `\\`...)
		case c == '\n':
			dst = append(dst, `\n`...)
		case c == '\r':
			dst = append(dst, `\r`...)
		case c == '\t':
			dst = append(dst, `\t`...)
		case c < 0x20:
			dst = append(dst, `\u00`...)
			dst = append(dst, hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
		i++
	}
	return append(dst, '"')
}
