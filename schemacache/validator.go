package schemacache

import (
	"cmp"
	"encoding/json"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/kaptinlin/jsonschema"
	"github.com/valyala/fastjson"

	"intake.dev/intake/fastpath"
)

// validator is the fastpath.Validator of one schema: kaptinlin/jsonschema decides, and its result
// tree is reworded into the errors Ajv 6 (and so EventGate) reports, because EventGate clients
// read them. The words and their order are fastpath's (AjvOrder, AjvError), as the compiled
// program's are.
//
// Like the compiled program (fastpath.Program), it reads an event's numbers two ways and the
// event is valid when either reading meets the schema: schema reads them exactly, as kaptinlin
// does; js is the same schema with its numbers as JavaScript reads them, given the event with its
// numbers read so too (fastpath.AppendJSReading), which is Ajv 6's reading but for one thing:
// kaptinlin's multipleOf divides exactly, where Ajv's floating-point division also calls a
// quotient whole that rounds to one (1e17 is a multiple of 3 for Ajv and the program, not here).
type validator struct {
	schema *jsonschema.Schema
	js     *jsonschema.Schema // nil: only the exact reading (the load-time check)
	// doc is the schema as written, for wording errors (the limit, the pattern, the enum). Frozen
	// at build time (see freeze), read-only afterwards; parser owns it.
	doc    *fastjson.Value
	parser fastjson.Parser
}

var _ fastpath.Validator = (*validator)(nil)

// maxPooledBuf bounds the buffers kept in bufPool: one huge event must not pin its buffer.
const maxPooledBuf = 1 << 20

var bufPool sync.Pool

func getBuf() *[]byte {
	if v := bufPool.Get(); v != nil {
		return v.(*[]byte)
	}
	b := make([]byte, 0, 4096)
	return &b
}

func putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

var parserPool fastjson.ParserPool

// Validate implements fastpath.Validator. v is only read: it is serialized into a pooled buffer
// that kaptinlin decodes with exact numbers.
func (vd *validator) Validate(v *fastjson.Value, errs *fastpath.Errors) bool {
	bp := getBuf()
	buf := fastpath.AppendJSON((*bp)[:0], v)
	res := vd.schema.ValidateJSON(buf)
	ok := res.IsValid()
	if !ok && vd.js != nil {
		// Slow path: invalid read exactly; maybe valid as Ajv 6 reads its numbers. Reported in
		// that reading, as EventGate would.
		start := len(buf)
		buf = fastpath.AppendJSReading(buf, v)
		res = vd.js.ValidateJSON(buf[start:])
		if ok = res.IsValid(); !ok {
			vd.render(res, buf[start:], errs)
		}
	} else if !ok {
		// Slow path: the event is invalid. Word its errors from a private parse of buf (v may
		// share values with other requests, and reading fastjson values is not always
		// race-free).
		vd.render(res, buf, errs)
	}
	*bp = buf
	putBuf(bp)
	return ok
}

type renderer struct {
	root *fastjson.Value // the schema document, for local $refs
	out  []fastpath.ValidationError
}

func (vd *validator) render(res *jsonschema.EvaluationResult, buf []byte, errs *fastpath.Errors) {
	p := parserPool.Get()
	defer parserPool.Put(p)
	inst, err := p.ParseBytes(buf)
	if err != nil {
		inst = nil
	}
	r := &renderer{root: vd.doc}
	r.walk(res, vd.doc, "#", inst, "", 0)
	if len(r.out) == 0 {
		// Every error was a summary of nothing we could place: say what kaptinlin said rather
		// than report an invalid event without a reason.
		r.fallbackAll(res, "", 0)
	}
	for _, e := range r.out {
		errs.Add(e.Keyword, e.InstancePath, e.SchemaPath, e.Params, e.Message)
	}
}

const maxRenderDepth = 128

func (r *renderer) add(keyword, instancePath, schemaPath, params, message string) {
	r.out = append(r.out, fastpath.ValidationError{
		Keyword: keyword, InstancePath: instancePath, SchemaPath: schemaPath, Params: params, Message: message,
	})
}

