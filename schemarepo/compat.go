package schemarepo

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Mode is a compatibility rule between an old and a new version of a schema.
type Mode string

const (
	// ModeJSONSchemaTools is jsonschema-tools 1.3.0's rule, which its repositories' CI runs
	// between consecutive versions of a major version: every member of the old schema is in the
	// new one with the same value, recursively, except "$id", "description", "examples" and
	// "maxLength", which may change; "required" is the same set; an "enum" only grows. New
	// members (new properties) may be added.
	ModeJSONSchemaTools Mode = "jsonschema-tools"
	// ModeBackward: readers of the new schema can read events written with the old one (every
	// event the old schema accepts, the new one accepts). Confluent Schema Registry's BACKWARD
	// for JSON schemas.
	ModeBackward Mode = "backward"
	// ModeForward: readers of the old schema can read events written with the new one.
	ModeForward Mode = "forward"
	// ModeFull: both.
	ModeFull Mode = "full"
	// ModeNone: no check.
	ModeNone Mode = "none"
)

// Modes lists the modes CheckCompatible takes.
var Modes = []Mode{ModeJSONSchemaTools, ModeBackward, ModeForward, ModeFull, ModeNone}

// CheckCompatible checks newDoc against oldDoc under mode; no problems means compatible.
func CheckCompatible(oldDoc, newDoc any, mode Mode) ([]Problem, error) {
	switch mode {
	case ModeJSONSchemaTools, "":
		return jsonschemaToolsCompatible(newDoc, oldDoc, ""), nil
	case ModeBackward:
		return prefixed(accepts(oldDoc, newDoc, "", 0), "readers of the new schema cannot read an old event: "), nil
	case ModeForward:
		return prefixed(accepts(newDoc, oldDoc, "", 0), "readers of the old schema cannot read a new event: "), nil
	case ModeFull:
		p := prefixed(accepts(oldDoc, newDoc, "", 0), "readers of the new schema cannot read an old event: ")
		return append(p, prefixed(accepts(newDoc, oldDoc, "", 0), "readers of the old schema cannot read a new event: ")...), nil
	case ModeNone:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown compatibility mode %q; want one of %s", mode, modeList())
}

func modeList() string {
	s := make([]string, len(Modes))
	for i, m := range Modes {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

func prefixed(ps []Problem, prefix string) []Problem {
	for i := range ps {
		ps[i].Message = prefix + ps[i].Message
	}
	return ps
}

// fieldsAllowedToChange are jsonschema-tools 1.3.0's FIELDS_ALLOWED_TO_CHANGE.
var fieldsAllowedToChange = []string{"$id", "description", "examples", "maxLength"}

// jsonschemaToolsCompatible is jsonschema-tools' assertCompatible, reporting every difference
// (the tool stops at the first; the verdict is the same). Like the tool it looks at keys, not
// at what they mean: a property named "required" or "enum" is read as that keyword.
func jsonschemaToolsCompatible(newS, oldS any, at string) []Problem {
	ptr := "#" + at
	if jsTypeof(newS) != jsTypeof(oldS) || isArray(newS) != isArray(oldS) {
		return []Problem{{Path: ptr, Message: "changed type of value", Old: oldS, New: newS}}
	}
	switch o := oldS.(type) {
	case nil:
		// typeof null is "object" and Object.keys(null) throws in the tool: null never compares.
		return []Problem{{Path: ptr, Message: "a null value cannot be compared (jsonschema-tools fails on it)"}}
	case map[string]any, []any:
		var out []Problem
		for _, key := range objectKeys(o) {
			if contains(fieldsAllowedToChange, key) {
				continue
			}
			kp := at + "/" + pointerToken(key)
			oldV, _ := member(o, key)
			newV, inNew := member(newS, key)
			switch key {
			case "required":
				out = append(out, requiredCompatible(newV, inNew, oldV, "#"+kp)...)
			case "enum":
				out = append(out, enumCompatible(newV, inNew, oldV, "#"+kp)...)
			default:
				if !inNew {
					out = append(out, Problem{Path: "#" + kp, Message: "removed", Old: oldV})
					continue
				}
				out = append(out, jsonschemaToolsCompatible(newV, oldV, kp)...)
			}
		}
		return out
	default:
		if !deepEqual(newS, oldS) {
			return []Problem{{Path: ptr, Message: "changed", Old: oldS, New: newS}}
		}
		return nil
	}
}

func isArray(v any) bool { _, ok := v.([]any); return ok }

// objectKeys are Object.keys of an object or array.
func objectKeys(v any) []string {
	switch t := v.(type) {
	case map[string]any:
		return sortedKeys(t)
	case []any:
		out := make([]string, len(t))
		for i := range t {
			out[i] = strconv.Itoa(i)
		}
		return out
	}
	return nil
}

func member(v any, key string) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		x, ok := t[key]
		return x, ok
	case []any:
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i >= len(t) {
			return nil, false
		}
		return t[i], true
	}
	return nil, false
}

func requiredCompatible(newV any, inNew bool, oldV any, ptr string) []Problem {
	if truthy(oldV) && (!inNew || !truthy(newV)) {
		return []Problem{{Path: ptr, Message: "removed the list of required properties", Old: oldV}}
	}
	oa, ok1 := oldV.([]any)
	na, ok2 := newV.([]any)
	if !ok1 || !ok2 {
		return []Problem{{Path: ptr, Message: "required is not a list (jsonschema-tools fails on it)", Old: oldV, New: orAbsent(newV, inNew)}}
	}
	if !deepEqual(sortByValue(na), sortByValue(oa)) {
		return []Problem{{Path: ptr, Message: "requiredness of properties cannot be modified", Old: oldV, New: newV}}
	}
	return nil
}

func orAbsent(v any, ok bool) any {
	if !ok {
		return nil
	}
	return v
}

func enumCompatible(newV any, inNew bool, oldV any, ptr string) []Problem {
	if truthy(oldV) && (!inNew || !truthy(newV)) {
		return []Problem{{Path: ptr, Message: "removed the enum", Old: oldV}}
	}
	oa, ok1 := oldV.([]any)
	na, ok2 := newV.([]any)
	if !ok1 || !ok2 {
		return []Problem{{Path: ptr, Message: "enum is not a list (jsonschema-tools fails on it)", Old: oldV, New: orAbsent(newV, inNew)}}
	}
	var missing []any
	for _, e := range oa {
		found := false
		for _, x := range na {
			// Array.prototype.includes: primitives by value, objects never equal.
			if !isPlainObject(e) && !isArray(e) && deepEqual(e, x) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, e)
		}
	}
	if len(missing) > 0 {
		return []Problem{{Path: ptr, Message: fmt.Sprintf("the new enum is not a superset of the old: %s removed", brief(missing)), Old: oldV, New: newV}}
	}
	return nil
}

