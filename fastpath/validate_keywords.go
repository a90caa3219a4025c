package fastpath

import (
	"fmt"
	"math"
	"regexp"
	"strconv"

	"github.com/valyala/fastjson"
)

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
	AjvError
	schemaPath string
}

// node is one compiled schema. Its keywords are grouped in families as Ajv 6 groups its rules:
// the type first, then the keywords for one type of instance (number, string, array, object),
// then the keywords for any type (generic). A value meets at most one of the per-type families;
// the has* flags let it skip the others.
type node struct {
	// The header, read for every value walked (valid and report in validate_run.go): kept
	// together at the start of the node, ahead of the families.
	boolean    int8    // 1: the schema true, -1: false, 0: an object schema
	types      typeSet // 0: no type keyword
	hasNumber  bool
	hasString  bool
	hasArray   bool
	hasObject  bool
	hasGeneric bool
	// js: this node reads numbers as JavaScript does (Ajv 6's reading); else exactly. See
	// Program.
	js bool

	// The families are embedded by value, not by pointer: the walk reads a family right after
	// the header, and a pointer would add a dependent load to every value of that type. Within
	// each family the fields the verdict reads come first and the worded errors (read only for
	// an invalid value) last.
	num numberKeywords
	str stringKeywords
	arr arrayKeywords
	obj objectKeywords
	gen genericKeywords

	// Read only when reporting.
	sp       string // the schema path, "#/properties/meta"
	typeErr  check
	falseErr check
}

func newNode(sp string) *node {
	n := &node{sp: sp}
	n.str.maxLength = -1
	n.arr.maxItems = -1
	n.arr.minContains = 1
	n.arr.maxContains = -1
	n.obj.maxProps = -1
	return n
}

// numberKeywords: maximum, minimum (and their exclusive forms), multipleOf.
type numberKeywords struct {
	limits     []numLimit // in Ajv 6's order: the maximums, then the minimums
	multipleOf *multipleOf
}

type numLimit struct {
	limit float64
	text  string // the limit as written, for the exact slow branch
	max   bool   // a maximum (else a minimum)
	excl  bool
	js    bool // compare the doubles only, as Ajv 6 does
	err   check
}

type multipleOf struct {
	f     float64
	text  string
	isInt bool // an integer float64 holds exactly
	dec   decimal
	decOK bool
	js    *multipleOf // Ajv's reading (see ajvMultiple): the divisor as JavaScript writes it
	err   check
}

// stringKeywords: maxLength, minLength, pattern, format.
type stringKeywords struct {
	maxLength int // -1 when absent
	minLength int
	pattern   *regexp.Regexp
	format    func(string) bool

	maxLengthErr check
	minLengthErr check
	patternErr   check
	formatErr    check
}

// arrayKeywords: maxItems, minItems, items (prefixItems, additionalItems), contains (minContains,
// maxContains), uniqueItems.
type arrayKeywords struct {
	maxItems    int // -1 when absent
	minItems    int
	tuple       []*node // items as a list (draft 7) or prefixItems (2020-12)
	items       *node   // every element after the tuple
	itemsFalse  bool    // no element after the tuple is allowed: one error, not one per element
	contains    *node
	minContains int
	maxContains int // -1 when absent
	uniqueItems bool
	unique      uniqueRule

	maxItemsErr    check
	minItemsErr    check
	itemsFalseErr  check
	containsErr    check
	maxContainsErr check
	uniqueSP       string
}

// objectKeywords: maxProperties, minProperties, required, dependencies (dependentRequired,
// dependentSchemas), propertyNames, properties, patternProperties, additionalProperties.
type objectKeywords struct {
	walkKeys      bool // some check needs every key of the object
	maxProps      int  // -1 when absent
	minProps      int
	required      []requiredEntry
	reqMask       uint64 // every required property is declared: seen through the key walk
	depRequired   []depRequired
	depSchemas    []depSchema
	propertyNames *node
	props         []propEntry
	propIndex     map[string]int
	propTable     []int32 // see lookup
	patterns      []patEntry
	additional    *node
	addFalse      bool

	maxPropsErr check
	minPropsErr check
	propNamesSP string
	addSP       string
}