// addAjv adds an error worded by fastpath's Ajv 6 words.
func (r *renderer) addAjv(instancePath, schemaPath string, e fastpath.AjvError) {
	r.add(e.Keyword, instancePath, schemaPath, e.Params, e.Message)
}

// walk renders the errors of one result node. sch is the schema node it evaluated (nil when
// unknown, e.g. behind a non-local $ref), sp its Ajv schema path, inst the instance value and ip
// its JSON pointer.
//
// kaptinlin keeps errors in maps and children in map order; walk emits them in the order Ajv 6
// evaluates (its rule order, properties in schema order, data keys in data order, a composite's
// own error after its children's), so that errorsText reads as EventGate's would.
func (r *renderer) walk(res *jsonschema.EvaluationResult, sch *fastjson.Value, sp string, inst *fastjson.Value, ip string, depth int) {
	if res == nil || depth > maxRenderDepth {
		return
	}
	type step struct {
		rank  float64
		order int
		kw    string                       // an error of this node, or
		d     *jsonschema.EvaluationResult // a child result
		name  string
	}
	var steps []step
	for k := range res.Errors {
		rk := ajvRank(k)
		switch k {
		case "anyOf", "oneOf", "then", "else":
			rk += 0.5 // after the children it summarizes
		}
		steps = append(steps, step{rank: rk, kw: k})
	}
	var propOrder, keyOrder map[string]int
	for _, d := range res.Details {
		if d == nil || d.Valid {
			continue
		}
		kw, name := splitEvaluationPath(d.EvaluationPath)
		st := step{d: d, kw: kw, name: name, rank: ajvRank(kw) + 0.1}
		switch kw {
		case "properties":
			if propOrder == nil {
				propOrder = memberOrder(schemaGet(sch, "properties"))
			}
			st.order = propOrder[name]
		case "additionalProperties", "propertyNames", "patternProperties":
			if keyOrder == nil {
				keyOrder = memberOrder(inst)
			}
			st.order = keyOrder[name]
			if kw == "additionalProperties" {
				st.rank = ajvRank(kw) // checked in the same loop over data keys as the "false" form
			} else if kw == "patternProperties" {
				st.rank += 0.1
			}
		case "":
			if schemaGet(sch, "$ref") == nil && schemaGet(sch, "else") != nil {
				st.rank = ajvRank("else") + 0.1
			} else {
				st.rank = ajvRank("$ref") + 0.1
			}
		default:
			st.order, _ = strconv.Atoi(name)
		}
		steps = append(steps, st)
	}
	slices.SortStableFunc(steps, func(a, b step) int {
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		if c := cmp.Compare(a.order, b.order); c != 0 {
			return c
		}
		return cmp.Compare(a.kw+"/"+a.name, b.kw+"/"+b.name)
	})
	for _, st := range steps {
		if st.d == nil {
			r.leaf(st.kw, res.Errors[st.kw], sch, sp, inst, ip)
		} else {
			r.child(st.d, st.kw, st.name, sch, sp, inst, ip, depth)
		}
	}
}

