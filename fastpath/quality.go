package fastpath

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fastjson"
)

// Data-quality rules: what is plausible for a stream's events, beyond what its schema allows
// ("if page.namespace is 0 then performer.user_edit_count must be above 200"). A stream's
// configuration lists them under "quality_rules"; each compiles, once per configuration snapshot,
// into the same allocation-free Programs as the schemas, and runs on every valid event of the
// stream (Process's step 7b).
//
// A rule is written in one of two notations:
//
//	{"name": "editors_have_edits", "action": "count",
//	 "if":   {"page.namespace": {"equals": 0}},
//	 "then": {"performer.user_edit_count": {"greater_than": 200}}}
//
//	{"name": "editors_have_edits", "action": "count",
//	 "schema": {"if": {...JSON Schema...}, "then": {...JSON Schema...}}}
//
// The first (conditions) maps dotted field paths to operators, the ones of Wikimedia's Metrics
// Platform curation rules (equals, not_equals, greater_than, greater_than_or_equals, less_than,
// less_than_or_equals, in, not_in, contains, contains_all, contains_any) plus exists and matches;
// a bare value is "equals". Several fields in one condition must all hold; "all", "any" and "not"
// combine conditions. It compiles to a JSON Schema fragment (ConditionSchema). The second is that
// fragment written directly: its top-level "if" and "then" are the rule's (without them, the
// whole schema is the "then", for every event).
//
// A rule holds for an event when its "if" does not match or its "then" does; otherwise the event
// violates it. Numbers are read as JavaScript reads them (doubles), as Ajv does. A field that is
// missing (or under a value that is not an object) makes every operator false but not_equals,
// not_in, exists: false and "not" of a condition.

// RuleAction is what a violation does.
type RuleAction uint8

const (
	// RuleCount counts the violation (intake_quality_violations_total); the event is produced.
	RuleCount RuleAction = iota
	// RuleFlag counts it, and the edge produces a copy of the event to the alarm stream, with the
	// rule's name and the values of the fields it reads.
	RuleFlag
	// RuleReject counts it and makes the event invalid: its error event and the response name
	// the rule.
	RuleReject
)

var ruleActions = [...]string{RuleCount: "count", RuleFlag: "flag", RuleReject: "reject"}

func (a RuleAction) String() string { return ruleActions[a] }

// Rule is one compiled quality rule of a stream. Immutable once its stream is built.
type Rule struct {
	Name   string
	Action RuleAction
	// Text says what the rule requires, in words: its description, or its conditions read back
	// ("if page.namespace equals 0 then performer.user_edit_count greater_than 200").
	Text string
	// Fields are the dotted paths the rule reads (the conditions notation's), whose values a
	// flag's alarm event carries; nil for a rule written as a schema.
	Fields []string
	// Violations counts the events that violated the rule; nil counts nothing.
	Violations *metrics.Counter

	// ifProg and thenProg are the rule as JSON Schema (ifProg nil: every event). A rule in the
	// conditions notation runs as ifCond and thenCond instead: the same verdicts (see condNode),
	// found by looking each field up once rather than by walking every key of the event.
	ifProg, thenProg *Program
	ifCond, thenCond *condNode
	fieldPaths       [][]string
	message, params  string // a reject's error
	schemaPath       string
}

// RuleError is a rule of a stream's quality_rules that did not compile; the stream works without it.
type RuleError struct {
	Index  int    // in quality_rules
	Name   string // "" when the rule has none
	Reason string
}

func (e RuleError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("quality_rules[%d]: %s", e.Index, e.Reason)
	}
	return fmt.Sprintf("quality_rules[%d] %q: %s", e.Index, e.Name, e.Reason)
}

// maxRules bounds a stream's rules; maxRuleNameBytes a rule's name (a metric label).
const (
	maxRules         = 1000
	maxRuleNameBytes = 128
)