type propEntry struct {
	name   string
	node   *node
	reqBit uint64 // the bit of this property in objectKeywords.reqMask, 0 when not required
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

// genericKeywords, for values of any type: $ref, const, enum, not, anyOf, oneOf, allOf,
// if/then/else.
type genericKeywords struct {
	ref    *node
	constV *fastjson.Value
	enum   []*fastjson.Value
	js     bool // const and enum compare numbers as doubles, as Ajv 6 does
	not    *node
	anyOf  []*node
	oneOf  []*node
	allOf  []*node
	ifN    *node
	thenN  *node
	elseN  *node

	constErr check
	enumErr  check
	notErr   check
	anyOfErr check
	oneOfSP  string
	thenErr  check
	elseErr  check
}

// compileKeywords compiles an object schema, one family of keywords after the other.
func (c *compiler) compileKeywords(n *node, o *fastjson.Object, base string, d draft) error {
	if d >= draft2019 {
		for _, k := range [...]string{"$recursiveRef", "$dynamicRef", "unevaluatedProperties", "unevaluatedItems"} {
			if o.Get(k) != nil {
				return fmt.Errorf("%w: %s (at %s)", ErrUnsupported, k, n.sp)
			}
		}
	}
	if ref, err := c.compileRef(n, o, base, d); err != nil || ref && d < draft2019 {
		// Draft 7 and before (and Ajv 6): a $ref's siblings are ignored.
		return err
	}
	if err := compileType(n, o); err != nil {
		return err
	}
	if err := compileNumber(n, o); err != nil {
		return err
	}
	if err := c.compileString(n, o); err != nil {
		return err
	}
	if err := c.compileArray(n, o, base, d); err != nil {
		return err
	}
	if err := c.compileObject(n, o, base, d); err != nil {
		return err
	}
	return c.compileGeneric(n, o, base, d)
}

// compileRef compiles $ref, a member of the generic family compiled first: before draft 2019
// it makes the schema's other keywords void.
func (c *compiler) compileRef(n *node, o *fastjson.Object, base string, d draft) (bool, error) {
	ref := o.Get("$ref")
	if ref == nil || ref.Type() != fastjson.TypeString {
		return false, nil
	}
	refs := string(ref.GetStringBytes())
	r, err := c.resolveRef(refs, base, d)
	if err != nil {
		return false, err
	}
	if n.gen.ref, err = c.compile(r.v, r.base, r.draft, refs); err != nil {
		return false, err
	}
	n.hasGeneric = true
	return true, nil
}

func compileType(n *node, o *fastjson.Object) error {
	t := o.Get("type")
	if t == nil {
		return nil
	}
	sp := n.sp
	var names []string
	switch t.Type() {
	case fastjson.TypeString:
		names = []string{string(t.GetStringBytes())}
	case fastjson.TypeArray:
		for _, e := range t.GetArray() {
			names = append(names, string(e.GetStringBytes()))
		}
		if len(names) == 0 {
			return fmt.Errorf("empty type list at %s", sp)
		}
	default:
		return fmt.Errorf("type at %s is neither a string nor a list", sp)
	}
	for _, name := range names {
		ts, ok := typeNames[name]
		if !ok {
			return fmt.Errorf("unknown type %q at %s", name, sp)
		}
		n.types |= ts
	}
	n.typeErr = check{AjvType(names), sp + "/type"}
	return nil
}

func compileNumber(n *node, o *fastjson.Object) error {
	sp, num := n.sp, &n.num
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
			l.js = n.js
			l.err = check{AjvNumberLimit(kw, jsNumberText(l.limit), draft4Excl), sp + "/" + kw}
			num.limits = append(num.limits, l)
			n.hasNumber = true
		}
		if ev != nil && ev.Type() == fastjson.TypeNumber {
			l, err := numLimitOf(ev, exclKw, sp)
			if err != nil {
				return err
			}
			l.max = max
			l.excl = true
			l.js = n.js
			l.err = check{AjvNumberLimit(exclKw, jsNumberText(l.limit), true), sp + "/" + exclKw}
			num.limits = append(num.limits, l)
			n.hasNumber = true
		}
	}
	if mv := o.Get("multipleOf"); mv != nil {
		var f float64
		if mv.Type() == fastjson.TypeNumber {
			f = jsFloat(mv)
		}
		if f <= 0 || math.IsInf(f, 0) {
			return fmt.Errorf("multipleOf at %s is not a positive number", sp)
		}
		m := newMultipleOf(f, rawNumber(mv))
		if n.js {
			m.js = newMultipleOf(f, jsNumberText(f))
		}
		m.err = check{AjvMultipleOf(jsNumberText(f)), sp + "/multipleOf"}
		num.multipleOf = m
		n.hasNumber = true
	}
	return nil
}