// child renders the errors of a child result: kw and name are its keyword and (property name or
// index) as kaptinlin's per-level evaluation path gives them.
func (r *renderer) child(d *jsonschema.EvaluationResult, kw, name string, sch *fastjson.Value, sp string, inst *fastjson.Value, ip string, depth int) {
	switch kw {
	case "properties":
		child := objectGet(inst, name)
		if child == nil {
			// kaptinlin also evaluates a missing required property against null; Ajv reports
			// only "required", which the parent renders.
			return
		}
		r.walk(d, schemaGet(sch, "properties", name), sp+"/properties/"+fastpath.SchemaPathToken(name), child, ip+pointerToken(name), depth+1)
	case "patternProperties":
		child := objectGet(inst, name)
		if child == nil {
			return
		}
		// kaptinlin names the property, not the pattern: find the pattern that matched.
		pat, psch := matchingPattern(sch, name)
		if psch == nil {
			r.walk(d, nil, sp+"/patternProperties", child, ip+pointerToken(name), depth+1)
			return
		}
		r.walk(d, psch, sp+"/patternProperties/"+fastpath.SchemaPathToken(pat), child, ip+pointerToken(name), depth+1)
	case "additionalProperties":
		ap := schemaGet(sch, "additionalProperties")
		if isFalseSchema(ap) {
			return // worded once per property by the parent's "additionalProperties"
		}
		child := objectGet(inst, name)
		if child == nil {
			return
		}
		r.walk(d, ap, sp+"/additionalProperties", child, ip+pointerToken(name), depth+1)
	case "propertyNames":
		// Ajv reports the name's errors at the object, then says which name failed.
		var a fastjson.Arena
		r.walk(d, schemaGet(sch, "propertyNames"), sp+"/propertyNames", a.NewString(name), ip, depth+1)
		_, ae := fastpath.AppendAjvPropertyName(nil, name)
		r.addAjv(ip, sp+"/propertyNames", ae)
	case "items", "prefixItems":
		idx, err := strconv.Atoi(name)
		if err != nil {
			return
		}
		child := arrayGet(inst, idx)
		if child == nil {
			return
		}
		csch, csp := itemSchema(sch, sp, kw, idx)
		if isFalseSchema(csch) {
			return // worded by the parent's "items" (additionalItems: false)
		}
		r.walk(d, csch, csp, child, ip+"/"+name, depth+1)
	case "dependentSchemas":
		csch := schemaGet(sch, "dependentSchemas", name)
		csp := sp + "/dependentSchemas/" + fastpath.SchemaPathToken(name)
		if csch == nil {
			csch = schemaGet(sch, "dependencies", name)
			csp = sp + "/dependencies/" + fastpath.SchemaPathToken(name)
		}
		r.walk(d, csch, csp, inst, ip, depth+1)
	case "not":
		// The subschema passed, which is why "not" failed: nothing below to report.
	case "if":
		// A failed "if" is not an error: it picks "else".
	case "contains":
		// Ajv 6 reports only "should contain a valid item", on the parent.
	case "":
		// kaptinlin leaves the path of a $ref's result and of an "else" result empty. In
		// draft-07 a $ref ignores its siblings, so a schema with both is read as the $ref.
		if ref := schemaGet(sch, "$ref"); ref != nil && ref.Type() == fastjson.TypeString {
			target := string(ref.GetStringBytes())
			r.walk(d, r.localRef(target), target, inst, ip, depth+1)
		} else if els := schemaGet(sch, "else"); els != nil {
			r.walk(d, els, sp+"/else", inst, ip, depth+1)
		} else {
			r.walk(d, nil, sp, inst, ip, depth+1)
		}
	default:
		// In-place applicators: allOf/N, anyOf/N, oneOf/N, then...
		var csch *fastjson.Value
		if name != "" {
			csch = schemaGet(sch, kw, name)
		} else {
			csch = schemaGet(sch, kw)
		}
		r.walk(d, csch, sp+d.EvaluationPath, inst, ip, depth+1)
	}
}

// ajvRank places a keyword's errors in Ajv 6's order (fastpath.AjvOrder). walk adds fractions
// to it: a child's errors come after its keyword's own, a summary (anyOf, oneOf, then, else)
// after its children's.
func ajvRank(kw string) float64 { return float64(fastpath.AjvOrder(kw)) }

// memberOrder maps each member name of an object to its position.
func memberOrder(v *fastjson.Value) map[string]int {
	m := map[string]int{}
	if v == nil || v.Type() != fastjson.TypeObject {
		return m
	}
	o, _ := v.Object()
	o.Visit(func(k []byte, _ *fastjson.Value) { m[string(k)] = len(m) })
	return m
}