// CompileRules compiles a stream's quality_rules (a JSON array of rules) with opts (format mode;
// BaseURI and Resolve for a schema rule's $refs). Rules that do not compile are returned as
// errors, and left out.
func CompileRules(stream string, v *fastjson.Value, opts CompileOptions) ([]Rule, []RuleError) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil, nil
	}
	list, err := v.Array()
	if err != nil {
		return nil, []RuleError{{Index: -1, Reason: "quality_rules must be a list of rules, not a JSON " + v.Type().String()}}
	}
	var rules []Rule
	var errs []RuleError
	seen := map[string]bool{}
	for i, rv := range list {
		if i >= maxRules {
			errs = append(errs, RuleError{Index: i, Reason: fmt.Sprintf("a stream has at most %d rules; this one and the ones after it are left out", maxRules)})
			break
		}
		ru, err := compileRule(stream, i, rv, opts)
		if err == nil && seen[ru.Name] {
			err = fmt.Errorf("another rule of the stream has the name %q", ru.Name)
		}
		if err != nil {
			name := ""
			if rv.Type() == fastjson.TypeObject {
				name = string(rv.GetStringBytes("name"))
			}
			errs = append(errs, RuleError{Index: i, Name: name, Reason: err.Error()})
			continue
		}
		seen[ru.Name] = true
		rules = append(rules, ru)
	}
	return rules, errs
}

func compileRule(stream string, i int, rv *fastjson.Value, opts CompileOptions) (Rule, error) {
	var ru Rule
	o, err := rv.Object()
	if err != nil {
		return ru, fmt.Errorf("a rule must be an object, not a JSON %s", rv.Type())
	}
	var problem error
	o.Visit(func(k []byte, _ *fastjson.Value) {
		switch string(k) {
		case "name", "action", "description", "if", "then", "schema":
		default:
			if problem == nil {
				problem = fmt.Errorf("unknown key %q (a rule has name, action, description, and if/then or schema)", k)
			}
		}
	})
	if problem != nil {
		return ru, problem
	}
	nv := o.Get("name")
	if nv == nil || nv.Type() != fastjson.TypeString || len(nv.GetStringBytes()) == 0 {
		return ru, fmt.Errorf("a rule needs a name (a non-empty string)")
	}
	ru.Name = string(nv.GetStringBytes())
	if len(ru.Name) > maxRuleNameBytes || strings.ContainsAny(ru.Name, "\"\\\n") {
		return ru, fmt.Errorf("a rule's name is at most %d bytes, without quotes, backslashes or line breaks", maxRuleNameBytes)
	}
	switch av := o.Get("action"); {
	case av == nil:
	case av.Type() == fastjson.TypeString:
		a := string(av.GetStringBytes())
		if k := slices.Index(ruleActions[:], a); k >= 0 {
			ru.Action = RuleAction(k)
		} else {
			return ru, fmt.Errorf("unknown action %q (count, flag or reject)", a)
		}
	default:
		return ru, fmt.Errorf("action must be count, flag or reject")
	}

	var ifDoc, thenDoc []byte
	var words string
	sv, ifv, thenv := o.Get("schema"), o.Get("if"), o.Get("then")
	switch {
	case sv != nil && (ifv != nil || thenv != nil):
		return ru, fmt.Errorf("a rule has either conditions (if, then) or a schema, not both")
	case sv != nil:
		if t := sv.Type(); t != fastjson.TypeObject && t != fastjson.TypeTrue && t != fastjson.TypeFalse {
			return ru, fmt.Errorf("schema must be a JSON Schema (an object), not a JSON %s", t)
		}
		if sv.Get("if") != nil && sv.Get("then") != nil {
			ifDoc, thenDoc = AppendJSON(nil, sv.Get("if")), AppendJSON(nil, sv.Get("then"))
		} else {
			thenDoc = AppendJSON(nil, sv)
		}
		words = "the rule's schema"
	case thenv == nil:
		return ru, fmt.Errorf("a rule needs then (the conditions an event must meet) or a schema")
	default:
		c := condCompiler{opts: opts}
		if ifv != nil {
			if ifDoc, ru.ifCond, err = c.condition(ifv, 0); err != nil {
				return ru, fmt.Errorf("if: %w", err)
			}
			words = "if " + c.words(ifv) + " then "
		}
		if thenDoc, ru.thenCond, err = c.condition(thenv, 0); err != nil {
			return ru, fmt.Errorf("then: %w", err)
		}
		words += c.words(thenv)
		ru.Fields = c.fields
		for _, f := range c.fields {
			ru.fieldPaths = append(ru.fieldPaths, SplitPath(f))
		}
	}
	if ifDoc != nil {
		if ru.ifProg, err = Compile(ifDoc, opts); err != nil {
			return ru, fmt.Errorf("if: %w", err)
		}
	}
	if ru.thenProg, err = Compile(thenDoc, opts); err != nil {
		return ru, fmt.Errorf("then: %w", err)
	}
	ru.Text = words
	if d := o.Get("description"); d != nil && d.Type() == fastjson.TypeString && len(d.GetStringBytes()) > 0 {
		ru.Text = string(d.GetStringBytes())
	}
	ru.message = "should satisfy quality rule '" + ru.Name + "' of stream '" + stream + "': " + ru.Text
	ru.params = `{"rule":` + jsonText(ru.Name) + `}`
	ru.schemaPath = "#/quality_rules/" + strconv.Itoa(i)
	return ru, nil
}

