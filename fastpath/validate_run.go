package fastpath

import (
	"math"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// maxValidateDepth bounds the walk: recursive schemas recurse as deep as the event does (which
// the edge bounds), and a schema that refers to itself without descending must not loop.
const maxValidateDepth = 512

// Validate implements Validator. It does not allocate for a valid event, nor for an invalid one
// whose errors fit the cap once errs' buffers have grown (see Errors for the lifetime of the
// strings it adds).
func (p *Program) Validate(v *fastjson.Value, errs *Errors) bool {
	// Fast path: the verdict alone, stopping at the first failure and visiting the event's
	// keys in the event's order; numbers read as Ajv 6 reads them (see Program).
	if p.root.valid(v, 0) {
		return true
	}
	// Valid when its numbers, read exactly, meet the schema. Most events hold no number that
	// reads differently exactly (exactNumbers), and then the walk would repeat the first.
	if p.exact != nil && (p.exactAlways || exactNumbers(v, 0)) && p.exact.valid(v, 0) {
		return true
	}
	// Slow path: walk again in Ajv 6's order (keywords by rule, properties in schema order) and
	// report every error, up to the cap.
	if len(errs.List) == 0 {
		errs.resetArena()
	}
	before := len(errs.List)
	r := reporter{errs: errs, max: before + p.maxErrors}
	errs.path = errs.path[:0]
	p.root.report(v, &r, 0)
	if len(errs.List) == before {
		errs.Add("schema", "", "#", "{}", "should be valid")
	}
	return false
}

// exactNumbers reports whether v holds a number that needsExact.
func exactNumbers(v *fastjson.Value, depth int) bool {
	if depth > maxValidateDepth {
		return true
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		return needsExact(rawNumber(v))
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, e := range a {
			if exactNumbers(e, depth+1) {
				return true
			}
		}
	case fastjson.TypeObject:
		for _, kv := range objectMembers(v.GetObject()) {
			if exactNumbers(kv.v, depth+1) {
				return true
			}
		}
	}
	return false
}

// exactInteger reports whether number v, whose double f is whole, is an integer exactly: its text
// is a whole number. In Ajv's reading, !(x % 1), a whole double is enough (9007199254740992.5 and
// Infinity are integers).
func exactInteger(v *fastjson.Value, f float64) bool {
	if raw := rawNumber(v); math.IsInf(f, 0) || needsExact(raw) {
		// Slow path: the double may be whole where the number is not.
		return integralText(raw)
	}
	return true
}

// typeOK reports whether value v of JSON type t (and double f, when a number) is one of ts, in a
// reading (see exactInteger).
func typeOK(ts typeSet, v *fastjson.Value, t fastjson.Type, f float64, js bool) bool {
	switch t {
	case fastjson.TypeString:
		return ts&tString != 0
	case fastjson.TypeNumber:
		// A number whose double is not whole is not whole either: doubles round to the nearest.
		return ts&tNumber != 0 || ts&tInteger != 0 && f == math.Trunc(f) && (js || exactInteger(v, f))
	case fastjson.TypeObject:
		return ts&tObject != 0
	case fastjson.TypeArray:
		return ts&tArray != 0
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return ts&tBoolean != 0
	case fastjson.TypeNull:
		return ts&tNull != 0
	}
	return false
}

func (n *node) valid(v *fastjson.Value, depth int) bool {
	if n.boolean != 0 {
		return n.boolean > 0
	}
	if depth > maxValidateDepth {
		return false
	}
	t := v.Type()
	var f float64
	if t == fastjson.TypeNumber && (n.types != 0 || n.hasNumber) {
		f = jsFloat(v)
	}
	if n.types != 0 && !typeOK(n.types, v, t, f, n.js) {
		return false
	}
	switch t {
	case fastjson.TypeString:
		if n.hasString && !n.str.valid(v) {
			return false
		}
	case fastjson.TypeNumber:
		if n.hasNumber && !n.num.valid(v, f) {
			return false
		}
	case fastjson.TypeObject:
		if n.hasObject && !n.obj.valid(v, depth) {
			return false
		}
	case fastjson.TypeArray:
		if n.hasArray && !n.arr.valid(v, depth) {
			return false
		}
	}
	return !n.hasGeneric || n.gen.valid(v, depth)
}

func (str *stringKeywords) valid(v *fastjson.Value) bool {
	b, _ := v.StringBytes()
	s := b2s(b)
	// Lengths count code points: a byte count settles most cases without counting.
	if str.maxLength >= 0 && len(s) > str.maxLength && utf8.RuneCountInString(s) > str.maxLength {
		return false
	}
	if str.minLength > 0 && (len(s) < str.minLength || len(s) < 4*str.minLength && utf8.RuneCountInString(s) < str.minLength) {
		return false
	}
	if str.pattern != nil && !str.pattern.MatchString(s) {
		return false
	}
	return str.format == nil || str.format(s)
}

// ok compares the doubles (Ajv's reading, and the exact one wherever they differ: doubles keep
// the order of the numbers they round), then, exactly, numbers whose doubles are equal.
func (l *numLimit) ok(f float64, v *fastjson.Value) bool {
	if f == l.limit {
		if raw := rawNumber(v); !l.js && (needsExact(raw) || needsExact(l.text)) {
			// Slow path: float64 cannot tell these apart (integers beyond 2^53, long decimals).
			if c := compareExact(raw, l.text); c != 0 {
				return c < 0 == l.max
			}
		}
		return !l.excl
	}
	return f < l.limit == l.max
}

func (m *multipleOf) ok(f float64, v *fastjson.Value) bool {
	if m.js != nil {
		return ajvMultiple(f, m)
	}
	return isMultiple(f, rawNumber(v), m)
}

func (num *numberKeywords) valid(v *fastjson.Value, f float64) bool {
	for i := range num.limits {
		if !num.limits[i].ok(f, v) {
			return false
		}
	}
	return num.multipleOf == nil || num.multipleOf.ok(f, v)
}

func (arr *arrayKeywords) valid(v *fastjson.Value, depth int) bool {
	a, _ := v.Array()
	if arr.maxItems >= 0 && len(a) > arr.maxItems || len(a) < arr.minItems {
		return false
	}
	for i, e := range a {
		if i < len(arr.tuple) {
			if !arr.tuple[i].valid(e, depth+1) {
				return false
			}
			continue
		}
		if arr.itemsFalse {
			return false
		}
		if arr.items == nil {
			break
		}
		if !arr.items.valid(e, depth+1) {
			return false
		}
	}
	if arr.contains != nil && !arr.containsOK(a, depth) {
		return false
	}
	if arr.uniqueItems {
		if len(a) >= uniqueHashFrom {
			return !hashedDuplicate(a, arr.unique.js)
		}
		for i := 1; i < len(a); i++ {
			for j := 0; j < i; j++ {
				if jsonEqual(a[i], a[j], arr.unique.js, 0) {
					return false
				}
			}
		}
	}
	return true
}

func (arr *arrayKeywords) containsOK(a []*fastjson.Value, depth int) bool {
	count := 0
	for _, e := range a {
		if arr.contains.valid(e, depth+1) {
			count++
			if arr.maxContains < 0 && count >= arr.minContains {
				return true
			}
		}
	}
	return count >= arr.minContains && (arr.maxContains < 0 || count <= arr.maxContains)
}

// lookup returns the index of a declared property, -1 for none. Events tend to carry their
// properties in schema order, so the one after the previous match is tried first; then a small
// open-addressing table hashed on the key's length and end bytes, cheaper than a map's hash of
// the whole key.
func (obj *objectKeywords) lookup(key string, next int) int {
	if next < len(obj.props) && obj.props[next].name == key {
		return next
	}
	if len(obj.propTable) == 0 {
		return -1
	}
	mask := uint32(len(obj.propTable) - 1)
	for h := propHash(key) & mask; ; h = (h + 1) & mask {
		i := obj.propTable[h]
		if i < 0 {
			return -1
		}
		if obj.props[i].name == key {
			return int(i)
		}
	}
}

func propHash(key string) uint32 {
	h := uint32(len(key)) * 0x9e3779b1
	if len(key) > 0 {
		h ^= uint32(key[0])*0x85ebca6b ^ uint32(key[len(key)-1])*0xc2b2ae35
		h ^= uint32(key[len(key)/2]) * 0x27d4eb2f
	}
	return h ^ h>>15
}

func (obj *objectKeywords) valid(v *fastjson.Value, depth int) bool {
	o, _ := v.Object()
	if l := o.Len(); obj.maxProps >= 0 && l > obj.maxProps || l < obj.minProps {
		return false
	}
	if obj.reqMask == 0 {
		for i := range obj.required {
			if o.Get(obj.required[i].name) == nil {
				return false
			}
		}
	}
	for i := range obj.depRequired {
		dr := &obj.depRequired[i]
		if o.Get(dr.prop) == nil {
			continue
		}
		for _, d := range dr.deps {
			if o.Get(d) == nil {
				return false
			}
		}
	}
	for i := range obj.depSchemas {
		ds := &obj.depSchemas[i]
		if o.Get(ds.prop) != nil && !ds.node.valid(v, depth+1) {
			return false
		}
	}
	if !obj.walkKeys {
		return true
	}
	var seen uint64
	next := 0
	for _, kv := range objectMembers(o) {
		key := kv.k
		matched := false
		if i := obj.lookup(key, next); i >= 0 {
			next = i + 1
			matched = true
			seen |= obj.props[i].reqBit
			if !obj.props[i].node.valid(kv.v, depth+1) {
				return false
			}
		}
		for i := range obj.patterns {
			if obj.patterns[i].re.MatchString(key) {
				matched = true
				if !obj.patterns[i].node.valid(kv.v, depth+1) {
					return false
				}
			}
		}
		if !matched && (obj.addFalse || obj.additional != nil && !obj.additional.valid(kv.v, depth+1)) {
			return false
		}
		if obj.propertyNames != nil {
			name := getNameValue(key)
			ok := obj.propertyNames.valid(name, depth+1)
			putNameValue(name)
			if !ok {
				return false
			}
		}
	}
	return seen&obj.reqMask == obj.reqMask
}

func (gen *genericKeywords) valid(v *fastjson.Value, depth int) bool {
	if gen.ref != nil && !gen.ref.valid(v, depth+1) {
		return false
	}
	if gen.constV != nil && !jsonEqual(v, gen.constV, gen.js, 0) {
		return false
	}
	if gen.enum != nil && !gen.inEnum(v) {
		return false
	}
	if gen.not != nil && gen.not.valid(v, depth+1) {
		return false
	}
	if len(gen.anyOf) > 0 && !gen.anyOfMatches(v, depth) {
		return false
	}
	if len(gen.oneOf) > 0 {
		count := 0
		for _, b := range gen.oneOf {
			if b.valid(v, depth+1) {
				count++
				if count > 1 {
					return false
				}
			}
		}
		if count != 1 {
			return false
		}
	}
	for _, b := range gen.allOf {
		if !b.valid(v, depth+1) {
			return false
		}
	}
	if gen.ifN != nil {
		if gen.ifN.valid(v, depth+1) {
			return gen.thenN == nil || gen.thenN.valid(v, depth+1)
		}
		return gen.elseN == nil || gen.elseN.valid(v, depth+1)
	}
	return true
}

func (gen *genericKeywords) inEnum(v *fastjson.Value) bool {
	for _, e := range gen.enum {
		if jsonEqual(v, e, gen.js, 0) {
			return true
		}
	}
	return false
}

// jsonEqual is JSON Schema's equality: numbers by value (1 == 1.0), objects whatever their key
// order. Numbers are equal as doubles in Ajv's reading (js: fast-deep-equal's ===, so
// 9007199254740993 equals 9007199254740992), exactly otherwise, even where float64 cannot tell
// them apart. It is the one equality of const, enum and uniqueItems, and of the duplicate pair
// uniqueItems' error names (AjvDuplicate, which schemacache's reference validator words with too).
func jsonEqual(a, b *fastjson.Value, js bool, depth int) bool {
	t := a.Type()
	if t != b.Type() || depth > maxValidateDepth {
		return false
	}
	switch t {
	case fastjson.TypeNumber:
		if jsFloat(a) != jsFloat(b) {
			return false
		}
		if ra, rb := rawNumber(a), rawNumber(b); !js && ra != rb && (needsExact(ra) || needsExact(rb)) {
			// Slow path: equal as float64, maybe not as numbers.
			return compareExact(ra, rb) == 0
		}
		return true
	case fastjson.TypeString:
		x, _ := a.StringBytes()
		y, _ := b.StringBytes()
		return string(x) == string(y)
	case fastjson.TypeArray:
		x, _ := a.Array()
		y, _ := b.Array()
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i], js, depth+1) {
				return false
			}
		}
		return true
	case fastjson.TypeObject:
		x, _ := a.Object()
		y, _ := b.Object()
		if x.Len() != y.Len() {
			return false
		}
		eq := true
		x.Visit(func(k []byte, xv *fastjson.Value) {
			if !eq {
				return
			}
			yv := y.Get(b2s(k))
			eq = yv != nil && jsonEqual(xv, yv, js, depth+1)
		})
		return eq
	}
	return true
}