// localRef returns the schema a "#/..." $ref names in the document, or nil (for other refs the
// errors keep kaptinlin's words).
func (r *renderer) localRef(ref string) *fastjson.Value {
	if ref == "#" {
		return r.root
	}
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var keys []string
	for _, tok := range strings.Split(ref[2:], "/") {
		if t, err := url.PathUnescape(tok); err == nil {
			tok = t
		}
		keys = append(keys, strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~"))
	}
	return schemaGet(r.root, keys...)
}

// leaf words one error kaptinlin reported on a node. Summaries of applicators whose children
// carry the real error are dropped.
func (r *renderer) leaf(kw string, e *jsonschema.EvaluationError, sch *fastjson.Value, sp string, inst *fastjson.Value, ip string) {
	switch kw {
	case "properties", "patternProperties", "propertyNames", "prefixItems", "allOf", "$ref", "$dynamicRef",
		"dependentSchemas", "contentSchema", "unevaluatedProperties", "unevaluatedItems":
		return
	}
	if sch == nil {
		if kw != "items" && kw != "additionalProperties" {
			r.fallback(kw, e, sp, ip)
		}
		return
	}
	switch kw {
	case "items":
		// With "items" given as a list (draft-07 tuples), kaptinlin's "items" is additionalItems.
		if items := sch.Get("items"); items != nil && items.Type() == fastjson.TypeArray && isFalseSchema(sch.Get("additionalItems")) {
			r.addAjv(ip, sp+"/additionalItems", fastpath.AjvCountLimit("additionalItems", strconv.Itoa(len(items.GetArray()))))
		}
		return
	case "additionalProperties":
		if !isFalseSchema(sch.Get("additionalProperties")) || inst == nil || inst.Type() != fastjson.TypeObject {
			return
		}
		o, _ := inst.Object()
		o.Visit(func(k []byte, _ *fastjson.Value) {
			key := string(k)
			if declared(sch, key) {
				return
			}
			_, ae := fastpath.AppendAjvAdditionalProperty(nil, key)
			r.addAjv(ip, sp+"/additionalProperties", ae)
		})
	case "type":
		names := typeNames(sch.Get("type"))
		if strings.Join(names, ",") == "" {
			r.fallback(kw, e, sp, ip)
			return
		}
		r.addAjv(ip, sp+"/type", fastpath.AjvType(names))
	case "required":
		n := len(r.out)
		if inst != nil && inst.Type() == fastjson.TypeObject {
			for _, rv := range sch.GetArray("required") {
				name := string(rv.GetStringBytes())
				if rv.Type() != fastjson.TypeString || inst.Get(name) != nil {
					continue
				}
				r.addAjv(ip, sp+"/required", fastpath.AjvRequired(name))
			}
		}
		if len(r.out) == n {
			r.fallback(kw, e, sp, ip)
		}
	case "enum":
		r.addAjv(ip, sp+"/enum", fastpath.AjvEnum(rawJSON(sch.Get("enum"))))
	case "const":
		r.addAjv(ip, sp+"/const", fastpath.AjvConst(rawJSON(sch.Get("const"))))
	case "pattern":
		r.addAjv(ip, sp+"/pattern", fastpath.AjvPattern(string(sch.GetStringBytes("pattern"))))
	case "format":
		r.addAjv(ip, sp+"/format", fastpath.AjvFormat(string(sch.GetStringBytes("format"))))
	case "minimum", "maximum":
		r.limit(kw, sch, sp, ip, false)
	case "exclusiveMinimum", "exclusiveMaximum":
		plain := "minimum"
		if kw == "exclusiveMaximum" {
			plain = "maximum"
		}
		if ex := sch.Get(kw); ex != nil && ex.Type() == fastjson.TypeTrue {
			// Draft-04 boolean form: Ajv reports it as the plain keyword.
			r.limit(plain, sch, sp, ip, true)
			return
		}
		r.limit(kw, sch, sp, ip, true)
	case "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties":
		r.addAjv(ip, sp+"/"+kw, fastpath.AjvCountLimit(kw, jsNumberText(sch.Get(kw))))
	case "multipleOf":
		r.addAjv(ip, sp+"/multipleOf", fastpath.AjvMultipleOf(jsNumberText(sch.Get("multipleOf"))))
	case "uniqueItems":
		// GetArray is nil for an instance that is not an array: no pair.
		i, j, ok := fastpath.AjvDuplicate(inst.GetArray(), schemaGet(sch, "items"))
		if !ok {
			r.fallback(kw, e, sp, ip)
			return
		}
		_, ae := fastpath.AppendAjvUniqueItems(nil, i, j)
		r.addAjv(ip, sp+"/uniqueItems", ae)
	case "schema":
		r.addAjv(ip, sp, fastpath.AjvFalseSchema())
	case "anyOf":
		r.addAjv(ip, sp+"/anyOf", fastpath.AjvAnyOf())
	case "oneOf":
		_, ae := fastpath.AppendAjvOneOf(nil, passingSchemas(e)...)
		r.addAjv(ip, sp+"/oneOf", ae)
	case "not":
		r.addAjv(ip, sp+"/not", fastpath.AjvNot())
	case "then", "else":
		r.addAjv(ip, sp+"/if", fastpath.AjvIf(kw))
	case "contains":
		r.addAjv(ip, sp+"/contains", fastpath.AjvContains())
	case "dependentRequired":
		if !r.dependencies(sch, sp, inst, ip) {
			r.fallback(kw, e, sp, ip)
		}
	default:
		r.fallback(kw, e, sp, ip)
	}
}

// limit words minimum/maximum and their exclusive forms.
func (r *renderer) limit(keyword string, sch *fastjson.Value, sp, ip string, exclusive bool) {
	r.addAjv(ip, sp+"/"+keyword, fastpath.AjvNumberLimit(keyword, jsNumberText(sch.Get(keyword)), exclusive))
}

// passingSchemas reads the branches kaptinlin found passing from its oneOf error; none when it
// found none.
func passingSchemas(e *jsonschema.EvaluationError) []int {
	m, ok := e.Params["matches"].(string)
	if !ok || e.Code != "one_of_multiple_matches" {
		return nil
	}
	var passing []int
	for _, s := range strings.Split(m, ",") {
		i, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil
		}
		passing = append(passing, i)
	}
	return passing
}

