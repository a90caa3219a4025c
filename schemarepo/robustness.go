package schemarepo

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"intake.dev/intake/fastpath"
)

// Robustness test cases, by jsonschema-tools' names (the names skipSchemaTestCases lists).
const (
	CaseValid            = "schema-is-valid"
	CaseSecure           = "schema-is-secure"
	CaseSnakeCase        = "schema-snake-case-properties"
	CaseDeterministic    = "schema-deterministic-types"
	CaseRequiredExist    = "schema-required-properties-exist"
	CaseExamplesSchemaID = "schema-examples-$schema-matches-schema-$id"
	CaseExamplesValid    = "schema-examples-are-valid"
	CaseNumericBounds    = "schema-enforced-numeric-bounds"
	CaseCompatibility    = "schema-version-compatibility"
)

// draft07 is the JSON Schema draft-07 meta-schema (json-schema.org's, as Ajv 6 ships it).
//
//go:embed draft-07.json
var draft07 []byte

var metaProgram = func() *fastpath.Program {
	p, err := fastpath.Compile(draft07, fastpath.CompileOptions{BaseURI: "http://json-schema.org/draft-07/schema"})
	if err != nil {
		panic("BUG: cannot compile the draft-07 meta-schema: " + err.Error())
	}
	return p
}()

type robustnessCase struct {
	name, description string
	// declared is jsonschema-tools' condition: a case not declared for a file is not a test.
	declared func(f *File, cfg *Config) bool
	check    func(t *tester, f *File) []Problem
}

func notCurrent(f *File, _ *Config) bool { return !f.Current }

var robustnessCases = []robustnessCase{
	{CaseValid, "must be a valid JSONSchema", notCurrent, (*tester).checkValid},
	{CaseSecure, "must be a secure JSONSchema", nil, (*tester).checkSecure},
	{CaseSnakeCase, "properties must be snake_case", nil, func(_ *tester, f *File) []Problem { return checkSnakeCase(f.Doc, "") }},
	{CaseDeterministic, "has deterministic types (no unions, missing array value types, etc.)", notCurrent, func(_ *tester, f *File) []Problem { return checkDeterministic(f.Doc, "") }},
	{CaseRequiredExist, "all required properties must exist", notCurrent, func(_ *tester, f *File) []Problem { return checkRequired(f.Doc, "") }},
	{CaseExamplesSchemaID, "examples must have $schema == schema's $id", func(f *File, _ *Config) bool {
		m := asMap(f.Doc)
		_, hasExamples := m["examples"]
		props := asMap(m["properties"])
		_, hasSchema := props["$schema"]
		return !f.Current && hasExamples && hasSchema
	}, func(_ *tester, f *File) []Problem { return checkExamplesID(f.Doc) }},
	{CaseExamplesValid, "examples must validate against schema", func(f *File, _ *Config) bool {
		_, ok := asMap(f.Doc)["examples"]
		return !f.Current && ok
	}, (*tester).checkExamplesValid},
	{CaseNumericBounds, "should have minimum and maximum values inside the configured bounds for all numeric fields", func(f *File, cfg *Config) bool {
		return !f.Current && cfg.EnforcedNumericBounds != nil
	}, func(t *tester, f *File) []Problem { return checkNumericBounds(f.Doc, t.cfg.EnforcedNumericBounds) }},
}

// validateDoc runs a compiled validator on a decoded document and words its errors as Ajv's.
func validateDoc(v fastpath.Validator, doc any) (bool, string) {
	var p fastjson.Parser
	val, err := p.ParseBytes(jsonBytes(doc))
	if err != nil {
		return false, err.Error()
	}
	var errs fastpath.Errors
	if v.Validate(val, &errs) {
		return true, ""
	}
	return false, errs.Text()
}

func (t *tester) checkValid(f *File) []Problem {
	if ok, msg := validateDoc(metaProgram, f.Doc); !ok {
		return []Problem{{Path: "#", Message: "Schema is invalid: " + msg}}
	}
	return nil
}