// nameValues lends the string values propertyNames checks a key as: fastjson reads through a
// value's pointer in ways escape analysis cannot follow, so one on the stack would be moved to
// the heap, once per key.
var nameValues sync.Pool

func getNameValue(key string) *fastjson.Value {
	v, _ := nameValues.Get().(*fastjson.Value)
	if v == nil {
		v = &fastjson.Value{}
	}
	setStringValue(v, key)
	return v
}

func putNameValue(v *fastjson.Value) {
	setStringValue(v, "")
	nameValues.Put(v)
}

// reporter adds errors to an Errors, up to a cap, while the slow path walks an invalid event.
type reporter struct {
	errs *Errors
	max  int
}

func (r *reporter) full() bool { return len(r.errs.List) >= r.max }

// instancePath returns the current instance path as a string in the arena, shared with the
// previous error when it is the same.
func (r *reporter) instancePath() string {
	e := r.errs
	if len(e.path) == 0 {
		return ""
	}
	if k := len(e.List); k > 0 && e.List[k-1].InstancePath == b2s(e.path) {
		return e.List[k-1].InstancePath
	}
	start := len(e.arena)
	e.arena = append(e.arena, e.path...)
	return b2s(e.arena[start:])
}

func (r *reporter) add(c *check) {
	if r.full() {
		return
	}
	r.addAt(c.schemaPath, c.AjvError)
}