// dependencies words draft-07 property dependencies ("dependencies": {"a": ["b"]}) as Ajv 6:
// one error per missing dependency of each present property.
func (r *renderer) dependencies(sch *fastjson.Value, sp string, inst *fastjson.Value, ip string) bool {
	if inst == nil || inst.Type() != fastjson.TypeObject {
		return false
	}
	key := "dependencies"
	deps := sch.GetObject(key)
	if deps == nil {
		key = "dependentRequired"
		deps = sch.GetObject(key)
	}
	if deps == nil {
		return false
	}
	n := len(r.out)
	deps.Visit(func(k []byte, v *fastjson.Value) {
		prop := string(k)
		if v.Type() != fastjson.TypeArray || inst.Get(prop) == nil {
			return
		}
		var names []string
		for _, d := range v.GetArray() {
			names = append(names, string(d.GetStringBytes()))
		}
		for _, m := range names {
			if inst.Get(m) != nil {
				continue
			}
			r.addAjv(ip, sp+"/"+key, fastpath.AjvDependency(prop, m, names))
		}
	})
	return len(r.out) > n
}

// fallback keeps kaptinlin's own words for what Ajv 6 has no wording for.
func (r *renderer) fallback(kw string, e *jsonschema.EvaluationError, sp, ip string) {
	// A schema in another document (a $ref across files) is not in the rendering copy, but
	// kaptinlin names a missing property itself, quoted ('dt'): word it as Ajv does.
	if name, ok := e.Params["property"].(string); ok && kw == "required" && len(name) > 1 && name[0] == '\'' {
		r.addAjv(ip, sp+"/required", fastpath.AjvRequired(strings.Trim(name, "'")))
		return
	}
	params := "{}"
	if len(e.Params) > 0 {
		if b, err := json.Marshal(e.Params); err == nil {
			params = string(b)
		}
	}
	r.add(kw, ip, sp+"/"+kw, params, e.Error())
}

func (r *renderer) fallbackAll(res *jsonschema.EvaluationResult, ip string, depth int) {
	if res == nil || depth > maxRenderDepth {
		return
	}
	ip += res.InstanceLocation
	keys := make([]string, 0, len(res.Errors))
	for k := range res.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r.fallback(k, res.Errors[k], "#"+res.EvaluationPath, ip)
	}
	for _, d := range res.Details {
		if d != nil && !d.Valid {
			r.fallbackAll(d, ip, depth+1)
		}
	}
}