// checkSecure applies Ajv's "secure" meta-schema (json-schema-secure.json) over the same
// sub-schemas it reaches: a pattern or format needs a maxLength, patternProperties need
// propertyNames with a maxLength, uniqueItems over objects or arrays needs maxItems.
func (t *tester) checkSecure(f *File) []Problem {
	var out []Problem
	var walk func(v any, at string)
	walk = func(v any, at string) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		need := func(keyword, why string) {
			out = append(out, Problem{Path: "#" + at, Message: fmt.Sprintf("schema insecure: %s without %s (%s)", keyword, why, "Ajv's secure meta-schema")})
		}
		if _, ok := m["patternProperties"]; ok {
			pn, ok := m["propertyNames"]
			if !ok {
				need("patternProperties", "propertyNames")
			} else if pm, ok := pn.(map[string]any); ok {
				if _, ok := pm["maxLength"]; !ok {
					need("patternProperties", "propertyNames.maxLength")
				}
			}
		}
		if _, ok := m["uniqueItems"]; ok && m["uniqueItems"] == true {
			if items, ok := m["items"].(map[string]any); ok {
				if typesObjectOrArray(items["type"]) {
					if _, ok := m["maxItems"]; !ok {
						need("uniqueItems over objects or arrays", "maxItems")
					}
				}
			}
		}
		for _, kw := range []string{"pattern", "format"} {
			if _, ok := m[kw]; ok {
				if _, ok := m["maxLength"]; !ok {
					need(kw, "maxLength")
				}
			}
		}
		for _, k := range sortedKeys(m) {
			x := m[k]
			switch k {
			case "additionalItems", "additionalProperties", "if", "then", "else", "not", "contains", "propertyNames":
				walk(x, at+"/"+k)
			case "items":
				if arr, ok := x.([]any); ok {
					for i, s := range arr {
						walk(s, at+"/items/"+strconv.Itoa(i))
					}
				} else {
					walk(x, at+"/items")
				}
			case "allOf", "anyOf", "oneOf":
				if arr, ok := x.([]any); ok {
					for i, s := range arr {
						walk(s, at+"/"+k+"/"+strconv.Itoa(i))
					}
				}
			case "dependencies", "definitions", "patternProperties", "properties":
				if pm, ok := x.(map[string]any); ok {
					for _, p := range sortedKeys(pm) {
						if _, isArr := pm[p].([]any); isArr && k == "dependencies" {
							continue
						}
						walk(pm[p], at+"/"+k+"/"+pointerToken(p))
					}
				}
			}
		}
	}
	walk(f.Doc, "")
	return out
}

func typesObjectOrArray(t any) bool {
	switch x := t.(type) {
	case string:
		return x == "object" || x == "array"
	case []any:
		for _, e := range x {
			if e == "object" || e == "array" {
				return true
			}
		}
	}
	return false
}

var snakeCase = regexp.MustCompile(`^[$a-z]+[a-z0-9_]*$`)

func checkSnakeCase(node any, at string) []Problem {
	m := asMap(node)
	var out []Problem
	if all, ok := m["allOf"].([]any); ok {
		for _, s := range all {
			out = append(out, checkSnakeCase(s, at)...)
		}
		if len(out) > 0 {
			return out[:1]
		}
	}
	props := asMap(m["properties"])
	for _, p := range orderedKeys(props) {
		pp := at + "/properties/" + pointerToken(p)
		if !snakeCase.MatchString(p) {
			return []Problem{{Path: "#" + pp, Message: fmt.Sprintf("Non snake_case: property %q", p)}}
		}
		if sub := checkSnakeCase(props[p], pp); len(sub) > 0 {
			return sub
		}
	}
	return nil
}

// orderedKeys is the order problems are reported in (the document's order is not kept).
func orderedKeys(m map[string]any) []string { return sortedKeys(m) }

// checkDeterministic is jsonschema-tools' assertDeterministicTypes: the first problem only, as
// its assertion stops there.
func checkDeterministic(v any, at string) []Problem {
	fail := func(format string, a ...any) []Problem {
		return []Problem{{Path: "#" + at, Message: fmt.Sprintf(format, a...)}}
	}
	node, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if _, isArr := node["type"].([]any); isArr {
		return fail("Polymorphic type property: type %s", brief(node["type"]))
	}
	if node["type"] == "array" {
		items, _ := node["items"].(map[string]any)
		if !truthy(node["items"]) || items == nil || !truthy(items["type"]) {
			return fail("array type must specify items.type")
		}
		if p := checkDeterministic(items, at+"/items"); p != nil {
			return p
		}
	}
	if node["type"] == "object" {
		hasSchema := truthy(node["properties"]) || truthy(node["oneOf"]) || truthy(node["allOf"])
		if !hasSchema && !truthy(node["additionalProperties"]) {
			return fail("object type must specify properties or additionalProperties")
		}
		if truthy(node["additionalProperties"]) {
			if p := checkDeterministic(node["additionalProperties"], at+"/additionalProperties"); p != nil {
				return p
			}
		}
	}
	if enum, ok := node["enum"].([]any); ok {
		for _, e := range enum {
			if e == nil {
				return fail("enum type must not have a null enum")
			}
		}
	}
	props := asMap(node["properties"])
	for _, k := range orderedKeys(props) {
		kp := at + "/properties/" + pointerToken(k)
		if !truthy(get(props[k], "type")) {
			return []Problem{{Path: "#" + kp, Message: "Missing type"}}
		}
		if p := checkDeterministic(props[k], kp); p != nil {
			return p
		}
	}
	if all, ok := node["allOf"].([]any); ok {
		for _, s := range all {
			if p := checkDeterministic(s, at); p != nil {
				return p
			}
		}
	}
	if oneOf, ok := node["oneOf"].([]any); ok && len(oneOf) > 0 {
		first := get(oneOf[0], "type")
		for _, s := range oneOf {
			if !undefEqual(get(s, "type"), first) {
				return fail("oneOf contains schemas with different types")
			}
		}
		if first == "object" {
			shape, _ := get(oneOf[0], "required").([]any)
			for _, s := range oneOf {
				req, ok := get(s, "required").([]any)
				if !ok || !sameStrings(shape, req) {
					return fail("oneOf contains schemas with different types (required differs)")
				}
			}
		}
		for _, s := range oneOf {
			if p := checkDeterministic(s, at); p != nil {
				return p
			}
		}
	}
	return nil
}

