package fastpath

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// CompileOptions configure Compile.
type CompileOptions struct {
	// FormatMode is FormatModeFast (the default: Ajv 6's fast formats, as EventGate) or
	// FormatModeFull (strict RFC 3339 dates, RFC 3986 URIs and so on).
	FormatMode string
	// BaseURI is the retrieval URI of the document: the base of its $id and $ref resolution.
	BaseURI string
	// Resolve returns the JSON document at an absolute URI that a $ref names (another schema of
	// the repositories; the caller decides which URIs are allowed). With nil, such a $ref does
	// not compile.
	Resolve func(uri string) ([]byte, error)
	// MaxErrors caps the errors reported for one event; 0 means 100.
	MaxErrors int
}

// ErrUnsupported is wrapped by Compile's error when the document uses something the compiled
// program cannot check (see the package's conformance exceptions). The caller then validates
// that schema another way.
var ErrUnsupported = errors.New("unsupported by the compiled validator")

const defaultMaxErrors = 100

// Program is a JSON schema compiled into checks that walk fastjson values directly. It is
// immutable and safe for concurrent use.
//
// It reads an event's numbers two ways, and the event is valid when either reading meets the
// schema. root reads them as JavaScript does, as Ajv 6 in EventGate does: each number is the
// double JSON.parse makes of it (100000000000000001 is 1e17, within "maximum": 1e17), compared
// and divided as doubles (jsFloat, ajvMultiple). So intake never refuses an event EventGate
// accepted. exact reads them as their text says, as JSON Schema does (9007199254740993 and
// 9007199254740992 are two items, "exclusiveMinimum": 9007199254740992 admits
// 9007199254740993), and is tried only when root refuses: the bytes go to Kafka as written, and
// what they say exactly meets the schema too. A refused event is reported in Ajv's reading, in
// EventGate's words.
type Program struct {
	root  *node
	exact *node // nil when no keyword reads a number: then both readings agree
	// exactAlways: the readings may differ on any event (multipleOf, or a number of the schema
	// with a shortTwin); else only on an event holding a number that needsExact.
	exactAlways bool
	maxErrors   int
	// parsers own the documents (the schema and what its $refs loaded): enum and const values
	// point into them.
	parsers []*fastjson.Parser
}

var _ Validator = (*Program)(nil)

// Compile compiles a schema document (JSON) into a Program.
func Compile(doc []byte, opts CompileOptions) (*Program, error) {
	c := &compiler{
		opts:      opts,
		resources: map[string]resource{},
		anchors:   map[string]resource{},
		baseOf:    map[*fastjson.Value]string{},
		loaded:    map[string]bool{},
		memo:      map[memoKey]*node{},
	}
	switch opts.FormatMode {
	case "", FormatModeFast:
		c.format = FastFormat
	case FormatModeFull:
		c.format = FullFormat
	default:
		return nil, fmt.Errorf("unknown format mode %q; want %q or %q", opts.FormatMode, FormatModeFast, FormatModeFull)
	}
	p := &Program{maxErrors: opts.MaxErrors}
	if p.maxErrors <= 0 {
		p.maxErrors = defaultMaxErrors
	}
	base := stripFragment(opts.BaseURI)
	root, err := c.parse(doc, base, draft7)
	if err != nil {
		return nil, err
	}
	c.js = true
	if p.root, err = c.compile(root, base, draftOf(root, draft7), "#"); err != nil {
		return nil, err
	}
	p.exactAlways = c.exactAlways
	if c.readsNumbers {
		c.js = false
		c.memo = map[memoKey]*node{}
		if p.exact, err = c.compile(root, base, draftOf(root, draft7), "#"); err != nil {
			return nil, err
		}
	}
	p.parsers = c.parsers
	return p, nil
}

type draft int

const (
	draft4    draft = 4
	draft6    draft = 6
	draft7    draft = 7
	draft2019 draft = 2019
	draft2020 draft = 2020
)

// draftOf reads the draft a document declares in $schema; def when it declares none.
func draftOf(v *fastjson.Value, def draft) draft {
	s := string(v.GetStringBytes("$schema"))
	switch {
	case s == "":
		return def
	case strings.Contains(s, "draft-04"):
		return draft4
	case strings.Contains(s, "draft-06"):
		return draft6
	case strings.Contains(s, "draft-07"):
		return draft7
	case strings.Contains(s, "2019-09"):
		return draft2019
	case strings.Contains(s, "2020-12"):
		return draft2020
	}
	return def
}

// resource is a schema reachable by URI, with the base URI and draft it is read with.
type resource struct {
	v     *fastjson.Value
	base  string
	draft draft
}

// memoKey names a compiled node: the schema value and the schema path it is reported under (the
// same value reached through a $ref reports under the $ref's path). Registering a node before
// compiling its children is what lets recursive schemas compile: a cycle meets the node again.
type memoKey struct {
	v  *fastjson.Value
	sp string
}

