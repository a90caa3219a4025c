package schemarepo

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// The allOf merge jsonschema-tools runs after dereferencing: json-schema-merge-allof 0.6 with
// ignoreAdditionalProperties and the first "examples" kept. Its results are what the repositories
// commit, so its rules are followed here, quirks included (a nested "properties: {}" disappears,
// merged "required" lists come out sorted, a single "not" becomes {"not": {"anyOf": [...]}}).

// undefined marks a member that is absent (JSON null is nil).
type undefinedType struct{}

var undefined any = undefinedType{}

func isUndef(v any) bool { _, ok := v.(undefinedType); return ok }

func get(s any, key string) any {
	m, ok := s.(map[string]any)
	if !ok {
		return undefined
	}
	v, ok := m[key]
	if !ok {
		return undefined
	}
	return v
}

func isPlainObject(v any) bool { _, ok := v.(map[string]any); return ok }
func isBoolSchema(v any) bool  { _, ok := v.(bool); return ok }
func isSchemaValue(v any) bool { return isPlainObject(v) || isBoolSchema(v) }

type mergeError struct{ msg string }

func (e *mergeError) Error() string { return e.msg }

func mergeAllOf(root any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			me, ok := r.(*mergeError)
			if !ok {
				panic(r)
			}
			out, err = nil, me
		}
	}()
	m, ok := root.(map[string]any)
	if !ok {
		return root, nil
	}
	return merger(m), nil
}

func incompatible(values []any, paths []string) {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = brief(v)
	}
	panic(&mergeError{fmt.Sprintf("cannot resolve the values at %q, probably incompatible: %s", strings.Join(paths, "."), strings.Join(parts, ", "))})
}

func getAllOf(s map[string]any) []any {
	allOf, ok := s["allOf"].([]any)
	if !ok {
		return []any{s}
	}
	delete(s, "allOf")
	out := []any{s}
	for _, x := range allOf {
		if xm, ok := x.(map[string]any); ok {
			out = append(out, getAllOf(xm)...)
		} else {
			out = append(out, x)
		}
	}
	return out
}

func merger(root map[string]any) any {
	all := getAllOf(root)
	return mergeSchemas(all, root, nil)
}

var (
	propertyRelated  = []string{"properties", "patternProperties", "additionalProperties"}
	itemsRelated     = []string{"items", "additionalItems"}
	schemaGroupProps = []string{"properties", "patternProperties", "definitions", "dependencies"}
	schemaArrays     = []string{"anyOf", "oneOf"}
	schemaProps      = []string{"additionalProperties", "additionalItems", "contains", "propertyNames", "not", "items"}
)