func sameStrings(a, b []any) bool {
	in := func(x any, list []any) bool {
		for _, y := range list {
			if x == y {
				return true
			}
		}
		return false
	}
	for _, x := range a {
		if !in(x, b) {
			return false
		}
	}
	for _, x := range b {
		if !in(x, a) {
			return false
		}
	}
	return true
}

func checkRequired(v any, at string) []Problem {
	node := asMap(v)
	if node == nil {
		return nil
	}
	if truthy(node["required"]) {
		if !truthy(node["properties"]) {
			return []Problem{{Path: "#" + at + "/properties", Message: "must exist: required lists properties"}}
		}
		props := asMap(node["properties"])
		req, _ := node["required"].([]any)
		for _, r := range req {
			name := fmt.Sprint(r)
			if !truthy(props[name]) {
				return []Problem{{Path: "#" + at + "/properties/" + pointerToken(name), Message: "is required but does not exist"}}
			}
		}
	}
	props := asMap(node["properties"])
	for _, k := range orderedKeys(props) {
		if p := checkRequired(props[k], at+"/properties/"+pointerToken(k)); p != nil {
			return p
		}
	}
	return nil
}

func checkExamplesID(doc any) []Problem {
	m := asMap(doc)
	examples, ok := m["examples"].([]any)
	if !ok {
		return []Problem{{Path: "#/examples", Message: "examples is not a list"}}
	}
	id := get(m, "$id")
	for i, ex := range examples {
		s := get(ex, "$schema")
		if !undefEqual(s, id) {
			return []Problem{{Path: "#/examples/" + strconv.Itoa(i) + "/$schema", Message: "example's $schema does not match the schema's $id", Old: orNil(id), New: orNil(s)}}
		}
	}
	return nil
}

func orNil(v any) any {
	if isUndef(v) {
		return nil
	}
	return v
}

func (t *tester) checkExamplesValid(f *File) []Problem {
	m := asMap(f.Doc)
	examples, ok := m["examples"].([]any)
	if !ok {
		return []Problem{{Path: "#/examples", Message: "examples is not a list"}}
	}
	if len(examples) == 0 {
		return nil
	}
	// Ajv compiles the schema first and refuses one its meta-schema refuses (validateSchema),
	// and one whose $schema it does not know: draft-07 is the only one jsonschema-tools loads.
	if ms, ok := asMap(f.Doc)["$schema"]; ok && !isDraft07(ms) {
		return []Problem{{Path: "#/$schema", Message: fmt.Sprintf("no meta-schema %s: Ajv 6, as jsonschema-tools runs it, knows draft-07 only", brief(ms))}}
	}
	if ok, msg := validateDoc(metaProgram, f.Doc); !ok {
		return []Problem{{Path: "#", Message: "the schema is invalid, so no example is validated: " + msg}}
	}
	v, err := t.compile(f)
	if err != nil {
		return []Problem{{Path: "#", Message: "the schema does not compile: " + err.Error()}}
	}
	for i, ex := range examples {
		if ok, msg := validateDoc(v, ex); !ok {
			return []Problem{{Path: "#/examples/" + strconv.Itoa(i), Message: "example did not validate against the schema: " + msg}}
		}
	}
	return nil
}

func checkNumericBounds(doc any, bounds []float64) []Problem {
	var out []Problem
	lo, hi := bounds[0], bounds[1]
	traverseSchema(doc, "", func(node map[string]any, key, ptr string) {
		if len(out) > 0 || !isNumericType(node) {
			return
		}
		field := key
		if field == "" {
			field = "undefined"
		}
		minN, minOK := node["minimum"].(json.Number)
		switch {
		case !minOK:
			out = append(out, Problem{Path: "#" + ptr, Message: fmt.Sprintf("field %s doesn't have a valid minimum value", field)})
		case !(numberValue(minN) >= lo):
			out = append(out, Problem{Path: "#" + ptr, Message: fmt.Sprintf("field %s has a minimum value lower than enforcedNumericBounds minimum %s", field, numberOf(lo))})
		}
		if len(out) > 0 {
			return
		}
		maxN, maxOK := node["maximum"].(json.Number)
		switch {
		case !maxOK:
			out = append(out, Problem{Path: "#" + ptr, Message: fmt.Sprintf("field %s doesn't have a valid maximum value", field)})
		case !(numberValue(maxN) <= hi):
			out = append(out, Problem{Path: "#" + ptr, Message: fmt.Sprintf("field %s has a maximum value higher than enforcedNumericBounds maximum %s", field, numberOf(hi))})
		}
	})
	return out
}

var _ = sort.Strings

func isDraft07(v any) bool {
	s, _ := v.(string)
	s = strings.TrimSuffix(s, "#")
	return s == "http://json-schema.org/draft-07/schema" || s == "https://json-schema.org/draft-07/schema"
}