type compiler struct {
	opts      CompileOptions
	format    func(name string) func(string) bool
	resources map[string]resource // by absolute URI, no fragment
	anchors   map[string]resource // by absolute URI "#" anchor name
	baseOf    map[*fastjson.Value]string
	loaded    map[string]bool
	memo      map[memoKey]*node
	parsers   []*fastjson.Parser
	// js is the reading of the tree being compiled (see Program); readsNumbers is set by any
	// keyword whose verdict depends on it.
	js           bool
	readsNumbers bool
	exactAlways  bool
}

// parse parses and registers one document retrieved from uri.
func (c *compiler) parse(doc []byte, uri string, def draft) (*fastjson.Value, error) {
	p := &fastjson.Parser{}
	root, err := p.ParseBytes(doc)
	if err != nil {
		return nil, fmt.Errorf("cannot parse schema %q: %w", uri, err)
	}
	// Validation reads schema values (enum, const) from many goroutines: take fastjson's lazy
	// unescaping writes now.
	Settle(root)
	c.parsers = append(c.parsers, p)
	c.loaded[uri] = true
	d := draftOf(root, def)
	c.resources[uri] = resource{v: root, base: uri, draft: d}
	if err := c.register(root, uri, d, 0); err != nil {
		return nil, err
	}
	return root, nil
}

// register walks a document's schemas and records every $id (embedded resources, later ones
// winning as in Ajv 6) and anchor, and the base URI of each schema that changes it.
func (c *compiler) register(v *fastjson.Value, base string, d draft, depth int) error {
	if depth > maxSchemaDepth*4 || v.Type() != fastjson.TypeObject {
		return nil
	}
	if depth > 0 && v.Get("$schema") != nil && v.Get(idKeyword(d)) != nil {
		d = draftOf(v, d)
	}
	// Draft 7 and before: a $ref's siblings are ignored, its $id among them.
	if id := v.Get(idKeyword(d)); id != nil && id.Type() == fastjson.TypeString && (d >= draft2019 || v.Get("$ref") == nil) {
		abs, err := resolveURI(base, string(id.GetStringBytes()))
		if err != nil {
			return fmt.Errorf("cannot read $id %q: %w", id.GetStringBytes(), err)
		}
		doc, frag := splitFragment(abs)
		if doc != "" && doc != stripFragment(base) || frag == "" {
			base = doc
			c.resources[doc] = resource{v: v, base: doc, draft: d}
			c.baseOf[v] = doc
		}
		if frag != "" && d < draft2019 {
			c.anchors[stripFragment(base)+"#"+frag] = resource{v: v, base: base, draft: d}
		}
	}
	if d >= draft2019 {
		for _, k := range [...]string{"$anchor", "$dynamicAnchor"} {
			if a := v.Get(k); a != nil && a.Type() == fastjson.TypeString {
				c.anchors[stripFragment(base)+"#"+string(a.GetStringBytes())] = resource{v: v, base: base, draft: d}
			}
		}
	}
	o, _ := v.Object()
	var err error
	o.Visit(func(k []byte, child *fastjson.Value) {
		if err != nil {
			return
		}
		switch string(k) {
		case "properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "dependencies":
			if co, e := child.Object(); e == nil {
				co.Visit(func(_ []byte, s *fastjson.Value) {
					if err == nil {
						err = c.register(s, base, d, depth+1)
					}
				})
			}
		case "additionalProperties", "additionalItems", "contains", "propertyNames", "not", "if", "then", "else",
			"unevaluatedProperties", "unevaluatedItems", "contentSchema":
			err = c.register(child, base, d, depth+1)
		case "items", "allOf", "anyOf", "oneOf", "prefixItems":
			if child.Type() == fastjson.TypeArray {
				for _, s := range child.GetArray() {
					if err == nil {
						err = c.register(s, base, d, depth+1)
					}
				}
			} else {
				err = c.register(child, base, d, depth+1)
			}
		}
	})
	return err
}

func idKeyword(d draft) string {
	if d == draft4 {
		return "id"
	}
	return "$id"
}

func stripFragment(u string) string {
	if i := strings.IndexByte(u, '#'); i >= 0 {
		return u[:i]
	}
	return u
}

func splitFragment(u string) (doc, frag string) {
	if i := strings.IndexByte(u, '#'); i >= 0 {
		return u[:i], u[i+1:]
	}
	return u, ""
}