// accepts reports where schema b refuses a value schema a accepts (for backward: a old, b new).
// It reasons on the keywords, as Confluent's JSON Schema compatibility checker does, and is
// conservative: what it cannot prove (combinators that differ, patterns that differ) is a problem.
func accepts(a, b any, at string, depth int) []Problem {
	ptr := "#" + at
	if depth > 64 {
		return []Problem{{Path: ptr, Message: "nested too deeply to compare"}}
	}
	if isEmptySchemaValue(b) {
		return nil
	}
	if a == false {
		return nil
	}
	if b == false {
		return []Problem{{Path: ptr, Message: "a value is now refused entirely (false schema)"}}
	}
	am, bm := asMap(a), asMap(b)
	if am == nil {
		am = map[string]any{}
	}
	if bm == nil {
		return nil
	}
	var out []Problem
	add := func(path, format string, args ...any) {
		out = append(out, Problem{Path: "#" + path, Message: fmt.Sprintf(format, args...)})
	}
	addOldNew := func(path, msg string, oldV, newV any) {
		out = append(out, Problem{Path: "#" + path, Message: msg, Old: oldV, New: newV})
	}

	// Combinators and references: only the same ones are known to accept the same values.
	for _, kw := range []string{"allOf", "anyOf", "oneOf", "not", "$ref", "if", "then", "else", "dependencies", "patternProperties"} {
		av, aok := am[kw]
		bv, bok := bm[kw]
		if bok && (!aok || !deepEqual(av, bv)) {
			addOldNew(at+"/"+kw, kw+" differs, so values it now refuses cannot be ruled out", orAbsent(av, aok), bv)
		}
	}

	// Types.
	aTypes, bTypes := typeSet(am), typeSet(bm)
	if bTypes != nil {
		if aTypes == nil {
			addOldNew(at+"/type", "any type was accepted, now only some", nil, bm["type"])
		} else {
			for t := range aTypes {
				if !bTypes[t] && !(t == "integer" && bTypes["number"]) {
					addOldNew(at+"/type", fmt.Sprintf("type %s is no longer accepted", t), am["type"], bm["type"])
				}
			}
		}
	}

	// Values.
	if be, ok := bm["enum"].([]any); ok {
		ae, aok := am["enum"].([]any)
		if ac, cok := am["const"]; cok && !aok {
			ae, aok = []any{ac}, true
		}
		if !aok {
			addOldNew(at+"/enum", "any value was accepted, now only an enum", nil, be)
		} else {
			for _, v := range ae {
				if !inList(v, be) {
					addOldNew(at+"/enum", fmt.Sprintf("%s is no longer accepted", brief(v)), ae, be)
				}
			}
		}
	}
	if bc, ok := bm["const"]; ok {
		ac, aok := am["const"]
		if !aok || !deepEqual(ac, bc) {
			addOldNew(at+"/const", "the constant changed or was added", orAbsent(ac, aok), bc)
		}
	}

	// Bounds: b's bound must be at most as tight as a's.
	lower := func(kw string) {
		bv, ok := bm[kw].(json.Number)
		if !ok {
			return
		}
		av, aok := am[kw].(json.Number)
		if !aok || numberValue(av) < numberValue(bv) {
			addOldNew(at+"/"+kw, kw+" was raised or added", orAbsent(am[kw], aok), bv)
		}
	}
	upper := func(kw string) {
		bv, ok := bm[kw].(json.Number)
		if !ok {
			return
		}
		av, aok := am[kw].(json.Number)
		if !aok || numberValue(av) > numberValue(bv) {
			addOldNew(at+"/"+kw, kw+" was lowered or added", orAbsent(am[kw], aok), bv)
		}
	}
	for _, kw := range []string{"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"} {
		lower(kw)
	}
	for _, kw := range []string{"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"} {
		upper(kw)
	}
	for _, kw := range []string{"pattern", "format", "multipleOf"} {
		bv, ok := bm[kw]
		if !ok {
			continue
		}
		av, aok := am[kw]
		if !aok || !deepEqual(av, bv) {
			addOldNew(at+"/"+kw, kw+" changed or was added", orAbsent(av, aok), bv)
		}
	}
	if bm["uniqueItems"] == true && am["uniqueItems"] != true {
		addOldNew(at+"/uniqueItems", "items must now be unique", orAbsent(am["uniqueItems"], true), true)
	}

	// Objects.
	if breq, ok := bm["required"].([]any); ok {
		areq, _ := am["required"].([]any)
		for _, r := range breq {
			if !inList(r, areq) {
				add(at+"/required", "%s is now required", brief(r))
			}
		}
	}
	aProps, bProps := asMap(am["properties"]), asMap(bm["properties"])
	aAdd, aHasAdd := am["additionalProperties"]
	bAdd, bHasAdd := bm["additionalProperties"]
	if !aHasAdd {
		aAdd = true
	}
	if !bHasAdd {
		bAdd = true
	}
	for _, p := range sortedKeys(aProps) {
		pp := at + "/properties/" + pointerToken(p)
		if bs, ok := bProps[p]; ok {
			out = append(out, accepts(aProps[p], bs, pp, depth+1)...)
			continue
		}
		if bAdd == false {
			add(pp, "property %q was removed from a closed content model (additionalProperties: false)", p)
			continue
		}
		out = append(out, accepts(aProps[p], bAdd, at+"/additionalProperties", depth+1)...)
	}
	for _, p := range sortedKeys(bProps) {
		if _, ok := aProps[p]; ok {
			continue
		}
		if aAdd == false {
			continue // a never has p
		}
		pp := at + "/properties/" + pointerToken(p)
		if probs := accepts(aAdd, bProps[p], pp, depth+1); len(probs) > 0 {
			add(pp, "property %q was added to an open content model: values the old schema let it have may be refused", p)
		}
	}
	switch {
	case aAdd == false || isEmptySchemaValue(bAdd):
	case bAdd == false:
		add(at+"/additionalProperties", "additional properties are no longer accepted")
	default:
		out = append(out, accepts(aAdd, bAdd, at+"/additionalProperties", depth+1)...)
	}
	if bpn, ok := bm["propertyNames"]; ok {
		apn, aok := am["propertyNames"]
		if !aok {
			apn = true
		}
		out = append(out, accepts(apn, bpn, at+"/propertyNames", depth+1)...)
	}

	// Arrays.
	if bi, ok := bm["items"]; ok {
		ai, aok := am["items"]
		if !aok {
			ai = true
		}
		if isArray(ai) || isArray(bi) {
			if !deepEqual(ai, bi) {
				addOldNew(at+"/items", "tuple items differ", orAbsent(ai, aok), bi)
			}
		} else {
			out = append(out, accepts(ai, bi, at+"/items", depth+1)...)
		}
	}
	return out
}

func isEmptySchemaValue(v any) bool {
	if v == true {
		return true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for k := range m {
		switch k {
		case "description", "title", "$id", "$schema", "examples", "default", "$comment":
		default:
			return false
		}
	}
	return true
}

func typeSet(m map[string]any) map[string]bool {
	switch t := m["type"].(type) {
	case string:
		return map[string]bool{t: true}
	case []any:
		out := map[string]bool{}
		for _, x := range t {
			if s, ok := x.(string); ok {
				out[s] = true
			}
		}
		return out
	}
	return nil
}

func inList(v any, list []any) bool {
	for _, x := range list {
		if deepEqual(v, x) {
			return true
		}
	}
	return false
}