// addAt adds an error worded while reporting, its text in the arena.
func (r *reporter) addAt(schemaPath string, e AjvError) {
	r.errs.List = append(r.errs.List, ValidationError{
		Keyword: e.Keyword, InstancePath: r.instancePath(), SchemaPath: schemaPath, Params: e.Params, Message: e.Message,
	})
}

func (r *reporter) pushKey(key string) int {
	n := len(r.errs.path)
	r.errs.path = AppendPointerToken(r.errs.path, key)
	return n
}

func (r *reporter) pushIndex(i int) int {
	n := len(r.errs.path)
	r.errs.path = append(r.errs.path, '/')
	r.errs.path = strconv.AppendInt(r.errs.path, int64(i), 10)
	return n
}

func (r *reporter) pop(n int) { r.errs.path = r.errs.path[:n] }

// report adds the errors of v against n, in Ajv 6's order. It adds nothing for a valid v.
func (n *node) report(v *fastjson.Value, r *reporter, depth int) {
	if r.full() {
		return
	}
	if n.boolean != 0 {
		if n.boolean < 0 {
			r.add(&n.falseErr)
		}
		return
	}
	if depth > maxValidateDepth {
		r.add(&check{AjvError{"depth", "{}", "should not nest deeper than the validator's limit"}, n.sp})
		return
	}
	t := v.Type()
	var f float64
	if t == fastjson.TypeNumber && (n.types != 0 || n.hasNumber) {
		f = jsFloat(v)
	}
	if n.types != 0 && !typeOK(n.types, v, t, f, n.js) {
		r.add(&n.typeErr)
	}
	switch t {
	case fastjson.TypeString:
		if n.hasString {
			n.str.report(v, r)
		}
	case fastjson.TypeNumber:
		if n.hasNumber {
			n.num.report(v, f, r)
		}
	case fastjson.TypeObject:
		if n.hasObject {
			n.obj.report(v, r, depth)
		}
	case fastjson.TypeArray:
		if n.hasArray {
			n.arr.report(v, r, depth)
		}
	}
	if n.hasGeneric {
		n.gen.report(v, r, depth)
	}
}