// splitEvaluationPath splits kaptinlin's per-level evaluation path ("/properties/a/b") into the
// keyword and the rest, which is the raw (unescaped) property name or index.
func splitEvaluationPath(p string) (kw, name string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return p, ""
}

func schemaGet(sch *fastjson.Value, keys ...string) *fastjson.Value {
	if sch == nil || sch.Type() != fastjson.TypeObject {
		return nil
	}
	return sch.Get(keys...)
}

func objectGet(v *fastjson.Value, name string) *fastjson.Value {
	if v == nil || v.Type() != fastjson.TypeObject {
		return nil
	}
	o, _ := v.Object()
	return o.Get(name)
}

func arrayGet(v *fastjson.Value, i int) *fastjson.Value {
	if v == nil || v.Type() != fastjson.TypeArray {
		return nil
	}
	a, _ := v.Array()
	if i < 0 || i >= len(a) {
		return nil
	}
	return a[i]
}

// itemSchema returns the schema (and its Ajv path) an array element was checked against.
func itemSchema(sch *fastjson.Value, sp, kw string, idx int) (*fastjson.Value, string) {
	items := schemaGet(sch, "items")
	tuple := items != nil && items.Type() == fastjson.TypeArray
	i := strconv.Itoa(idx)
	if kw == "prefixItems" {
		if schemaGet(sch, "prefixItems") != nil {
			return schemaGet(sch, "prefixItems", i), sp + "/prefixItems/" + i
		}
		return schemaGet(sch, "items", i), sp + "/items/" + i
	}
	if tuple {
		return schemaGet(sch, "additionalItems"), sp + "/additionalItems"
	}
	return items, sp + "/items"
}

func isFalseSchema(v *fastjson.Value) bool { return v != nil && v.Type() == fastjson.TypeFalse }

// declared reports whether an object schema covers key through properties or patternProperties.
func declared(sch *fastjson.Value, key string) bool {
	if props := sch.GetObject("properties"); props != nil && props.Get(key) != nil {
		return true
	}
	pat, _ := matchingPattern(sch, key)
	return pat != ""
}

func matchingPattern(sch *fastjson.Value, key string) (string, *fastjson.Value) {
	pp := schemaGet(sch, "patternProperties")
	if pp == nil || pp.Type() != fastjson.TypeObject {
		return "", nil
	}
	o, _ := pp.Object()
	var pat string
	var psch *fastjson.Value
	o.Visit(func(k []byte, v *fastjson.Value) {
		if pat != "" {
			return
		}
		re, err := regexp.Compile(string(k))
		if err == nil && re.MatchString(key) {
			pat, psch = string(k), v
		}
	})
	return pat, psch
}

// typeNames returns the types a schema's "type" names, as written.
func typeNames(v *fastjson.Value) []string {
	if v == nil {
		return nil
	}
	switch v.Type() {
	case fastjson.TypeString:
		return []string{string(v.GetStringBytes())}
	case fastjson.TypeArray:
		var names []string
		for _, t := range v.GetArray() {
			names = append(names, string(t.GetStringBytes()))
		}
		return names
	}
	return nil
}

func rawJSON(v *fastjson.Value) string {
	if v == nil {
		return "null"
	}
	return string(fastpath.AppendJSON(nil, v))
}

// jsNumberText writes a schema's number as JavaScript prints it.
func jsNumberText(v *fastjson.Value) string {
	if v == nil || v.Type() != fastjson.TypeNumber {
		return rawJSON(v)
	}
	// strconv, not fastjson's Float64, which may be a unit off (as fastpath's jsFloat says).
	f, err := strconv.ParseFloat(rawJSON(v), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return rawJSON(v)
	}
	return string(fastpath.AppendJSNumber(nil, f))
}

func pointerToken(name string) string {
	return string(fastpath.AppendPointerToken(nil, name))
}