// resolveURI resolves ref against base (RFC 3986), keeping URNs and relative bases working.
func resolveURI(base, ref string) (string, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	if r.IsAbs() || base == "" {
		return r.String(), nil
	}
	if strings.HasPrefix(ref, "#") {
		return stripFragment(base) + ref, nil
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	if b.Opaque != "" {
		return "", fmt.Errorf("cannot resolve %q against %q", ref, base)
	}
	return b.ResolveReference(r).String(), nil
}

// resolveRef finds the schema a $ref names, loading other documents through Resolve.
func (c *compiler) resolveRef(ref, base string, d draft) (resource, error) {
	abs, err := resolveURI(base, ref)
	if err != nil {
		return resource{}, fmt.Errorf("cannot resolve $ref %q: %w", ref, err)
	}
	doc, frag := splitFragment(abs)
	if f, err := url.PathUnescape(frag); err == nil {
		frag = f
	}
	if frag != "" && frag[0] != '/' {
		key := doc + "#" + frag
		if r, ok := c.anchors[key]; ok {
			return r, nil
		}
		if err := c.load(doc, d); err != nil {
			return resource{}, err
		}
		if r, ok := c.anchors[key]; ok {
			return r, nil
		}
		return resource{}, fmt.Errorf("cannot resolve $ref %q: no anchor %q in %q", ref, frag, doc)
	}
	r, ok := c.resources[doc]
	if !ok {
		if err := c.load(doc, d); err != nil {
			return resource{}, err
		}
		if r, ok = c.resources[doc]; !ok {
			return resource{}, fmt.Errorf("cannot resolve $ref %q", ref)
		}
	}
	if frag == "" {
		return r, nil
	}
	cur, curBase := r.v, r.base
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch cur.Type() {
		case fastjson.TypeObject:
			o, _ := cur.Object()
			cur = o.Get(tok)
		case fastjson.TypeArray:
			i, err := strconv.Atoi(tok)
			a, _ := cur.Array()
			if err != nil || i < 0 || i >= len(a) {
				cur = nil
			} else {
				cur = a[i]
			}
		default:
			cur = nil
		}
		if cur == nil {
			return resource{}, fmt.Errorf("cannot resolve $ref %q: nothing at %q", ref, frag)
		}
		if b, ok := c.baseOf[cur]; ok {
			curBase = b
		}
	}
	return resource{v: cur, base: curBase, draft: r.draft}, nil
}

func (c *compiler) load(uri string, d draft) error {
	if c.loaded[uri] {
		return nil
	}
	if c.opts.Resolve == nil {
		return fmt.Errorf("cannot resolve $ref to %q: no resolver for other documents", uri)
	}
	doc, err := c.opts.Resolve(uri)
	if err != nil {
		return fmt.Errorf("cannot resolve $ref to %q: %w", uri, err)
	}
	_, err = c.parse(doc, uri, d)
	return err
}

func (c *compiler) compile(v *fastjson.Value, base string, d draft, sp string) (*node, error) {
	key := memoKey{v, sp}
	if n := c.memo[key]; n != nil {
		return n, nil
	}
	n := newNode(sp)
	n.js = c.js
	c.memo[key] = n
	switch v.Type() {
	case fastjson.TypeTrue:
		n.boolean = 1
		return n, nil
	case fastjson.TypeFalse:
		n.boolean = -1
		n.falseErr = check{AjvFalseSchema(), sp}
		return n, nil
	case fastjson.TypeObject:
	default:
		return nil, fmt.Errorf("schema at %s is a JSON %s, not an object or a boolean", sp, v.Type())
	}
	if b, ok := c.baseOf[v]; ok {
		base = b
	}
	o, _ := v.Object()
	if err := c.compileKeywords(n, o, base, d); err != nil {
		return nil, err
	}
	if n.types&tInteger != 0 || n.hasNumber || n.arr.uniqueItems || n.gen.constV != nil || n.gen.enum != nil {
		c.readsNumbers = true
	}
	if n.num.multipleOf != nil || hasShortTwin(n.gen.constV, 0) {
		c.exactAlways = true
	}
	for _, l := range n.num.limits {
		c.exactAlways = c.exactAlways || shortTwin(l.text, l.limit)
	}
	for _, e := range n.gen.enum {
		c.exactAlways = c.exactAlways || hasShortTwin(e, 0)
	}
	return n, nil
}

// hasShortTwin reports whether a value of the schema (const, enum) holds a number with a
// shortTwin.
func hasShortTwin(v *fastjson.Value, depth int) bool {
	if v == nil || depth > maxSchemaDepth {
		return false
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		return shortTwin(rawNumber(v), jsFloat(v))
	case fastjson.TypeArray:
		for _, e := range v.GetArray() {
			if hasShortTwin(e, depth+1) {
				return true
			}
		}
	case fastjson.TypeObject:
		for _, kv := range objectMembers(v.GetObject()) {
			if hasShortTwin(kv.v, depth+1) {
				return true
			}
		}
	}
	return false
}

// sub compiles the subschema under keyword (and an optional member name or index).
func (c *compiler) sub(n *node, v *fastjson.Value, base string, d draft, path ...string) (*node, error) {
	sp := n.sp
	for _, p := range path {
		sp += "/" + SchemaPathToken(p)
	}
	return c.compile(v, base, d, sp)
}

// SchemaPathToken escapes a property name for an Ajv schema path: a JSON pointer token, then
// encodeURIComponent (Ajv's util.escapeFragment), so "$schema" reads "%24schema".
func SchemaPathToken(name string) string {
	name = strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

func jsonText(s string) string { return string(AppendJSONString(nil, s)) }