func allUniqueKeys(list []any) []string {
	var keys []string
	seen := map[string]bool{}
	for _, s := range list {
		switch t := s.(type) {
		case map[string]any:
			for _, k := range sortedKeys(t) {
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		case []any:
			for i := range t {
				k := fmt.Sprint(i)
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		}
	}
	return keys
}

func uniqWith(list []any, eq func(a, b any) bool) []any {
	var out []any
	for _, x := range list {
		dup := false
		for _, y := range out {
			if eq(y, x) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out
}

func defined(list []any) []any {
	var out []any
	for _, x := range list {
		if !isUndef(x) {
			out = append(out, x)
		}
	}
	return out
}

func valuesOf(schemas []any, key string) []any {
	out := make([]any, len(schemas))
	for i, s := range schemas {
		out[i] = get(s, key)
	}
	return out
}

func mergeSchemas(schemas []any, base map[string]any, parents []string) any {
	schemas = defined(schemas)
	for i := range schemas {
		schemas[i] = deepCopy(schemas[i])
	}
	merged := base
	if merged == nil {
		merged = map[string]any{}
	}
	if len(schemas) == 0 {
		return undefined
	}
	allTrue := true
	for _, s := range schemas {
		if s == false {
			return false
		}
		if s != true {
			allTrue = false
		}
	}
	if allTrue {
		return true
	}
	var objs []any
	for _, s := range schemas {
		if isPlainObject(s) {
			objs = append(objs, s)
		}
	}
	schemas = objs
	allKeys := allUniqueKeys(schemas)
	if contains(allKeys, "allOf") {
		return merger(map[string]any{"allOf": schemas})
	}
	var propertyKeys, itemKeys, rest []string
	for _, k := range allKeys {
		switch {
		case contains(propertyRelated, k):
			propertyKeys = append(propertyKeys, k)
		case contains(itemsRelated, k):
			itemKeys = append(itemKeys, k)
		default:
			rest = append(rest, k)
		}
	}
	var unresolved []any
	for _, key := range rest {
		compacted := uniqWith(defined(valuesOf(schemas, key)), func(a, b any) bool {
			return compareSchemas(map[string]any{key: a}, map[string]any{key: b})
		})
		switch {
		case len(compacted) == 1 && contains(schemaArrays, key):
			arr, ok := compacted[0].([]any)
			if !ok {
				merged[key] = compacted[0]
				continue
			}
			out := make([]any, len(arr))
			for i, s := range arr {
				sm, _ := s.(map[string]any)
				out[i] = mergeSchemas([]any{s}, sm, nil)
			}
			merged[key] = out
		case len(compacted) == 1 && !contains(schemaGroupProps, key) && !contains(schemaProps, key):
			merged[key] = compacted[0]
		default:
			sub := append(append([]string{}, parents...), key)
			v, unres, ok := resolveKey(key, compacted, sub)
			if unres != nil {
				unresolved = append(unresolved, unres...)
				delete(merged, key)
				continue
			}
			if !ok {
				incompatible(compacted, sub)
			}
			if isUndef(v) {
				delete(merged, key)
				continue
			}
			merged[key] = v
		}
	}
	if len(unresolved) > 0 {
		prev, _ := merged["allOf"].([]any)
		merged["allOf"] = append(unresolved, prev...)
	}
	for k, v := range groupProperties(propertyKeys, schemas, parents) {
		merged[k] = v
	}
	for k, v := range groupItems(itemKeys, schemas, parents) {
		merged[k] = v
	}
	return merged
}

func numbers(list []any) ([]float64, bool) {
	out := make([]float64, len(list))
	for i, v := range list {
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		out[i] = numberValue(n)
	}
	return out, true
}

// resolveKey is the library's resolver for key; ok false means it could not resolve the values.
// unresolved is set for "pattern", whose values go to an allOf.
func resolveKey(key string, compacted []any, paths []string) (v any, unresolved []any, ok bool) {
	switch key {
	case "$id", "$ref", "$schema", "default", "description", "title", "examples":
		return compacted[0], nil, true
	case "additionalItems", "additionalProperties", "contains", "propertyNames":
		return mergeSchemas(compacted, nil, paths), nil, true
	case "not":
		return map[string]any{"anyOf": compacted}, nil, true
	case "type":
		return resolveType(compacted)
	case "required":
		return stringArray(compacted), nil, true
	case "enum":
		return resolveEnum(compacted)
	case "uniqueItems":
		for _, x := range compacted {
			if x == true {
				return true, nil, true
			}
		}
		return false, nil, true
	case "pattern":
		out := make([]any, len(compacted))
		for i, p := range compacted {
			out[i] = map[string]any{"pattern": p}
		}
		return nil, out, true
	case "multipleOf":
		ns, ok := numbers(compacted)
		if !ok {
			return nil, nil, false
		}
		return numberOf(lcmOf(ns)), nil, true
	case "maximum", "maxItems", "maxLength", "maxProperties", "exclusiveMaximum":
		ns, ok := numbers(compacted)
		if !ok {
			return nil, nil, false
		}
		m := ns[0]
		for _, n := range ns[1:] {
			m = math.Min(m, n)
		}
		return numberOf(m), nil, true
	case "minimum", "minItems", "minLength", "minProperties", "exclusiveMinimum":
		ns, ok := numbers(compacted)
		if !ok {
			return nil, nil, false
		}
		m := ns[0]
		for _, n := range ns[1:] {
			m = math.Max(m, n)
		}
		return numberOf(m), nil, true
	case "definitions", "dependencies":
		return resolveDefinitions(compacted, paths), nil, true
	case "anyOf", "oneOf":
		return resolveOneOf(compacted, paths)
	}
	panic(&mergeError{fmt.Sprintf("no way to merge the different values of %q at %q (json-schema-merge-allof has no resolver for it)", key, strings.Join(paths, "."))})
}

func resolveType(compacted []any) (any, []any, bool) {
	anyArr := false
	for _, x := range compacted {
		if _, ok := x.([]any); ok {
			anyArr = true
		}
	}
	if !anyArr {
		return nil, nil, false
	}
	var common []any
	for i, x := range compacted {
		list, ok := x.([]any)
		if !ok {
			list = []any{x}
		}
		common = intersect(common, list, i == 0)
	}
	switch len(common) {
	case 0:
		return nil, nil, false
	case 1:
		return common[0], nil, true
	default:
		return common, nil, true
	}
}

// intersect is the values of common also in list, in common's order; first: list's values,
// duplicates removed (the first list of an intersection).
func intersect(common, list []any, first bool) []any {
	if first {
		return uniqWith(list, deepEqual)
	}
	var next []any
	for _, c := range common {
		for _, y := range list {
			if deepEqual(c, y) {
				next = append(next, c)
				break
			}
		}
	}
	return next
}

func resolveEnum(compacted []any) (any, []any, bool) {
	var common []any
	for i, x := range compacted {
		list, _ := x.([]any)
		common = intersect(common, list, i == 0)
	}
	if len(common) == 0 {
		return nil, nil, false
	}
	return sortByValue(common), nil, true
}

// stringArray is sortBy(uniq(flattenDeep(values))).
func stringArray(values []any) []any {
	var flat []any
	var walk func(v any)
	walk = func(v any) {
		if arr, ok := v.([]any); ok {
			for _, x := range arr {
				walk(x)
			}
			return
		}
		if !isUndef(v) {
			flat = append(flat, v)
		}
	}
	for _, v := range values {
		walk(v)
	}
	return sortByValue(uniqWith(flat, func(a, b any) bool { return a == b || deepEqual(a, b) && !isPlainObject(a) }))
}

// sortByValue is lodash's sortBy with the identity: numbers and strings in ascending order, stable.
func sortByValue(list []any) []any {
	out := append([]any{}, list...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		as, aok := a.(string)
		bs, bok := b.(string)
		if aok && bok {
			return lessUTF16(as, bs)
		}
		an, aok := a.(json.Number)
		bn, bok := b.(json.Number)
		if aok && bok {
			return numberValue(an) < numberValue(bn)
		}
		return false
	})
	return out
}

// lessUTF16 compares as JavaScript compares strings, by UTF-16 code units.
func lessUTF16(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	unit := func(r rune) rune {
		if r >= 0x10000 {
			return 0xD800 + (r-0x10000)>>10
		}
		return r
	}
	for i := 0; i < len(ra) && i < len(rb); i++ {
		if ra[i] != rb[i] {
			return unit(ra[i]) < unit(rb[i])
		}
	}
	return len(ra) < len(rb)
}

func lcmOf(ns []float64) float64 {
	factor := 1.0
	ints := append([]float64{}, ns...)
	for {
		frac := false
		for _, n := range ints {
			if n != math.Trunc(n) {
				frac = true
			}
		}
		if !frac {
			break
		}
		for i := range ints {
			ints[i] *= 10
		}
		factor *= 10
	}
	gcd := func(a, b float64) float64 {
		for b != 0 {
			a, b = b, math.Mod(a, b)
		}
		return a
	}
	l := ints[0]
	for _, n := range ints[1:] {
		l = l * n / gcd(l, n)
	}
	return l / factor
}

func resolveDefinitions(compacted []any, paths []string) any {
	out := map[string]any{}
	for _, child := range allUniqueKeys(compacted) {
		inner := uniqWith(defined(valuesOf(compacted, child)), deepEqual)
		var arrays, schemas []any
		for _, x := range inner {
			if _, ok := x.([]any); ok {
				arrays = append(arrays, x)
			} else if isSchemaValue(x) {
				schemas = append(schemas, x)
			}
		}
		sub := append(append([]string{}, paths...), child)
		if len(arrays) > 0 {
			if len(arrays) == len(inner) {
				out[child] = stringArray(inner)
			} else {
				for _, a := range arrays {
					schemas = append(schemas, map[string]any{"required": a})
				}
				out[child] = mergeSchemas(schemas, nil, sub)
			}
			continue
		}
		inner = uniqWith(inner, compareSchemas)
		out[child] = mergeSchemas(inner, nil, sub)
	}
	return out
}

func resolveOneOf(compacted []any, paths []string) (any, []any, bool) {
	// Every combination of one member of each list, merged; those that cannot merge are dropped.
	var combos [][]any
	for i, x := range compacted {
		list, _ := x.([]any)
		if i == 0 {
			for _, item := range list {
				combos = append(combos, []any{deepCopy(item)})
			}
			continue
		}
		var next [][]any
		for _, c := range combos {
			for _, item := range list {
				next = append(next, append([]any{deepCopy(item)}, c...))
			}
		}
		combos = next
	}
	var results []any
	for i, c := range combos {
		r, err := tryMerge(c, append(append([]string{}, paths...), fmt.Sprint(i)))
		if err == nil && !isUndef(r) {
			results = append(results, r)
		}
	}
	results = uniqWith(results, compareSchemas)
	if len(results) == 0 {
		return nil, nil, false
	}
	return results, nil, true
}

func tryMerge(schemas []any, paths []string) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			me, ok := r.(*mergeError)
			if !ok {
				panic(r)
			}
			out, err = nil, errors.New(me.msg)
		}
	}()
	return mergeSchemas(schemas, nil, paths), nil
}