func newMultipleOf(f float64, text string) *multipleOf {
	m := &multipleOf{f: f, text: text}
	m.isInt = f == math.Trunc(f) && f < 1<<53
	m.dec, m.decOK = parseDecimal(text)
	return m
}

func numLimitOf(v *fastjson.Value, kw, sp string) (numLimit, error) {
	if v.Type() != fastjson.TypeNumber {
		return numLimit{}, fmt.Errorf("%s at %s is not a number", kw, sp)
	}
	return numLimit{limit: jsFloat(v), text: rawNumber(v)}, nil
}

func jsNumberText(f float64) string { return string(AppendJSNumber(nil, f)) }

// countCheck words a keyword that bounds a count.
func countCheck(kw, sp string, l int) check {
	return check{AjvCountLimit(kw, strconv.Itoa(l)), sp + "/" + kw}
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

func (c *compiler) compileString(n *node, o *fastjson.Object) error {
	sp, str := n.sp, &n.str
	if l, ok, err := nonNegInt(o.Get("maxLength"), "maxLength", sp); err != nil {
		return err
	} else if ok {
		str.maxLength = l
		str.maxLengthErr = countCheck("maxLength", sp, l)
		n.hasString = true
	}
	if l, ok, err := nonNegInt(o.Get("minLength"), "minLength", sp); err != nil {
		return err
	} else if ok {
		str.minLength = l
		str.minLengthErr = countCheck("minLength", sp, l)
		n.hasString = true
	}
	if p := o.Get("pattern"); p != nil && p.Type() == fastjson.TypeString {
		pat := string(p.GetStringBytes())
		re, err := compileECMA(pat)
		if err != nil {
			return fmt.Errorf("pattern at %s: %w", sp, err)
		}
		str.pattern = re
		str.patternErr = check{AjvPattern(pat), sp + "/pattern"}
		n.hasString = true
	}
	if f := o.Get("format"); f != nil && f.Type() == fastjson.TypeString {
		name := string(f.GetStringBytes())
		if fn := c.format(name); fn != nil {
			str.format = fn
			str.formatErr = check{AjvFormat(name), sp + "/format"}
			n.hasString = true
		}
	}
	return nil
}

func (c *compiler) compileArray(n *node, o *fastjson.Object, base string, d draft) error {
	sp, arr := n.sp, &n.arr
	var err error
	if l, ok, err := nonNegInt(o.Get("maxItems"), "maxItems", sp); err != nil {
		return err
	} else if ok {
		arr.maxItems = l
		arr.maxItemsErr = countCheck("maxItems", sp, l)
		n.hasArray = true
	}
	if l, ok, err := nonNegInt(o.Get("minItems"), "minItems", sp); err != nil {
		return err
	} else if ok {
		arr.minItems = l
		arr.minItemsErr = countCheck("minItems", sp, l)
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
			arr.tuple = append(arr.tuple, sn)
		}
		n.hasArray = true
	}
	if rest != nil {
		if rest.Type() == fastjson.TypeFalse && (items != nil || restKw == "additionalItems") {
			// Ajv 6: one error for the array ("should NOT have more than 2 items"), not one
			// per extra element.
			arr.itemsFalse = true
			arr.itemsFalseErr = countCheck(restKw, sp, len(arr.tuple))
		} else if arr.items, err = c.sub(n, rest, base, d, restKw); err != nil {
			return err
		}
		n.hasArray = true
	}
	if cv := o.Get("contains"); cv != nil {
		if arr.contains, err = c.sub(n, cv, base, d, "contains"); err != nil {
			return err
		}
		arr.containsErr = check{AjvContains(), sp + "/contains"}
		if d >= draft2019 {
			// Draft 2019's minContains and maxContains, which Ajv 6 does not know: worded after
			// its contains.
			if l, ok, err := nonNegInt(o.Get("minContains"), "minContains", sp); err != nil {
				return err
			} else if ok {
				arr.minContains = l
				if l != 1 {
					t := strconv.Itoa(l)
					arr.containsErr = check{AjvError{"contains", `{"minContains":` + t + `}`, "should contain at least " + t + " valid item(s)"}, sp + "/minContains"}
				}
			}
			if l, ok, err := nonNegInt(o.Get("maxContains"), "maxContains", sp); err != nil {
				return err
			} else if ok {
				arr.maxContains = l
				t := strconv.Itoa(l)
				arr.maxContainsErr = check{AjvError{"contains", `{"maxContains":` + t + `}`, "should contain at most " + t + " valid item(s)"}, sp + "/maxContains"}
			}
		}
		n.hasArray = true
	}
	if u := o.Get("uniqueItems"); u != nil && u.Type() == fastjson.TypeTrue {
		arr.uniqueItems = true
		arr.uniqueSP = sp + "/uniqueItems"
		n.hasArray = true
		arr.unique = uniqueRuleOf(o.Get("items"))
		arr.unique.js = n.js
	}
	return nil
}