// Holds reports whether ev meets the rule: its if does not match, or its then does. It does not
// allocate.
func (ru *Rule) Holds(ev *fastjson.Value) bool {
	return !ru.applies(ev) || ru.meetsThen(ev)
}

// Verdict is "holds", "not_applicable" (its if does not match) or "violated".
func (ru *Rule) Verdict(ev *fastjson.Value) string {
	switch {
	case !ru.applies(ev):
		return "not_applicable"
	case ru.meetsThen(ev):
		return "holds"
	}
	return "violated"
}

func (ru *Rule) applies(ev *fastjson.Value) bool {
	if ru.ifCond != nil {
		return ru.ifCond.eval(ev)
	}
	return ru.ifProg == nil || ru.ifProg.root.valid(ev, 0)
}

func (ru *Rule) meetsThen(ev *fastjson.Value) bool {
	if ru.thenCond != nil {
		return ru.thenCond.eval(ev)
	}
	return ru.thenProg.root.valid(ev, 0)
}

// schemaHolds is Holds through the rule's JSON Schema programs alone: the reference the
// conditions' evaluation is tested against.
func (ru *Rule) schemaHolds(ev *fastjson.Value) bool {
	return ru.ifProg != nil && !ru.ifProg.root.valid(ev, 0) || ru.thenProg.root.valid(ev, 0)
}

// condNode is a compiled condition of the conditions notation: all, any or not of others, or a
// field's operator. Its verdict is the one of the JSON Schema the condition compiles to
// (fieldSchema): a field under a value that is not an object is missing; a missing field makes
// the operator false when the schema requires the path (positive operators), true otherwise; a
// present one is checked by the operator's own program (operatorSchema).
type condNode struct {
	kind     condKind
	kids     []condNode
	path     []string
	prog     *Program // nil: exists
	required bool
}

type condKind uint8

const (
	condField condKind = iota
	condAll
	condAny
	condNot
)

func (n *condNode) eval(ev *fastjson.Value) bool {
	switch n.kind {
	case condAll:
		for i := range n.kids {
			if !n.kids[i].eval(ev) {
				return false
			}
		}
		return true
	case condAny:
		for i := range n.kids {
			if n.kids[i].eval(ev) {
				return true
			}
		}
		return false
	case condNot:
		return !n.kids[0].eval(ev)
	}
	v := fieldAt(ev, n.path)
	if v == nil {
		return !n.required
	}
	return n.prog == nil || n.prog.root.valid(v, 0)
}