func (str *stringKeywords) report(v *fastjson.Value, r *reporter) {
	b, _ := v.StringBytes()
	s := b2s(b)
	if str.maxLength >= 0 && utf8.RuneCountInString(s) > str.maxLength {
		r.add(&str.maxLengthErr)
	}
	if str.minLength > 0 && utf8.RuneCountInString(s) < str.minLength {
		r.add(&str.minLengthErr)
	}
	if str.pattern != nil && !str.pattern.MatchString(s) {
		r.add(&str.patternErr)
	}
	if str.format != nil && !str.format(s) {
		r.add(&str.formatErr)
	}
}

func (num *numberKeywords) report(v *fastjson.Value, f float64, r *reporter) {
	for i := range num.limits {
		if !num.limits[i].ok(f, v) {
			r.add(&num.limits[i].err)
		}
	}
	if num.multipleOf != nil && !num.multipleOf.ok(f, v) {
		r.add(&num.multipleOf.err)
	}
}

func (arr *arrayKeywords) report(v *fastjson.Value, r *reporter, depth int) {
	a, _ := v.Array()
	if arr.maxItems >= 0 && len(a) > arr.maxItems {
		r.add(&arr.maxItemsErr)
	}
	if len(a) < arr.minItems {
		r.add(&arr.minItemsErr)
	}
	if arr.itemsFalse && len(a) > len(arr.tuple) {
		r.add(&arr.itemsFalseErr)
	}
	for i, e := range a {
		var sn *node
		if i < len(arr.tuple) {
			sn = arr.tuple[i]
		} else if arr.items != nil {
			sn = arr.items
		} else {
			break
		}
		m := r.pushIndex(i)
		sn.report(e, r, depth+1)
		r.pop(m)
	}
	if arr.contains != nil {
		count := 0
		for _, e := range a {
			if arr.contains.valid(e, depth+1) {
				count++
			}
		}
		if count < arr.minContains {
			r.add(&arr.containsErr)
		}
		if arr.maxContains >= 0 && count > arr.maxContains {
			r.add(&arr.maxContainsErr)
		}
	}
	if arr.uniqueItems && !r.full() {
		if i, j, dup := arr.unique.duplicate(a); dup {
			var e AjvError
			r.errs.arena, e = AppendAjvUniqueItems(r.errs.arena, i, j)
			r.addAt(arr.uniqueSP, e)
		}
	}
}