// pick returns s's members among keys (absent ones left out).
func pick(s any, keys []string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v := get(s, k); !isUndef(v) {
			out[k] = v
		}
	}
	return out
}

func isEmptySchema(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	case bool:
		return false
	default:
		return true
	}
}

func cleanup(m map[string]any) map[string]any {
	for k, v := range m {
		if isEmptySchema(v) {
			delete(m, k)
		}
	}
	return m
}

func mergeSchemaGroup(group []any, parents []string, key string) map[string]any {
	out := map[string]any{}
	for _, k := range allUniqueKeys(group) {
		compacted := uniqWith(defined(valuesOf(group, k)), compareSchemas)
		out[k] = mergeSchemas(compacted, nil, append(append([]string{}, parents...), key, k))
	}
	return out
}

func groupProperties(keys []string, schemas []any, parents []string) map[string]any {
	if len(keys) == 0 {
		return nil
	}
	var values []any
	for _, s := range schemas {
		values = append(values, pick(s, keys))
	}
	values = uniqWith(values, compareSchemas)
	out := map[string]any{
		"additionalProperties": mergeSchemas(valuesOf(values, "additionalProperties"), nil, append(append([]string{}, parents...), "additionalProperties")),
		"patternProperties":    mergeSchemaGroup(valuesOf(values, "patternProperties"), parents, "patternProperties"),
		"properties":           mergeSchemaGroup(valuesOf(values, "properties"), parents, "properties"),
	}
	if out["additionalProperties"] == false {
		props := out["properties"].(map[string]any)
		for k, v := range props {
			if v == false {
				delete(props, k)
			}
		}
	}
	return cleanup(out)
}

func groupItems(keys []string, schemas []any, parents []string) map[string]any {
	if len(keys) == 0 {
		return nil
	}
	var values []any
	for _, s := range schemas {
		values = append(values, pick(s, keys))
	}
	values = uniqWith(values, compareSchemas)
	items := valuesOf(values, "items")
	compactedItems := defined(items)
	out := map[string]any{}
	allSchemas, allArrays, someArrays := true, true, false
	for _, it := range compactedItems {
		if _, ok := it.([]any); ok {
			someArrays = true
			allSchemas = false
		} else {
			allArrays = false
			if !isSchemaValue(it) {
				allSchemas = false
			}
		}
	}
	if !allSchemas {
		panic(&mergeError{fmt.Sprintf("cannot merge tuple items at %q", strings.Join(append(parents, "items"), "."))})
	}
	out["items"] = mergeSchemas(items, nil, append(append([]string{}, parents...), "items"))
	if allArrays || someArrays {
		out["additionalItems"] = mergeSchemas(valuesOf(values, "additionalItems"), nil, append(append([]string{}, parents...), "additionalItems"))
	}
	return cleanup(out)
}