// fieldAt is the value at path through objects only (nil when a step is missing or not an
// object), the first of a repeated key: events reach the rules free of repeated keys.
func fieldAt(v *fastjson.Value, path []string) *fastjson.Value {
	for _, seg := range path {
		if v.Type() != fastjson.TypeObject {
			return nil
		}
		var next *fastjson.Value
		for _, kv := range objectMembers(mustObject(v)) {
			if len(kv.k) == len(seg) && kv.k == seg {
				next = kv.v
				break
			}
		}
		if next == nil {
			return nil
		}
		v = next
	}
	return v
}

func mustObject(v *fastjson.Value) *fastjson.Object {
	o, _ := v.Object()
	return o
}

// AppendValues appends the values of the fields the rule reads as a JSON object of dotted path to
// the value's JSON text (a string; "" when the event lacks the field): {"page.namespace":"0"}.
func (ru *Rule) AppendValues(dst []byte, ev *fastjson.Value) []byte {
	dst = append(dst, '{')
	var val []byte
	for i, f := range ru.Fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, f)
		dst = append(dst, ':')
		val = val[:0]
		if v := ev.Get(ru.fieldPaths[i]...); v != nil {
			val = AppendJSON(val, v)
		}
		dst = AppendJSONString(dst, b2s(val))
	}
	return append(dst, '}')
}

