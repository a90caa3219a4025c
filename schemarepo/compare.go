package schemarepo

// compareSchemas is json-schema-compare 0.2 (used by json-schema-merge-allof to tell which
// values are the same schema): equality that treats absent and empty or default values alike
// and some arrays as sets.
func compareSchemas(a, b any) bool {
	emptySchema := func(v any) bool {
		if isUndef(v) || v == true {
			return true
		}
		m, ok := v.(map[string]any)
		return ok && len(m) == 0
	}
	if emptySchema(a) && emptySchema(b) {
		return true
	}
	isSchema := func(v any) bool { return isUndef(v) || isSchemaValue(v) }
	if !isSchema(a) || !isSchema(b) {
		// The library throws here; the merge then fails. Plain equality keeps going.
		return deepEqual(a, b)
	}
	ab, aIsBool := a.(bool)
	bb, bIsBool := b.(bool)
	if aIsBool && bIsBool {
		return ab == bb
	}
	if isUndef(a) != isUndef(b) {
		return false
	}
	am, _ := a.(map[string]any)
	bm, _ := b.(map[string]any)
	if am == nil || bm == nil {
		return false
	}
	keys := allUniqueKeys([]any{am, bm})
	for _, key := range keys {
		av, bv := get(am, key), get(bm, key)
		switch key {
		case "additionalProperties", "additionalItems", "contains", "propertyNames", "not":
			if !compareSchemas(av, bv) {
				return false
			}
			continue
		}
		if undefEqual(av, bv) {
			continue
		}
		switch key {
		case "properties", "patternProperties", "dependencies", "uniqueItems", "minLength", "minItems", "minProperties", "required":
		default:
			if isUndef(av) != isUndef(bv) {
				return false
			}
		}
		var ok bool
		switch key {
		case "title":
			ok = undefEqual(av, bv)
		case "uniqueItems":
			ok = (isUndef(av) && bv == false) || (isUndef(bv) && av == false) || undefEqual(av, bv)
		case "minLength", "minItems", "minProperties":
			ok = (isUndef(av) && isZero(bv)) || (isUndef(bv) && isZero(av)) || undefEqual(av, bv)
		case "required", "enum":
			if undefOrEmptyArray(av) && undefOrEmptyArray(bv) {
				ok = true
			} else {
				ok = deepEqual(stringArray([]any{asArrayOrEmpty(av)}), stringArray([]any{asArrayOrEmpty(bv)}))
			}
		case "type":
			ok = deepEqual(stringArray([]any{normalizeArray(av)}), stringArray([]any{normalizeArray(bv)}))
		case "items":
			if isPlainObject(av) && isPlainObject(bv) {
				ok = compareSchemas(av, bv)
			} else if _, aa := av.([]any); aa {
				_, ba := bv.([]any)
				ok = ba // the library compares two tuples as equal (it sorts the wrong values)
			} else {
				ok = undefEqual(av, bv)
			}
		case "anyOf", "allOf", "oneOf":
			ok = unsortedArrayEqual(av, bv)
		case "properties", "patternProperties", "dependencies":
			ok = schemaGroupEqual(av, bv)
		default:
			ok = undefEqual(av, bv)
		}
		if !ok {
			return false
		}
	}
	return true
}

func undefEqual(a, b any) bool {
	if isUndef(a) || isUndef(b) {
		return isUndef(a) && isUndef(b)
	}
	return deepEqual(a, b)
}

func isZero(v any) bool {
	n, ok := v.(interface{ String() string })
	return ok && n.String() == "0"
}

func undefOrEmptyArray(v any) bool {
	if isUndef(v) {
		return true
	}
	arr, ok := v.([]any)
	return ok && len(arr) == 0
}

func asArrayOrEmpty(v any) any {
	if arr, ok := v.([]any); ok {
		return arr
	}
	return []any{}
}

func normalizeArray(v any) []any {
	if arr, ok := v.([]any); ok {
		return arr
	}
	return []any{v}
}

func unsortedArrayEqual(a, b any) bool {
	aa, _ := a.([]any)
	ba, _ := b.([]any)
	ua, ub := uniqWith(aa, compareSchemas), uniqWith(ba, compareSchemas)
	n := 0
	for _, x := range ua {
		for _, y := range ub {
			if compareSchemas(x, y) {
				n++
				break
			}
		}
	}
	return n == max(len(ua), len(ub))
}

func schemaGroupEqual(a, b any) bool {
	emptyObjUndef := func(v any) bool {
		if isUndef(v) {
			return true
		}
		m, ok := v.(map[string]any)
		return ok && len(m) == 0
	}
	am, _ := a.(map[string]any)
	bm, _ := b.(map[string]any)
	switch {
	case emptyObjUndef(a) && emptyObjUndef(b):
		return true
	case emptyObjUndef(a) && len(bm) > 0, emptyObjUndef(b) && len(am) > 0:
		return false
	}
	for _, k := range allUniqueKeys([]any{am, bm}) {
		av, aok := am[k]
		bv, bok := bm[k]
		_, aArr := av.([]any)
		_, bArr := bv.([]any)
		switch {
		case aArr && bArr:
			continue // the library compares the groups' (empty) sorted copies here
		case aArr != bArr:
			return false
		}
		if !aok || !bok || !compareSchemas(av, bv) {
			return false
		}
	}
	return true
}
