package fastpath

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
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
type Program struct {
	root      *node
	maxErrors int
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
	if p.root, err = c.compile(root, base, draftOf(root, draft7), "#"); err != nil {
		return nil, err
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

// typeSet is a set of JSON Schema types.
type typeSet uint8

const (
	tNull typeSet = 1 << iota
	tBoolean
	tObject
	tArray
	tNumber
	tInteger
	tString
)

var typeNames = map[string]typeSet{
	"null": tNull, "boolean": tBoolean, "object": tObject, "array": tArray,
	"number": tNumber, "integer": tInteger, "string": tString,
}

// check is one keyword's error as reported, worded at compile time.
type check struct {
	keyword    string
	schemaPath string
	params     string
	message    string
}

type numLimit struct {
	limit float64
	text  string // the limit as written, for the exact slow branch
	max   bool   // a maximum (else a minimum)
	excl  bool
	err   check
}

type multipleOf struct {
	f     float64
	text  string
	isInt bool // an integer float64 holds exactly
	dec   decimal
	decOK bool
	err   check
}

type propEntry struct {
	name   string
	node   *node
	reqBit uint64 // the bit of this property in node.reqMask, 0 when not required
}

type patEntry struct {
	re   *regexp.Regexp
	node *node
}

type requiredEntry struct {
	name string
	err  check
}

type depRequired struct {
	prop    string
	deps    []string
	missing []check // by dependency
}

type depSchema struct {
	prop string
	node *node
}

// node is one compiled schema. Keyword groups hold what applies to one type of instance; the
// has* flags let a value skip the groups of other types.
type node struct {
	sp       string // the schema path, "#/properties/meta"
	boolean  int8   // 1: the schema true, -1: false, 0: an object schema
	falseErr check

	types   typeSet
	typeErr check

	hasNumber  bool
	limits     []numLimit
	multipleOf *multipleOf

	hasString    bool
	maxLength    int // -1 when absent
	minLength    int
	maxLengthErr check
	minLengthErr check
	pattern      *regexp.Regexp
	patternErr   check
	format       func(string) bool
	formatErr    check

	hasArray       bool
	maxItems       int // -1 when absent
	minItems       int
	maxItemsErr    check
	minItemsErr    check
	tuple          []*node // items as a list (draft 7) or prefixItems (2020-12)
	items          *node   // every element after the tuple
	itemsFalse     bool    // no element after the tuple is allowed: one error, not one per element
	itemsFalseErr  check
	contains       *node
	minContains    int
	maxContains    int // -1 when absent
	containsErr    check
	maxContainsErr check
	uniqueItems    bool
	uniqueScalar   bool // items declare only scalar types: Ajv 6 names the duplicate pair differently
	uniqueTypeArr  bool
	uniqueTypes    typeSet
	uniqueSP       string

	hasObject     bool
	walkKeys      bool // some check needs every key of the object
	maxProps      int  // -1 when absent
	minProps      int
	maxPropsErr   check
	minPropsErr   check
	required      []requiredEntry
	reqMask       uint64 // every required property is declared: seen through the key walk
	depRequired   []depRequired
	depSchemas    []depSchema
	propertyNames *node
	propNamesSP   string
	props         []propEntry
	propIndex     map[string]int
	propTable     []int32 // see lookup
	patterns      []patEntry
	additional    *node
	addFalse      bool
	addSP         string

	hasGeneric bool
	ref        *node
	constV     *fastjson.Value
	constErr   check
	enum       []*fastjson.Value
	enumErr    check
	not        *node
	notErr     check
	anyOf      []*node
	anyOfErr   check
	oneOf      []*node
	oneOfSP    string
	allOf      []*node
	ifN        *node
	thenN      *node
	elseN      *node
	thenErr    check
	elseErr    check
}

func (c *compiler) compile(v *fastjson.Value, base string, d draft, sp string) (*node, error) {
	key := memoKey{v, sp}
	if n := c.memo[key]; n != nil {
		return n, nil
	}
	n := &node{sp: sp, maxLength: -1, maxItems: -1, maxContains: -1, maxProps: -1, minContains: 1}
	c.memo[key] = n
	switch v.Type() {
	case fastjson.TypeTrue:
		n.boolean = 1
		return n, nil
	case fastjson.TypeFalse:
		n.boolean = -1
		n.falseErr = check{"false schema", sp, "{}", "boolean schema is false"}
		return n, nil
	case fastjson.TypeObject:
	default:
		return nil, fmt.Errorf("schema at %s is a JSON %s, not an object or a boolean", sp, v.Type())
	}
	if b, ok := c.baseOf[v]; ok {
		base = b
	}
	if err := c.compileObject(n, v, base, d); err != nil {
		return nil, err
	}
	return n, nil
}

// sub compiles the subschema under keyword (and an optional member name or index).
func (c *compiler) sub(n *node, v *fastjson.Value, base string, d draft, path ...string) (*node, error) {
	sp := n.sp
	for _, p := range path {
		sp += "/" + SchemaPathToken(p)
	}
	return c.compile(v, base, d, sp)
}

func (c *compiler) compileObject(n *node, s *fastjson.Value, base string, d draft) error {
	sp := n.sp
	o, _ := s.Object()
	get := o.Get
	if d >= draft2019 {
		for _, k := range [...]string{"$recursiveRef", "$dynamicRef", "unevaluatedProperties", "unevaluatedItems"} {
			if get(k) != nil {
				return fmt.Errorf("%w: %s (at %s)", ErrUnsupported, k, sp)
			}
		}
	}
	if ref := get("$ref"); ref != nil && ref.Type() == fastjson.TypeString {
		refs := string(ref.GetStringBytes())
		r, err := c.resolveRef(refs, base, d)
		if err != nil {
			return err
		}
		n.ref, err = c.compile(r.v, r.base, r.draft, refs)
		if err != nil {
			return err
		}
		n.hasGeneric = true
		if d < draft2019 {
			// Draft 7 and before (and Ajv 6): a $ref's siblings are ignored.
			return nil
		}
	}

	// type
	if t := get("type"); t != nil {
		var text string
		switch t.Type() {
		case fastjson.TypeString:
			text = string(t.GetStringBytes())
			ts, ok := typeNames[text]
			if !ok {
				return fmt.Errorf("unknown type %q at %s", text, sp)
			}
			n.types = ts
		case fastjson.TypeArray:
			var names []string
			for _, e := range t.GetArray() {
				name := string(e.GetStringBytes())
				ts, ok := typeNames[name]
				if !ok {
					return fmt.Errorf("unknown type %q at %s", name, sp)
				}
				n.types |= ts
				names = append(names, name)
			}
			text = strings.Join(names, ",")
			if len(names) == 0 {
				return fmt.Errorf("empty type list at %s", sp)
			}
		default:
			return fmt.Errorf("type at %s is neither a string nor a list", sp)
		}
		n.typeErr = check{"type", sp + "/type", `{"type":` + jsonText(text) + `}`, "should be " + text}
	}

	// number
	if err := c.compileNumber(n, o, d); err != nil {
		return err
	}

	// string
	if l, ok, err := nonNegInt(get("maxLength"), "maxLength", sp); err != nil {
		return err
	} else if ok {
		n.maxLength = l
		n.maxLengthErr = limitCheck("maxLength", sp, l, "should NOT be longer than %s characters")
		n.hasString = true
	}
	if l, ok, err := nonNegInt(get("minLength"), "minLength", sp); err != nil {
		return err
	} else if ok {
		n.minLength = l
		n.minLengthErr = limitCheck("minLength", sp, l, "should NOT be shorter than %s characters")
		n.hasString = true
	}
	if p := get("pattern"); p != nil && p.Type() == fastjson.TypeString {
		pat := string(p.GetStringBytes())
		re, err := compileECMA(pat)
		if err != nil {
			return fmt.Errorf("pattern at %s: %w", sp, err)
		}
		n.pattern = re
		n.patternErr = check{"pattern", sp + "/pattern", `{"pattern":` + jsonText(pat) + `}`, `should match pattern "` + pat + `"`}
		n.hasString = true
	}
	if f := get("format"); f != nil && f.Type() == fastjson.TypeString {
		name := string(f.GetStringBytes())
		if fn := c.format(name); fn != nil {
			n.format = fn
			n.formatErr = check{"format", sp + "/format", `{"format":` + jsonText(name) + `}`, `should match format "` + name + `"`}
			n.hasString = true
		}
	}

	// array
	if err := c.compileArray(n, o, base, d); err != nil {
		return err
	}
	// object
	if err := c.compileObjectKeywords(n, o, base, d); err != nil {
		return err
	}

	// generic
	if cv := get("const"); cv != nil {
		n.constV = cv
		n.constErr = check{"const", sp + "/const", `{"allowedValue":` + string(AppendJSON(nil, cv)) + `}`, "should be equal to constant"}
		n.hasGeneric = true
	}
	if ev := get("enum"); ev != nil {
		if ev.Type() != fastjson.TypeArray {
			return fmt.Errorf("enum at %s is not a list", sp)
		}
		n.enum = ev.GetArray()
		if n.enum == nil {
			n.enum = []*fastjson.Value{}
		}
		n.enumErr = check{"enum", sp + "/enum", `{"allowedValues":` + string(AppendJSON(nil, ev)) + `}`, "should be equal to one of the allowed values"}
		n.hasGeneric = true
	}
	if nv := get("not"); nv != nil {
		var err error
		if n.not, err = c.sub(n, nv, base, d, "not"); err != nil {
			return err
		}
		n.notErr = check{"not", sp + "/not", "{}", "should NOT be valid"}
		n.hasGeneric = true
	}
	for _, kw := range [...]string{"anyOf", "oneOf", "allOf"} {
		av := get(kw)
		if av == nil {
			continue
		}
		if av.Type() != fastjson.TypeArray || len(av.GetArray()) == 0 {
			return fmt.Errorf("%s at %s is not a non-empty list", kw, sp)
		}
		var list []*node
		for i, e := range av.GetArray() {
			sn, err := c.sub(n, e, base, d, kw, strconv.Itoa(i))
			if err != nil {
				return err
			}
			list = append(list, sn)
		}
		switch kw {
		case "anyOf":
			n.anyOf = list
			n.anyOfErr = check{"anyOf", sp + "/anyOf", "{}", "should match some schema in anyOf"}
		case "oneOf":
			n.oneOf = list
			n.oneOfSP = sp + "/oneOf"
		default:
			n.allOf = list
		}
		n.hasGeneric = true
	}
	if iv := get("if"); iv != nil && d >= draft7 {
		var err error
		if n.ifN, err = c.sub(n, iv, base, d, "if"); err != nil {
			return err
		}
		if tv := get("then"); tv != nil {
			if n.thenN, err = c.sub(n, tv, base, d, "then"); err != nil {
				return err
			}
		}
		if ev := get("else"); ev != nil {
			if n.elseN, err = c.sub(n, ev, base, d, "else"); err != nil {
				return err
			}
		}
		n.thenErr = check{"if", sp + "/if", `{"failingKeyword":"then"}`, `should match "then" schema`}
		n.elseErr = check{"if", sp + "/if", `{"failingKeyword":"else"}`, `should match "else" schema`}
		if n.thenN == nil && n.elseN == nil {
			n.ifN = nil // nothing to decide
		} else {
			n.hasGeneric = true
		}
	}
	return nil
}

func (c *compiler) compileNumber(n *node, o *fastjson.Object, d draft) error {
	sp := n.sp
	for _, kw := range [...]string{"maximum", "minimum"} {
		max := kw == "maximum"
		exclKw := "exclusiveMaximum"
		if !max {
			exclKw = "exclusiveMinimum"
		}
		lv, ev := o.Get(kw), o.Get(exclKw)
		draft4Excl := ev != nil && ev.Type() == fastjson.TypeTrue
		if lv != nil {
			l, err := numLimitOf(lv, kw, sp)
			if err != nil {
				return err
			}
			l.max = max
			l.excl = draft4Excl
			l.err = limitErr(kw, sp, l, draft4Excl)
			n.limits = append(n.limits, l)
			n.hasNumber = true
		}
		if ev != nil && ev.Type() == fastjson.TypeNumber {
			l, err := numLimitOf(ev, exclKw, sp)
			if err != nil {
				return err
			}
			l.max = max
			l.excl = true
			l.err = limitErr(exclKw, sp, l, true)
			n.limits = append(n.limits, l)
			n.hasNumber = true
		}
	}
	if mv := o.Get("multipleOf"); mv != nil {
		f, err := mv.Float64()
		if err != nil || f <= 0 || math.IsInf(f, 0) {
			return fmt.Errorf("multipleOf at %s is not a positive number", sp)
		}
		m := &multipleOf{f: f, text: rawNumber(mv)}
		m.isInt = f == math.Trunc(f) && f < 1<<53
		m.dec, m.decOK = parseDecimal(m.text)
		t := string(AppendJSNumber(nil, f))
		m.err = check{"multipleOf", sp + "/multipleOf", `{"multipleOf":` + t + `}`, "should be multiple of " + t}
		n.multipleOf = m
		n.hasNumber = true
	}
	return nil
}

func numLimitOf(v *fastjson.Value, kw, sp string) (numLimit, error) {
	f, err := v.Float64()
	if v.Type() != fastjson.TypeNumber || err != nil {
		return numLimit{}, fmt.Errorf("%s at %s is not a number", kw, sp)
	}
	return numLimit{limit: f, text: rawNumber(v)}, nil
}

// limitErr words a limit as Ajv 6's _limit rule does.
func limitErr(kw, sp string, l numLimit, excl bool) check {
	op := ">="
	if l.max {
		op = "<="
	}
	if excl {
		op = op[:1]
	}
	t := string(AppendJSNumber(nil, l.limit))
	return check{kw, sp + "/" + kw, `{"comparison":"` + op + `","limit":` + t + `,"exclusive":` + strconv.FormatBool(excl) + `}`, "should be " + op + " " + t}
}

func limitCheck(kw, sp string, l int, msg string) check {
	t := strconv.Itoa(l)
	return check{kw, sp + "/" + kw, `{"limit":` + t + `}`, fmt.Sprintf(msg, t)}
}

func nonNegInt(v *fastjson.Value, kw, sp string) (int, bool, error) {
	if v == nil {
		return 0, false, nil
	}
	f, err := v.Float64()
	if v.Type() != fastjson.TypeNumber || err != nil || f < 0 || f != math.Trunc(f) {
		return 0, false, fmt.Errorf("%s at %s is not a non-negative integer", kw, sp)
	}
	if f > math.MaxInt32 {
		f = math.MaxInt32
	}
	return int(f), true, nil
}

func (c *compiler) compileArray(n *node, o *fastjson.Object, base string, d draft) error {
	sp := n.sp
	var err error
	if l, ok, err := nonNegInt(o.Get("maxItems"), "maxItems", sp); err != nil {
		return err
	} else if ok {
		n.maxItems = l
		n.maxItemsErr = limitCheck("maxItems", sp, l, "should NOT have more than %s items")
		n.hasArray = true
	}
	if l, ok, err := nonNegInt(o.Get("minItems"), "minItems", sp); err != nil {
		return err
	} else if ok {
		n.minItems = l
		n.minItemsErr = limitCheck("minItems", sp, l, "should NOT have fewer than %s items")
		n.hasArray = true
	}
	tupleKw := "items"
	items := o.Get("items")
	var rest *fastjson.Value
	restKw := "additionalItems"
	if d >= draft2020 {
		tupleKw = "prefixItems"
		if pi := o.Get("prefixItems"); pi != nil {
			rest, restKw = items, "items"
			items = pi
		} else if items != nil && items.Type() != fastjson.TypeArray {
			rest, restKw, items = items, "items", nil
		} else {
			rest, restKw = o.Get("additionalItems"), "additionalItems"
		}
	} else if items != nil && items.Type() == fastjson.TypeArray {
		rest = o.Get("additionalItems")
	} else if items != nil {
		rest, restKw, items = items, "items", nil
	}
	if items != nil {
		if items.Type() != fastjson.TypeArray {
			return fmt.Errorf("%s at %s is not a list", tupleKw, sp)
		}
		for i, e := range items.GetArray() {
			sn, err := c.sub(n, e, base, d, tupleKw, strconv.Itoa(i))
			if err != nil {
				return err
			}
			n.tuple = append(n.tuple, sn)
		}
		n.hasArray = true
	}
	if rest != nil {
		if rest.Type() == fastjson.TypeFalse && (items != nil || restKw == "additionalItems") {
			// Ajv 6: one error for the array ("should NOT have more than 2 items"), not one
			// per extra element.
			n.itemsFalse = true
			n.itemsFalseErr = limitCheck(restKw, sp, len(n.tuple), "should NOT have more than %s items")
		} else if n.items, err = c.sub(n, rest, base, d, restKw); err != nil {
			return err
		}
		n.hasArray = true
	}
	if cv := o.Get("contains"); cv != nil {
		if n.contains, err = c.sub(n, cv, base, d, "contains"); err != nil {
			return err
		}
		n.containsErr = check{"contains", sp + "/contains", "{}", "should contain a valid item"}
		if d >= draft2019 {
			if l, ok, err := nonNegInt(o.Get("minContains"), "minContains", sp); err != nil {
				return err
			} else if ok {
				n.minContains = l
				if l != 1 {
					t := strconv.Itoa(l)
					n.containsErr = check{"contains", sp + "/minContains", `{"minContains":` + t + `}`, "should contain at least " + t + " valid item(s)"}
				}
			}
			if l, ok, err := nonNegInt(o.Get("maxContains"), "maxContains", sp); err != nil {
				return err
			} else if ok {
				n.maxContains = l
				t := strconv.Itoa(l)
				n.maxContainsErr = check{"contains", sp + "/maxContains", `{"maxContains":` + t + `}`, "should contain at most " + t + " valid item(s)"}
			}
		}
		n.hasArray = true
	}
	if u := o.Get("uniqueItems"); u != nil && u.Type() == fastjson.TypeTrue {
		n.uniqueItems = true
		n.uniqueSP = sp + "/uniqueItems"
		n.hasArray = true
		// Ajv 6 looks for the duplicate pair one way when the items declare only scalar
		// types, another way otherwise; its message names the pair it found.
		if it := o.Get("items"); it != nil && it.Type() == fastjson.TypeObject {
			if t := it.Get("type"); t != nil {
				for _, e := range append([]*fastjson.Value{t}, t.GetArray()...) {
					if e.Type() == fastjson.TypeString {
						n.uniqueTypes |= typeNames[string(e.GetStringBytes())]
					}
				}
				n.uniqueTypeArr = t.Type() == fastjson.TypeArray
				n.uniqueScalar = n.uniqueTypes != 0 && n.uniqueTypes&(tObject|tArray) == 0
			}
		}
	}
	return nil
}

func (c *compiler) compileObjectKeywords(n *node, o *fastjson.Object, base string, d draft) error {
	sp := n.sp
	var err error
	if l, ok, err := nonNegInt(o.Get("maxProperties"), "maxProperties", sp); err != nil {
		return err
	} else if ok {
		n.maxProps = l
		n.maxPropsErr = limitCheck("maxProperties", sp, l, "should NOT have more than %s properties")
		n.hasObject = true
	}
	if l, ok, err := nonNegInt(o.Get("minProperties"), "minProperties", sp); err != nil {
		return err
	} else if ok {
		n.minProps = l
		n.minPropsErr = limitCheck("minProperties", sp, l, "should NOT have fewer than %s properties")
		n.hasObject = true
	}
	if rv := o.Get("required"); rv != nil {
		if rv.Type() != fastjson.TypeArray {
			return fmt.Errorf("required at %s is not a list", sp)
		}
		for _, e := range rv.GetArray() {
			if e.Type() != fastjson.TypeString {
				return fmt.Errorf("required at %s lists a non-string", sp)
			}
			name := string(e.GetStringBytes())
			n.required = append(n.required, requiredEntry{name, check{"required", sp + "/required",
				`{"missingProperty":` + jsonText(name) + `}`, "should have required property '" + name + "'"}})
		}
		n.hasObject = n.hasObject || len(n.required) > 0
	}
	depKw := []string{"dependencies"}
	if d >= draft2019 {
		depKw = []string{"dependentRequired", "dependentSchemas"}
	}
	for _, kw := range depKw {
		dv := o.Get(kw)
		if dv == nil || dv.Type() != fastjson.TypeObject {
			continue
		}
		do, _ := dv.Object()
		var derr error
		do.Visit(func(k []byte, v *fastjson.Value) {
			if derr != nil {
				return
			}
			prop := string(k)
			if v.Type() == fastjson.TypeArray && kw != "dependentSchemas" {
				dr := depRequired{prop: prop}
				for _, e := range v.GetArray() {
					dr.deps = append(dr.deps, string(e.GetStringBytes()))
				}
				list := strings.Join(dr.deps, ", ")
				what := "properties " + list
				if len(dr.deps) == 1 {
					what = "property " + list
				}
				for _, m := range dr.deps {
					dr.missing = append(dr.missing, check{"dependencies", sp + "/" + kw,
						`{"property":` + jsonText(prop) + `,"missingProperty":` + jsonText(m) + `,"depsCount":` + strconv.Itoa(len(dr.deps)) + `,"deps":` + jsonText(list) + `}`,
						"should have " + what + " when property " + prop + " is present"})
				}
				n.depRequired = append(n.depRequired, dr)
				return
			}
			if kw == "dependentRequired" {
				return
			}
			sn, e := c.sub(n, v, base, d, kw, prop)
			if e != nil {
				derr = e
				return
			}
			n.depSchemas = append(n.depSchemas, depSchema{prop, sn})
		})
		if derr != nil {
			return derr
		}
		n.hasObject = n.hasObject || len(n.depRequired) > 0 || len(n.depSchemas) > 0
	}
	if pn := o.Get("propertyNames"); pn != nil {
		if n.propertyNames, err = c.sub(n, pn, base, d, "propertyNames"); err != nil {
			return err
		}
		n.propNamesSP = sp + "/propertyNames"
		n.hasObject, n.walkKeys = true, true
	}
	if pv := o.Get("properties"); pv != nil && pv.Type() == fastjson.TypeObject {
		po, _ := pv.Object()
		var perr error
		po.Visit(func(k []byte, v *fastjson.Value) {
			if perr != nil {
				return
			}
			name := string(k)
			sn, e := c.sub(n, v, base, d, "properties", name)
			if e != nil {
				perr = e
				return
			}
			if n.propIndex == nil {
				n.propIndex = map[string]int{}
			}
			if i, dup := n.propIndex[name]; dup {
				n.props[i].node = sn
				return
			}
			n.propIndex[name] = len(n.props)
			n.props = append(n.props, propEntry{name: name, node: sn})
		})
		if perr != nil {
			return perr
		}
		n.hasObject, n.walkKeys = true, true
	}
	if pv := o.Get("patternProperties"); pv != nil && pv.Type() == fastjson.TypeObject {
		po, _ := pv.Object()
		var perr error
		po.Visit(func(k []byte, v *fastjson.Value) {
			if perr != nil {
				return
			}
			re, e := compileECMA(string(k))
			if e != nil {
				perr = fmt.Errorf("patternProperties at %s: %w", sp, e)
				return
			}
			sn, e := c.sub(n, v, base, d, "patternProperties", string(k))
			if e != nil {
				perr = e
				return
			}
			n.patterns = append(n.patterns, patEntry{re, sn})
		})
		if perr != nil {
			return perr
		}
		n.hasObject, n.walkKeys = true, true
	}
	if av := o.Get("additionalProperties"); av != nil {
		n.addSP = sp + "/additionalProperties"
		switch av.Type() {
		case fastjson.TypeFalse:
			n.addFalse = true
		case fastjson.TypeTrue:
		default:
			if n.additional, err = c.sub(n, av, base, d, "additionalProperties"); err != nil {
				return err
			}
		}
		n.hasObject, n.walkKeys = true, true
	}
	if len(n.props) > 0 {
		size := 4
		for size < 2*len(n.props) {
			size *= 2
		}
		n.propTable = make([]int32, size)
		for i := range n.propTable {
			n.propTable[i] = -1
		}
		mask := uint32(size - 1)
		for i := range n.props {
			h := propHash(n.props[i].name) & mask
			for n.propTable[h] >= 0 {
				h = (h + 1) & mask
			}
			n.propTable[h] = int32(i)
		}
	}
	// Required properties that are all declared, and not too many, are counted off during the
	// walk over the keys instead of being looked up one by one.
	if len(n.required) > 0 && len(n.required) <= 64 && n.walkKeys {
		var mask uint64
		for i, r := range n.required {
			pi, ok := n.propIndex[r.name]
			if !ok {
				mask = 0
				break
			}
			n.props[pi].reqBit |= 1 << i
			mask |= 1 << i
		}
		if mask == 0 {
			for i := range n.props {
				n.props[i].reqBit = 0
			}
		}
		n.reqMask = mask
	}
	return nil
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