func (c *compiler) compileObject(n *node, o *fastjson.Object, base string, d draft) error {
	sp, obj := n.sp, &n.obj
	var err error
	if l, ok, err := nonNegInt(o.Get("maxProperties"), "maxProperties", sp); err != nil {
		return err
	} else if ok {
		obj.maxProps = l
		obj.maxPropsErr = countCheck("maxProperties", sp, l)
		n.hasObject = true
	}
	if l, ok, err := nonNegInt(o.Get("minProperties"), "minProperties", sp); err != nil {
		return err
	} else if ok {
		obj.minProps = l
		obj.minPropsErr = countCheck("minProperties", sp, l)
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
			obj.required = append(obj.required, requiredEntry{name, check{AjvRequired(name), sp + "/required"}})
		}
		n.hasObject = n.hasObject || len(obj.required) > 0
	}
	if err := c.compileDependencies(n, o, base, d); err != nil {
		return err
	}
	if pn := o.Get("propertyNames"); pn != nil {
		if obj.propertyNames, err = c.sub(n, pn, base, d, "propertyNames"); err != nil {
			return err
		}
		obj.propNamesSP = sp + "/propertyNames"
		n.hasObject, obj.walkKeys = true, true
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
			if obj.propIndex == nil {
				obj.propIndex = map[string]int{}
			}
			if i, dup := obj.propIndex[name]; dup {
				obj.props[i].node = sn
				return
			}
			obj.propIndex[name] = len(obj.props)
			obj.props = append(obj.props, propEntry{name: name, node: sn})
		})
		if perr != nil {
			return perr
		}
		n.hasObject, obj.walkKeys = true, true
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
			obj.patterns = append(obj.patterns, patEntry{re, sn})
		})
		if perr != nil {
			return perr
		}
		n.hasObject, obj.walkKeys = true, true
	}
	if av := o.Get("additionalProperties"); av != nil {
		obj.addSP = sp + "/additionalProperties"
		switch av.Type() {
		case fastjson.TypeFalse:
			obj.addFalse = true
		case fastjson.TypeTrue:
		default:
			if obj.additional, err = c.sub(n, av, base, d, "additionalProperties"); err != nil {
				return err
			}
		}
		n.hasObject, obj.walkKeys = true, true
	}
	obj.index()
	return nil
}