// declared reports whether key is covered by properties or patternProperties.
func (obj *objectKeywords) declared(key string) bool {
	if _, ok := obj.propIndex[key]; ok {
		return true
	}
	for i := range obj.patterns {
		if obj.patterns[i].re.MatchString(key) {
			return true
		}
	}
	return false
}

func (obj *objectKeywords) report(v *fastjson.Value, r *reporter, depth int) {
	o, _ := v.Object()
	if obj.maxProps >= 0 && o.Len() > obj.maxProps {
		r.add(&obj.maxPropsErr)
	}
	if o.Len() < obj.minProps {
		r.add(&obj.minPropsErr)
	}
	for i := range obj.required {
		if o.Get(obj.required[i].name) == nil {
			r.add(&obj.required[i].err)
		}
	}
	for i := range obj.depRequired {
		dr := &obj.depRequired[i]
		if o.Get(dr.prop) == nil {
			continue
		}
		for j, d := range dr.deps {
			if o.Get(d) == nil {
				r.add(&dr.missing[j])
			}
		}
	}
	for i := range obj.depSchemas {
		ds := &obj.depSchemas[i]
		if o.Get(ds.prop) != nil {
			ds.node.report(v, r, depth+1)
		}
	}
	if obj.propertyNames != nil {
		o.Visit(func(k []byte, _ *fastjson.Value) {
			if r.full() {
				return
			}
			key := b2s(k)
			name := getNameValue(key)
			defer putNameValue(name)
			if obj.propertyNames.valid(name, depth+1) {
				return
			}
			// Ajv reports the name's errors at the object, then which name failed.
			obj.propertyNames.report(name, r, depth+1)
			if r.full() {
				return
			}
			var e AjvError
			r.errs.arena, e = AppendAjvPropertyName(r.errs.arena, key)
			r.addAt(obj.propNamesSP, e)
		})
	}
	if obj.addFalse || obj.additional != nil {
		o.Visit(func(k []byte, c *fastjson.Value) {
			key := b2s(k)
			if r.full() || obj.declared(key) {
				return
			}
			if obj.addFalse {
				var e AjvError
				r.errs.arena, e = AppendAjvAdditionalProperty(r.errs.arena, key)
				r.addAt(obj.addSP, e)
				return
			}
			m := r.pushKey(key)
			obj.additional.report(c, r, depth+1)
			r.pop(m)
		})
	}
	for i := range obj.props {
		pe := &obj.props[i]
		if c := o.Get(pe.name); c != nil {
			m := r.pushKey(pe.name)
			pe.node.report(c, r, depth+1)
			r.pop(m)
		}
	}
	for i := range obj.patterns {
		pp := &obj.patterns[i]
		o.Visit(func(k []byte, c *fastjson.Value) {
			key := b2s(k)
			if !pp.re.MatchString(key) {
				return
			}
			m := r.pushKey(key)
			pp.node.report(c, r, depth+1)
			r.pop(m)
		})
	}
}