// AppendRuleVerdicts appends every rule's verdict on ev as a JSON array:
// [{"rule":"n","action":"count","verdict":"violated"}, ...]. For developer mode and dry runs.
func AppendRuleVerdicts(dst []byte, rules []Rule, ev *fastjson.Value) []byte {
	dst = append(dst, '[')
	for i := range rules {
		ru := &rules[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"rule":`...)
		dst = AppendJSONString(dst, ru.Name)
		dst = append(dst, `,"action":"`...)
		dst = append(dst, ru.Action.String()...)
		dst = append(dst, `","verdict":"`...)
		dst = append(dst, ru.Verdict(ev)...)
		dst = append(dst, `"}`...)
	}
	return append(dst, ']')
}

// checkRules runs a stream's rules on a valid event (Process's step 7b): each violation is
// counted; a flag rule's is noted in r.Flagged; the first reject rule violated makes the event
// invalid (false). It does not allocate once r.Flagged has grown.
func checkRules(rules []Rule, ev *fastjson.Value, r *Result) bool {
	for i := range rules {
		ru := &rules[i]
		if ru.Holds(ev) {
			continue
		}
		if ru.Violations != nil {
			ru.Violations.Inc()
		}
		switch ru.Action {
		case RuleFlag:
			r.Flagged = append(r.Flagged, ru)
		case RuleReject:
			r.fail(Invalid, "ValidationError", "qualityRule", "", ru.schemaPath, ru.params, ru.message)
			return false
		}
	}
	return true
}

// condCompiler turns the conditions notation into JSON Schema, and into condNodes.
type condCompiler struct {
	opts   CompileOptions
	fields []string // the paths read, in order of first use
}

// condition compiles a condition to its JSON Schema and its condNode.
func (c *condCompiler) condition(v *fastjson.Value, depth int) ([]byte, *condNode, error) {
	doc, err := c.schema(v, depth)
	if err != nil {
		return nil, nil, err
	}
	n, err := c.node(v)
	if err != nil {
		return nil, nil, err
	}
	return doc, &n, nil
}

// node builds the condNode of a condition schema accepted.
func (c *condCompiler) node(v *fastjson.Value) (condNode, error) {
	o, _ := v.Object()
	var parts []condNode
	var problem error
	o.Visit(func(k []byte, cv *fastjson.Value) {
		if problem != nil {
			return
		}
		switch key := string(k); key {
		case "all", "any":
			n := condNode{kind: condAll}
			if key == "any" {
				n.kind = condAny
			}
			for _, sub := range cv.GetArray() {
				kid, err := c.node(sub)
				if err != nil {
					problem = err
					return
				}
				n.kids = append(n.kids, kid)
			}
			parts = append(parts, n)
		case "not":
			kid, err := c.node(cv)
			if err != nil {
				problem = err
				return
			}
			parts = append(parts, condNode{kind: condNot, kids: []condNode{kid}})
		default:
			n, err := c.fieldNode(SplitPath(key), cv)
			if err != nil {
				problem = err
				return
			}
			parts = append(parts, n)
		}
	})
	if problem != nil {
		return condNode{}, problem
	}
	return allOf(parts), nil
}

// allOf is parts all holding: the one part alone, or a condAll of them.
func allOf(parts []condNode) condNode {
	if len(parts) == 1 {
		return parts[0]
	}
	return condNode{kind: condAll, kids: parts}
}

// fieldNode builds the condNode of one field's operators (checked by field already).
func (c *condCompiler) fieldNode(segs []string, ops *fastjson.Value) (condNode, error) {
	leaf := func(op string, arg *fastjson.Value) (condNode, error) {
		if op == "exists" {
			n := condNode{path: segs, required: true}
			if arg.Type() == fastjson.TypeFalse {
				return condNode{kind: condNot, kids: []condNode{n}}, nil
			}
			return n, nil
		}
		doc, err := operatorSchema(op, arg)
		if err != nil {
			return condNode{}, err
		}
		prog, err := Compile(doc, c.opts)
		if err != nil {
			return condNode{}, err
		}
		return condNode{path: segs, prog: prog, required: !operators[op]}, nil
	}
	if ops.Type() != fastjson.TypeObject {
		return leaf("equals", ops)
	}
	o, _ := ops.Object()
	var parts []condNode
	var problem error
	o.Visit(func(k []byte, arg *fastjson.Value) {
		if problem != nil {
			return
		}
		n, err := leaf(string(k), arg)
		if err != nil {
			problem = err
			return
		}
		parts = append(parts, n)
	})
	if problem != nil {
		return condNode{}, problem
	}
	return allOf(parts), nil
}

// maxCondDepth bounds the nesting of all/any/not.
const maxCondDepth = 16

// operators are the conditions notation's, with whether each holds for a missing field.
var operators = map[string]bool{
	"equals": false, "not_equals": true,
	"greater_than": false, "greater_than_or_equals": false, "less_than": false, "less_than_or_equals": false,
	"in": false, "not_in": true,
	"contains": false, "contains_all": false, "contains_any": false,
	"exists": false, "matches": false,
}

// schema compiles a condition (an object of field paths, all, any, not) to a JSON Schema.
func (c *condCompiler) schema(v *fastjson.Value, depth int) ([]byte, error) {
	if depth > maxCondDepth {
		return nil, fmt.Errorf("conditions nest deeper than %d", maxCondDepth)
	}
	o, err := v.Object()
	if err != nil || o.Len() == 0 {
		return nil, fmt.Errorf("a condition is an object of field paths (and all, any, not), not %s", describe(v))
	}
	var parts [][]byte
	var problem error
	o.Visit(func(k []byte, cv *fastjson.Value) {
		if problem != nil {
			return
		}
		var part []byte
		switch key := string(k); key {
		case "all", "any":
			arr, err := cv.Array()
			if err != nil || len(arr) == 0 {
				problem = fmt.Errorf("%s takes a non-empty list of conditions", key)
				return
			}
			part = append(part, `{"`+map[string]string{"all": "allOf", "any": "anyOf"}[key]+`":[`...)
			for i, sub := range arr {
				s, err := c.schema(sub, depth+1)
				if err != nil {
					problem = fmt.Errorf("%s[%d]: %w", key, i, err)
					return
				}
				if i > 0 {
					part = append(part, ',')
				}
				part = append(part, s...)
			}
			part = append(part, "]}"...)
		case "not":
			s, err := c.schema(cv, depth+1)
			if err != nil {
				problem = fmt.Errorf("not: %w", err)
				return
			}
			part = append(append(append(part, `{"not":`...), s...), '}')
		default:
			s, err := c.field(key, cv)
			if err != nil {
				problem = fmt.Errorf("%s: %w", key, err)
				return
			}
			part = s
		}
		parts = append(parts, part)
	})
	if problem != nil {
		return nil, problem
	}
	return allOfSchema(parts), nil
}

// field compiles the operators on one field path (an object of operators, or a bare value:
// equals).
func (c *condCompiler) field(path string, ops *fastjson.Value) ([]byte, error) {
	segs := SplitPath(path)
	if slices.Contains(segs, "") {
		return nil, fmt.Errorf("not a field path (dotted names, none empty)")
	}
	if !slices.Contains(c.fields, path) {
		c.fields = append(c.fields, path)
	}
	if ops.Type() != fastjson.TypeObject {
		s, err := operatorSchema("equals", ops)
		if err != nil {
			return nil, err
		}
		return fieldSchema(segs, s, true), nil
	}
	o, _ := ops.Object()
	if o.Len() == 0 {
		return nil, fmt.Errorf("no operator (equals, greater_than, in, ...)")
	}
	var parts [][]byte
	var problem error
	o.Visit(func(k []byte, arg *fastjson.Value) {
		if problem != nil {
			return
		}
		op := string(k)
		missingHolds, ok := operators[op]
		if !ok {
			problem = fmt.Errorf("unknown operator %q (%s)", op, strings.Join(operatorNames(), ", "))
			return
		}
		if op == "exists" {
			if arg.Type() != fastjson.TypeTrue && arg.Type() != fastjson.TypeFalse {
				problem = fmt.Errorf("exists takes true or false")
				return
			}
			present := fieldSchema(segs, []byte(`true`), true)
			if arg.Type() == fastjson.TypeFalse {
				present = append(append([]byte(`{"not":`), present...), '}')
			}
			parts = append(parts, present)
			return
		}
		s, err := operatorSchema(op, arg)
		if err != nil {
			problem = err
			return
		}
		parts = append(parts, fieldSchema(segs, s, !missingHolds))
	})
	if problem != nil {
		return nil, problem
	}
	return allOfSchema(parts), nil
}

// allOfSchema is parts all holding: the one schema alone, or {"allOf": parts}.
func allOfSchema(parts [][]byte) []byte {
	if len(parts) == 1 {
		return parts[0]
	}
	doc := []byte(`{"allOf":[`)
	for i, p := range parts {
		if i > 0 {
			doc = append(doc, ',')
		}
		doc = append(doc, p...)
	}
	return append(doc, "]}"...)
}

func operatorNames() []string {
	names := make([]string, 0, len(operators))
	for k := range operators {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// fieldSchema nests s under the path's properties; required: every object on the way must be
// there, and the field too (else a missing field meets s).
func fieldSchema(segs []string, s []byte, required bool) []byte {
	doc := s
	for i := len(segs) - 1; i >= 0; i-- {
		var b []byte
		if required {
			b = append(b, `{"type":"object","required":[`...)
			b = AppendJSONString(b, segs[i])
			b = append(b, `],"properties":{`...)
		} else {
			b = append(b, `{"properties":{`...)
		}
		b = AppendJSONString(b, segs[i])
		b = append(b, ':')
		b = append(b, doc...)
		doc = append(b, "}}"...)
	}
	return doc
}

// operatorSchema is the JSON Schema of one operator on a field's value.
func operatorSchema(op string, arg *fastjson.Value) ([]byte, error) {
	argJSON := AppendJSON(nil, arg)
	number := func(keyword string) ([]byte, error) {
		if arg.Type() != fastjson.TypeNumber {
			return nil, fmt.Errorf("%s takes a number, not %s", op, describe(arg))
		}
		return []byte(`{"type":"number","` + keyword + `":` + string(argJSON) + `}`), nil
	}
	list := func() ([]*fastjson.Value, error) {
		a, err := arg.Array()
		if err != nil || len(a) == 0 {
			return nil, fmt.Errorf("%s takes a non-empty list, not %s", op, describe(arg))
		}
		return a, nil
	}
	switch op {
	case "equals":
		return []byte(`{"const":` + string(argJSON) + `}`), nil
	case "not_equals":
		return []byte(`{"not":{"const":` + string(argJSON) + `}}`), nil
	case "greater_than":
		return number("exclusiveMinimum")
	case "greater_than_or_equals":
		return number("minimum")
	case "less_than":
		return number("exclusiveMaximum")
	case "less_than_or_equals":
		return number("maximum")
	case "in", "not_in":
		if _, err := list(); err != nil {
			return nil, err
		}
		if op == "in" {
			return []byte(`{"enum":` + string(argJSON) + `}`), nil
		}
		return []byte(`{"not":{"enum":` + string(argJSON) + `}}`), nil
	case "contains":
		return containsSchema(arg), nil
	case "contains_all", "contains_any":
		a, err := list()
		if err != nil {
			return nil, err
		}
		doc := []byte(`{"allOf":[`)
		if op == "contains_any" {
			doc = []byte(`{"anyOf":[`)
		}
		for i, v := range a {
			if i > 0 {
				doc = append(doc, ',')
			}
			doc = append(doc, containsSchema(v)...)
		}
		return append(doc, "]}"...), nil
	case "matches":
		if arg.Type() != fastjson.TypeString {
			return nil, fmt.Errorf("matches takes a regular expression (a string), not %s", describe(arg))
		}
		return []byte(`{"type":"string","pattern":` + string(argJSON) + `}`), nil
	}
	return nil, fmt.Errorf("unknown operator %q", op)
}

// containsSchema: an array holding v, or (v a string) a string holding it.
func containsSchema(v *fastjson.Value) []byte {
	item := `{"type":"array","contains":{"const":` + string(AppendJSON(nil, v)) + `}}`
	if v.Type() != fastjson.TypeString {
		return []byte(item)
	}
	pattern := regexp.QuoteMeta(string(v.GetStringBytes()))
	return []byte(`{"anyOf":[` + item + `,{"type":"string","pattern":` + jsonText(pattern) + `}]}`)
}

// words reads a condition back as text: "page.namespace equals 0 and (a in [1,2] or not b exists true)".
func (c *condCompiler) words(v *fastjson.Value) string {
	o, _ := v.Object()
	var parts []string
	o.Visit(func(k []byte, cv *fastjson.Value) {
		switch key := string(k); key {
		case "all", "any":
			var subs []string
			for _, sub := range cv.GetArray() {
				subs = append(subs, c.words(sub))
			}
			sep := " and "
			if key == "any" {
				sep = " or "
			}
			parts = append(parts, "("+strings.Join(subs, sep)+")")
		case "not":
			parts = append(parts, "not ("+c.words(cv)+")")
		default:
			if cv.Type() != fastjson.TypeObject {
				parts = append(parts, key+" equals "+string(AppendJSON(nil, cv)))
				return
			}
			ops, _ := cv.Object()
			ops.Visit(func(op []byte, arg *fastjson.Value) {
				parts = append(parts, key+" "+string(op)+" "+string(AppendJSON(nil, arg)))
			})
		}
	})
	return strings.Join(parts, " and ")
}

// describe names a JSON value's type for an error: "a string", "an array".
func describe(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeObject:
		return "an object"
	case fastjson.TypeArray:
		return "a list"
	case fastjson.TypeString:
		return "a string"
	case fastjson.TypeNumber:
		return "a number"
	case fastjson.TypeNull:
		return "null"
	}
	return "a boolean"
}