// compileDependencies compiles draft 7's dependencies, or draft 2019's dependentRequired and
// dependentSchemas.
func (c *compiler) compileDependencies(n *node, o *fastjson.Object, base string, d draft) error {
	sp, obj := n.sp, &n.obj
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
				for _, m := range dr.deps {
					dr.missing = append(dr.missing, check{AjvDependency(prop, m, dr.deps), sp + "/" + kw})
				}
				obj.depRequired = append(obj.depRequired, dr)
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
			obj.depSchemas = append(obj.depSchemas, depSchema{prop, sn})
		})
		if derr != nil {
			return derr
		}
		n.hasObject = n.hasObject || len(obj.depRequired) > 0 || len(obj.depSchemas) > 0
	}
	return nil
}

// index builds what the walk over an object's keys looks properties up with: the hash table of
// lookup, and the bits that count required properties off.
func (obj *objectKeywords) index() {
	if len(obj.props) > 0 {
		size := 4
		for size < 2*len(obj.props) {
			size *= 2
		}
		obj.propTable = make([]int32, size)
		for i := range obj.propTable {
			obj.propTable[i] = -1
		}
		mask := uint32(size - 1)
		for i := range obj.props {
			h := propHash(obj.props[i].name) & mask
			for obj.propTable[h] >= 0 {
				h = (h + 1) & mask
			}
			obj.propTable[h] = int32(i)
		}
	}
	// Required properties that are all declared, and not too many, are counted off during the
	// walk over the keys instead of being looked up one by one.
	if len(obj.required) > 0 && len(obj.required) <= 64 && obj.walkKeys {
		var mask uint64
		for i, r := range obj.required {
			pi, ok := obj.propIndex[r.name]
			if !ok {
				mask = 0
				break
			}
			obj.props[pi].reqBit |= 1 << i
			mask |= 1 << i
		}
		if mask == 0 {
			for i := range obj.props {
				obj.props[i].reqBit = 0
			}
		}
		obj.reqMask = mask
	}
}

// compileGeneric compiles the keywords for values of any type but $ref (see compileRef).
func (c *compiler) compileGeneric(n *node, o *fastjson.Object, base string, d draft) error {
	sp, gen := n.sp, &n.gen
	gen.js = n.js
	if cv := o.Get("const"); cv != nil {
		gen.constV = cv
		gen.constErr = check{AjvConst(string(AppendJSON(nil, cv))), sp + "/const"}
		n.hasGeneric = true
	}
	if ev := o.Get("enum"); ev != nil {
		if ev.Type() != fastjson.TypeArray {
			return fmt.Errorf("enum at %s is not a list", sp)
		}
		gen.enum = ev.GetArray()
		if gen.enum == nil {
			gen.enum = []*fastjson.Value{}
		}
		gen.enumErr = check{AjvEnum(string(AppendJSON(nil, ev))), sp + "/enum"}
		n.hasGeneric = true
	}
	if nv := o.Get("not"); nv != nil {
		var err error
		if gen.not, err = c.sub(n, nv, base, d, "not"); err != nil {
			return err
		}
		gen.notErr = check{AjvNot(), sp + "/not"}
		n.hasGeneric = true
	}
	for _, kw := range [...]string{"anyOf", "oneOf", "allOf"} {
		av := o.Get(kw)
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
			gen.anyOf = list
			gen.anyOfErr = check{AjvAnyOf(), sp + "/anyOf"}
		case "oneOf":
			gen.oneOf = list
			gen.oneOfSP = sp + "/oneOf"
		default:
			gen.allOf = list
		}
		n.hasGeneric = true
	}
	if iv := o.Get("if"); iv != nil && d >= draft7 {
		var err error
		if gen.ifN, err = c.sub(n, iv, base, d, "if"); err != nil {
			return err
		}
		if tv := o.Get("then"); tv != nil {
			if gen.thenN, err = c.sub(n, tv, base, d, "then"); err != nil {
				return err
			}
		}
		if ev := o.Get("else"); ev != nil {
			if gen.elseN, err = c.sub(n, ev, base, d, "else"); err != nil {
				return err
			}
		}
		gen.thenErr = check{AjvIf("then"), sp + "/if"}
		gen.elseErr = check{AjvIf("else"), sp + "/if"}
		if gen.thenN == nil && gen.elseN == nil {
			gen.ifN = nil // nothing to decide
		} else {
			n.hasGeneric = true
		}
	}
	return nil
}
