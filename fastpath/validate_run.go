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
	// keys in the event's order.
	if p.root.valid(v, 0) {
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

func isInteger(f float64) bool { return f == math.Trunc(f) && !math.IsInf(f, 0) }

// typeOK reports whether a value of JSON type t (and number f) is one of ts.
func typeOK(ts typeSet, t fastjson.Type, f float64) bool {
	switch t {
	case fastjson.TypeString:
		return ts&tString != 0
	case fastjson.TypeNumber:
		return ts&tNumber != 0 || ts&tInteger != 0 && isInteger(f)
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
		f, _ = v.Float64()
	}
	if n.types != 0 && !typeOK(n.types, t, f) {
		return false
	}
	switch t {
	case fastjson.TypeString:
		if n.hasString && !n.validString(v) {
			return false
		}
	case fastjson.TypeNumber:
		if n.hasNumber && !n.validNumber(v, f) {
			return false
		}
	case fastjson.TypeObject:
		if n.hasObject && !n.validObject(v, depth) {
			return false
		}
	case fastjson.TypeArray:
		if n.hasArray && !n.validArray(v, depth) {
			return false
		}
	}
	return !n.hasGeneric || n.validGeneric(v, depth)
}

func (n *node) validString(v *fastjson.Value) bool {
	b, _ := v.StringBytes()
	s := b2s(b)
	// Lengths count code points: a byte count settles most cases without counting.
	if n.maxLength >= 0 && len(s) > n.maxLength && utf8.RuneCountInString(s) > n.maxLength {
		return false
	}
	if n.minLength > 0 && (len(s) < n.minLength || len(s) < 4*n.minLength && utf8.RuneCountInString(s) < n.minLength) {
		return false
	}
	if n.pattern != nil && !n.pattern.MatchString(s) {
		return false
	}
	return n.format == nil || n.format(s)
}

func (l *numLimit) ok(f float64, v *fastjson.Value) bool {
	if f == l.limit {
		if raw := rawNumber(v); needsExact(raw) || needsExact(l.text) {
			// Slow path: float64 cannot tell these apart (integers beyond 2^53, long decimals).
			if c, ok := compareExact(raw, l.text); ok && c != 0 {
				return c < 0 == l.max
			}
		}
		return !l.excl
	}
	return f < l.limit == l.max
}

func (n *node) validNumber(v *fastjson.Value, f float64) bool {
	for i := range n.limits {
		if !n.limits[i].ok(f, v) {
			return false
		}
	}
	return n.multipleOf == nil || isMultiple(f, rawNumber(v), n.multipleOf)
}

func (n *node) validArray(v *fastjson.Value, depth int) bool {
	a, _ := v.Array()
	if n.maxItems >= 0 && len(a) > n.maxItems || len(a) < n.minItems {
		return false
	}
	for i, e := range a {
		if i < len(n.tuple) {
			if !n.tuple[i].valid(e, depth+1) {
				return false
			}
			continue
		}
		if n.itemsFalse {
			return false
		}
		if n.items == nil {
			break
		}
		if !n.items.valid(e, depth+1) {
			return false
		}
	}
	if n.contains != nil && !n.containsOK(a, depth) {
		return false
	}
	if n.uniqueItems {
		if len(a) >= uniqueHashFrom {
			return !hashedDuplicate(a)
		}
		for i := 1; i < len(a); i++ {
			for j := 0; j < i; j++ {
				if jsonEqual(a[i], a[j], 0) {
					return false
				}
			}
		}
	}
	return true
}

func (n *node) containsOK(a []*fastjson.Value, depth int) bool {
	count := 0
	for _, e := range a {
		if n.contains.valid(e, depth+1) {
			count++
			if n.maxContains < 0 && count >= n.minContains {
				return true
			}
		}
	}
	return count >= n.minContains && (n.maxContains < 0 || count <= n.maxContains)
}

// lookup returns the index of a declared property, -1 for none. Events tend to carry their
// properties in schema order, so the one after the previous match is tried first; then a small
// open-addressing table hashed on the key's length and end bytes, cheaper than a map's hash of
// the whole key.
func (n *node) lookup(key string, next int) int {
	if next < len(n.props) && n.props[next].name == key {
		return next
	}
	if len(n.propTable) == 0 {
		return -1
	}
	mask := uint32(len(n.propTable) - 1)
	for h := propHash(key) & mask; ; h = (h + 1) & mask {
		i := n.propTable[h]
		if i < 0 {
			return -1
		}
		if n.props[i].name == key {
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

func (n *node) validObject(v *fastjson.Value, depth int) bool {
	o, _ := v.Object()
	if l := o.Len(); n.maxProps >= 0 && l > n.maxProps || l < n.minProps {
		return false
	}
	if n.reqMask == 0 {
		for i := range n.required {
			if o.Get(n.required[i].name) == nil {
				return false
			}
		}
	}
	for i := range n.depRequired {
		dr := &n.depRequired[i]
		if o.Get(dr.prop) == nil {
			continue
		}
		for _, d := range dr.deps {
			if o.Get(d) == nil {
				return false
			}
		}
	}
	for i := range n.depSchemas {
		ds := &n.depSchemas[i]
		if o.Get(ds.prop) != nil && !ds.node.valid(v, depth+1) {
			return false
		}
	}
	if !n.walkKeys {
		return true
	}
	var seen uint64
	next := 0
	for _, kv := range objectMembers(o) {
		key := kv.k
		matched := false
		if i := n.lookup(key, next); i >= 0 {
			next = i + 1
			matched = true
			seen |= n.props[i].reqBit
			if !n.props[i].node.valid(kv.v, depth+1) {
				return false
			}
		}
		for i := range n.patterns {
			if n.patterns[i].re.MatchString(key) {
				matched = true
				if !n.patterns[i].node.valid(kv.v, depth+1) {
					return false
				}
			}
		}
		if !matched && (n.addFalse || n.additional != nil && !n.additional.valid(kv.v, depth+1)) {
			return false
		}
		if n.propertyNames != nil {
			name := getNameValue(key)
			ok := n.propertyNames.valid(name, depth+1)
			putNameValue(name)
			if !ok {
				return false
			}
		}
	}
	return seen&n.reqMask == n.reqMask
}

func (n *node) validGeneric(v *fastjson.Value, depth int) bool {
	if n.ref != nil && !n.ref.valid(v, depth+1) {
		return false
	}
	if n.constV != nil && !jsonEqual(v, n.constV, 0) {
		return false
	}
	if n.enum != nil && !n.inEnum(v) {
		return false
	}
	if n.not != nil && n.not.valid(v, depth+1) {
		return false
	}
	if len(n.anyOf) > 0 && !n.anyOfMatches(v, depth) {
		return false
	}
	if len(n.oneOf) > 0 {
		count := 0
		for _, b := range n.oneOf {
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
	for _, b := range n.allOf {
		if !b.valid(v, depth+1) {
			return false
		}
	}
	if n.ifN != nil {
		if n.ifN.valid(v, depth+1) {
			return n.thenN == nil || n.thenN.valid(v, depth+1)
		}
		return n.elseN == nil || n.elseN.valid(v, depth+1)
	}
	return true
}

func (n *node) inEnum(v *fastjson.Value) bool {
	for _, e := range n.enum {
		if jsonEqual(v, e, 0) {
			return true
		}
	}
	return false
}

// jsonEqual is JSON Schema's equality: numbers by value (1 == 1.0), objects whatever their key
// order.
func jsonEqual(a, b *fastjson.Value, depth int) bool {
	t := a.Type()
	if t != b.Type() || depth > maxValidateDepth {
		return false
	}
	switch t {
	case fastjson.TypeNumber:
		x, _ := a.Float64()
		y, _ := b.Float64()
		if x != y {
			return false
		}
		if ra, rb := rawNumber(a), rawNumber(b); ra != rb && (needsExact(ra) || needsExact(rb)) {
			// Slow path: equal as float64, maybe not as numbers.
			c, ok := compareExact(ra, rb)
			return !ok || c == 0
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
			if !jsonEqual(x[i], y[i], depth+1) {
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
			eq = yv != nil && jsonEqual(xv, yv, depth+1)
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
	r.errs.List = append(r.errs.List, ValidationError{
		Keyword: c.keyword, InstancePath: r.instancePath(), SchemaPath: c.schemaPath, Params: c.params, Message: c.message,
	})
}

func (r *reporter) addDynamic(keyword, schemaPath, params, message string) {
	r.errs.List = append(r.errs.List, ValidationError{
		Keyword: keyword, InstancePath: r.instancePath(), SchemaPath: schemaPath, Params: params, Message: message,
	})
}

// text returns arena[from:] as a string: the dynamic text just appended.
func (r *reporter) text(from int) string { return b2s(r.errs.arena[from:]) }

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
		r.add(&check{"depth", n.sp, "{}", "should not nest deeper than the validator's limit"})
		return
	}
	t := v.Type()
	var f float64
	if t == fastjson.TypeNumber && (n.types != 0 || n.hasNumber) {
		f, _ = v.Float64()
	}
	if n.types != 0 && !typeOK(n.types, t, f) {
		r.add(&n.typeErr)
	}
	switch t {
	case fastjson.TypeString:
		if n.hasString {
			n.reportString(v, r)
		}
	case fastjson.TypeNumber:
		if n.hasNumber {
			n.reportNumber(v, f, r)
		}
	case fastjson.TypeObject:
		if n.hasObject {
			n.reportObject(v, r, depth)
		}
	case fastjson.TypeArray:
		if n.hasArray {
			n.reportArray(v, r, depth)
		}
	}
	if n.hasGeneric {
		n.reportGeneric(v, r, depth)
	}
}

func (n *node) reportString(v *fastjson.Value, r *reporter) {
	b, _ := v.StringBytes()
	s := b2s(b)
	if n.maxLength >= 0 && utf8.RuneCountInString(s) > n.maxLength {
		r.add(&n.maxLengthErr)
	}
	if n.minLength > 0 && utf8.RuneCountInString(s) < n.minLength {
		r.add(&n.minLengthErr)
	}
	if n.pattern != nil && !n.pattern.MatchString(s) {
		r.add(&n.patternErr)
	}
	if n.format != nil && !n.format(s) {
		r.add(&n.formatErr)
	}
}

func (n *node) reportNumber(v *fastjson.Value, f float64, r *reporter) {
	for i := range n.limits {
		if !n.limits[i].ok(f, v) {
			r.add(&n.limits[i].err)
		}
	}
	if n.multipleOf != nil && !isMultiple(f, rawNumber(v), n.multipleOf) {
		r.add(&n.multipleOf.err)
	}
}

func (n *node) reportArray(v *fastjson.Value, r *reporter, depth int) {
	a, _ := v.Array()
	if n.maxItems >= 0 && len(a) > n.maxItems {
		r.add(&n.maxItemsErr)
	}
	if len(a) < n.minItems {
		r.add(&n.minItemsErr)
	}
	if n.itemsFalse && len(a) > len(n.tuple) {
		r.add(&n.itemsFalseErr)
	}
	for i, e := range a {
		var sn *node
		if i < len(n.tuple) {
			sn = n.tuple[i]
		} else if n.items != nil {
			sn = n.items
		} else {
			break
		}
		m := r.pushIndex(i)
		sn.report(e, r, depth+1)
		r.pop(m)
	}
	if n.contains != nil {
		count := 0
		for _, e := range a {
			if n.contains.valid(e, depth+1) {
				count++
			}
		}
		if count < n.minContains {
			r.add(&n.containsErr)
		}
		if n.maxContains >= 0 && count > n.maxContains {
			r.add(&n.maxContainsErr)
		}
	}
	if n.uniqueItems && !r.full() {
		if i, j, dup := n.ajvDuplicate(a); dup {
			e := r.errs
			p := len(e.arena)
			e.arena = append(e.arena, `{"i":`...)
			e.arena = strconv.AppendInt(e.arena, int64(i), 10)
			e.arena = append(e.arena, `,"j":`...)
			e.arena = strconv.AppendInt(e.arena, int64(j), 10)
			e.arena = append(e.arena, '}')
			params := r.text(p)
			p = len(e.arena)
			e.arena = append(e.arena, "should NOT have duplicate items (items ## "...)
			e.arena = strconv.AppendInt(e.arena, int64(j), 10)
			e.arena = append(e.arena, " and "...)
			e.arena = strconv.AppendInt(e.arena, int64(i), 10)
			e.arena = append(e.arena, " are identical)"...)
			r.addDynamic("uniqueItems", n.uniqueSP, params, r.text(p))
		}
	}
}

// ajvDuplicate finds the pair of equal items Ajv 6's uniqueItems names. For items of declared
// scalar types Ajv keys a map by the item, walking from the end (i < j, j the nearest later
// duplicate); otherwise it compares every pair from the end (i > j).
//
// With many items, only items whose hashes collide are compared: equal items always collide, so
// the loops find the same pair in the same order.
func (n *node) ajvDuplicate(a []*fastjson.Value) (i, j int, ok bool) {
	var cand []bool
	if len(a) >= uniqueHashFrom {
		if cand = collidingItems(a); cand == nil {
			return 0, 0, false
		}
	}
	skip := func(k int) bool { return cand != nil && !cand[k] }
	if n.uniqueScalar {
		for i := len(a) - 1; i >= 0; i-- {
			if skip(i) || !scalarTypeOK(n.uniqueTypes, a[i]) {
				continue
			}
			for j := i + 1; j < len(a); j++ {
				if !skip(j) && scalarTypeOK(n.uniqueTypes, a[j]) && jsonEqual(a[i], a[j], 0) {
					return i, j, true
				}
			}
		}
		return 0, 0, false
	}
	for i := len(a) - 1; i >= 0; i-- {
		if skip(i) {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if !skip(j) && jsonEqual(a[i], a[j], 0) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

func scalarTypeOK(ts typeSet, v *fastjson.Value) bool {
	t := v.Type()
	var f float64
	if t == fastjson.TypeNumber {
		f, _ = v.Float64()
	}
	return typeOK(ts, t, f)
}

// declared reports whether key is covered by properties or patternProperties.
func (n *node) declared(key string) bool {
	if _, ok := n.propIndex[key]; ok {
		return true
	}
	for i := range n.patterns {
		if n.patterns[i].re.MatchString(key) {
			return true
		}
	}
	return false
}

func (n *node) reportObject(v *fastjson.Value, r *reporter, depth int) {
	o, _ := v.Object()
	if n.maxProps >= 0 && o.Len() > n.maxProps {
		r.add(&n.maxPropsErr)
	}
	if o.Len() < n.minProps {
		r.add(&n.minPropsErr)
	}
	for i := range n.required {
		if o.Get(n.required[i].name) == nil {
			r.add(&n.required[i].err)
		}
	}
	for i := range n.depRequired {
		dr := &n.depRequired[i]
		if o.Get(dr.prop) == nil {
			continue
		}
		for j, d := range dr.deps {
			if o.Get(d) == nil {
				r.add(&dr.missing[j])
			}
		}
	}
	for i := range n.depSchemas {
		ds := &n.depSchemas[i]
		if o.Get(ds.prop) != nil {
			ds.node.report(v, r, depth+1)
		}
	}
	if n.propertyNames != nil {
		o.Visit(func(k []byte, _ *fastjson.Value) {
			if r.full() {
				return
			}
			key := b2s(k)
			name := getNameValue(key)
			defer putNameValue(name)
			if n.propertyNames.valid(name, depth+1) {
				return
			}
			// Ajv reports the name's errors at the object, then which name failed.
			n.propertyNames.report(name, r, depth+1)
			if r.full() {
				return
			}
			e := r.errs
			p := len(e.arena)
			e.arena = append(e.arena, `{"propertyName":`...)
			e.arena = AppendJSONString(e.arena, key)
			e.arena = append(e.arena, '}')
			params := r.text(p)
			p = len(e.arena)
			e.arena = append(e.arena, "property name '"...)
			e.arena = append(e.arena, key...)
			e.arena = append(e.arena, "' is invalid"...)
			r.addDynamic("propertyNames", n.propNamesSP, params, r.text(p))
		})
	}
	if n.addFalse || n.additional != nil {
		o.Visit(func(k []byte, c *fastjson.Value) {
			key := b2s(k)
			if r.full() || n.declared(key) {
				return
			}
			if n.addFalse {
				e := r.errs
				p := len(e.arena)
				e.arena = append(e.arena, `{"additionalProperty":`...)
				e.arena = AppendJSONString(e.arena, key)
				e.arena = append(e.arena, '}')
				r.addDynamic("additionalProperties", n.addSP, r.text(p), "should NOT have additional properties")
				return
			}
			m := r.pushKey(key)
			n.additional.report(c, r, depth+1)
			r.pop(m)
		})
	}
	for i := range n.props {
		pe := &n.props[i]
		if c := o.Get(pe.name); c != nil {
			m := r.pushKey(pe.name)
			pe.node.report(c, r, depth+1)
			r.pop(m)
		}
	}
	for i := range n.patterns {
		pp := &n.patterns[i]
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
func (n *node) anyOfMatches(v *fastjson.Value, depth int) bool {
	for _, b := range n.anyOf {
		if b.valid(v, depth+1) {
			return true
		}
	}
	return false
}

func (n *node) reportGeneric(v *fastjson.Value, r *reporter, depth int) {
	if n.ref != nil {
		n.ref.report(v, r, depth+1)
	}
	if n.constV != nil && !jsonEqual(v, n.constV, 0) {
		r.add(&n.constErr)
	}
	if n.enum != nil && !n.inEnum(v) {
		r.add(&n.enumErr)
	}
	if n.not != nil && n.not.valid(v, depth+1) {
		r.add(&n.notErr)
	}
	if len(n.anyOf) > 0 && !n.anyOfMatches(v, depth) {
		// Ajv keeps every branch's errors, then says none matched.
		for _, b := range n.anyOf {
			b.report(v, r, depth+1)
		}
		r.add(&n.anyOfErr)
	}
	if len(n.oneOf) > 0 {
		first, second, last := -1, -1, len(n.oneOf)-1
		for i, b := range n.oneOf {
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
			for _, b := range n.oneOf[:last+1] {
				b.report(v, r, depth+1)
			}
			if !r.full() {
				if second < 0 {
					r.addDynamic("oneOf", n.oneOfSP, `{"passingSchemas":null}`, "should match exactly one schema in oneOf")
				} else {
					e := r.errs
					p := len(e.arena)
					e.arena = append(e.arena, `{"passingSchemas":[`...)
					e.arena = strconv.AppendInt(e.arena, int64(first), 10)
					e.arena = append(e.arena, ',')
					e.arena = strconv.AppendInt(e.arena, int64(second), 10)
					e.arena = append(e.arena, "]}"...)
					r.addDynamic("oneOf", n.oneOfSP, r.text(p), "should match exactly one schema in oneOf")
				}
			}
		}
	}
	for _, b := range n.allOf {
		b.report(v, r, depth+1)
	}
	if n.ifN != nil {
		if n.ifN.valid(v, depth+1) {
			if n.thenN != nil && !n.thenN.valid(v, depth+1) {
				n.thenN.report(v, r, depth+1)
				r.add(&n.thenErr)
			}
		} else if n.elseN != nil && !n.elseN.valid(v, depth+1) {
			n.elseN.report(v, r, depth+1)
			r.add(&n.elseErr)
		}
	}
}