// anyOfMatches reports whether some branch of n's anyOf accepts v.
func (gen *genericKeywords) anyOfMatches(v *fastjson.Value, depth int) bool {
	for _, b := range gen.anyOf {
		if b.valid(v, depth+1) {
			return true
		}
	}
	return false
}

func (gen *genericKeywords) report(v *fastjson.Value, r *reporter, depth int) {
	if gen.ref != nil {
		gen.ref.report(v, r, depth+1)
	}
	if gen.constV != nil && !jsonEqual(v, gen.constV, gen.js, 0) {
		r.add(&gen.constErr)
	}
	if gen.enum != nil && !gen.inEnum(v) {
		r.add(&gen.enumErr)
	}
	if gen.not != nil && gen.not.valid(v, depth+1) {
		r.add(&gen.notErr)
	}
	if len(gen.anyOf) > 0 && !gen.anyOfMatches(v, depth) {
		// Ajv keeps every branch's errors, then says none matched.
		for _, b := range gen.anyOf {
			b.report(v, r, depth+1)
		}
		r.add(&gen.anyOfErr)
	}
	if len(gen.oneOf) > 0 {
		first, second, last := -1, -1, len(gen.oneOf)-1
		for i, b := range gen.oneOf {
			if b.valid(v, depth+1) {
				if first >= 0 {
					second, last = i, i
					break
				}
				first = i
			}
		}
		if first < 0 || second >= 0 {
			// Ajv stops at the second passing branch; the failing ones before it keep their
			// errors.
			for _, b := range gen.oneOf[:last+1] {
				b.report(v, r, depth+1)
			}
			if !r.full() {
				var e AjvError
				if second < 0 {
					r.errs.arena, e = AppendAjvOneOf(r.errs.arena)
				} else {
					r.errs.arena, e = AppendAjvOneOf(r.errs.arena, first, second)
				}
				r.addAt(gen.oneOfSP, e)
			}
		}
	}
	for _, b := range gen.allOf {
		b.report(v, r, depth+1)
	}
	if gen.ifN != nil {
		if gen.ifN.valid(v, depth+1) {
			if gen.thenN != nil && !gen.thenN.valid(v, depth+1) {
				gen.thenN.report(v, r, depth+1)
				r.add(&gen.thenErr)
			}
		} else if gen.elseN != nil && !gen.elseN.valid(v, depth+1) {
			gen.elseN.report(v, r, depth+1)
			r.add(&gen.elseErr)
		}
	}
}
