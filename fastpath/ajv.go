package fastpath

import (
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// Ajv 6's words and order: how EventGate's validator words each error (lib/dot/errors.def) and
// in which order it checks a schema's keywords (lib/compile/rules.js). EventGate clients read
// these errors, so both validators of a schema word them from here: the compiled Program, and
// schemacache's reference validator, which rewords kaptinlin's results.

// ajvRules lists the keywords in the order Ajv 6 checks them: type, then the rules for numbers,
// strings, arrays and objects, then the rules for values of any type. Keywords in one entry share
// their place. The compiled Program's report walk follows it (type, the value's family, then the
// generic family, each family's keywords in this order; TestReportFollowsAjvOrder holds it to
// that), and schemacache sorts kaptinlin's errors by it.
var ajvRules = [...][]string{
	{"type"},
	{"maximum", "exclusiveMaximum"},
	{"minimum", "exclusiveMinimum"},
	{"multipleOf"},
	{"maxLength"},
	{"minLength"},
	{"pattern"},
	{"format"},
	{"maxItems"},
	{"minItems"},
	{"items", "prefixItems", "additionalItems"},
	{"contains"},
	{"uniqueItems"},
	{"maxProperties"},
	{"minProperties"},
	{"required"},
	{"dependencies", "dependentRequired", "dependentSchemas"},
	{"propertyNames"},
	{"additionalProperties", "properties", "patternProperties"},
	{"$ref"},
	{"const"},
	{"enum"},
	{"not"},
	{"anyOf"},
	{"oneOf"},
	{"allOf"},
	{"if", "then", "else"},
}

var ajvOrder = func() map[string]int {
	m := map[string]int{}
	for i, kws := range ajvRules {
		for _, kw := range kws {
			m[kw] = i
		}
	}
	return m
}()

// AjvOrder returns the place of keyword in Ajv 6's order: errors of a lower place come first. A
// keyword Ajv 6 does not know comes after all the others.
func AjvOrder(keyword string) int {
	if i, ok := ajvOrder[keyword]; ok {
		return i
	}
	return len(ajvRules)
}

// AjvError is one error as Ajv 6 words it: the keyword it reports, its params (a JSON object)
// and its message. Where it happened (the instance and schema paths) is the caller's.
type AjvError struct {
	Keyword string
	Params  string
	Message string
}

// AjvFalseSchema words the schema false.
func AjvFalseSchema() AjvError {
	return AjvError{"false schema", "{}", "boolean schema is false"}
}

// AjvType words type; names are the schema's types, as written.
func AjvType(names []string) AjvError {
	t := strings.Join(names, ",")
	return AjvError{"type", `{"type":` + jsonText(t) + `}`, "should be " + t}
}

// AjvNumberLimit words maximum, minimum, exclusiveMaximum and exclusiveMinimum (Ajv's _limit);
// limit is the schema's number as JavaScript prints it (AppendJSNumber). A draft-04 boolean
// exclusiveMaximum is reported as maximum, exclusive.
func AjvNumberLimit(keyword, limit string, exclusive bool) AjvError {
	op := ">="
	if keyword == "maximum" || keyword == "exclusiveMaximum" {
		op = "<="
	}
	if exclusive {
		op = op[:1]
	}
	return AjvError{keyword, `{"comparison":"` + op + `","limit":` + limit + `,"exclusive":` + strconv.FormatBool(exclusive) + `}`, "should be " + op + " " + limit}
}

// AjvMultipleOf words multipleOf; m as JavaScript prints it.
func AjvMultipleOf(m string) AjvError {
	return AjvError{"multipleOf", `{"multipleOf":` + m + `}`, "should be multiple of " + m}
}

// AjvCountLimit words the keywords that bound a count (Ajv's _limitLength, _limitItems,
// _limitProperties): maxLength, minLength, maxItems, minItems, maxProperties, minProperties, and
// additionalItems (or 2020-12's items) false after a tuple of limit items.
func AjvCountLimit(keyword, limit string) AjvError {
	var msg string
	switch keyword {
	case "maxLength":
		msg = "should NOT be longer than " + limit + " characters"
	case "minLength":
		msg = "should NOT be shorter than " + limit + " characters"
	case "maxItems", "additionalItems", "items":
		msg = "should NOT have more than " + limit + " items"
	case "minItems":
		msg = "should NOT have fewer than " + limit + " items"
	case "maxProperties":
		msg = "should NOT have more than " + limit + " properties"
	case "minProperties":
		msg = "should NOT have fewer than " + limit + " properties"
	default:
		panic("BUG: " + keyword + " bounds no count")
	}
	return AjvError{keyword, `{"limit":` + limit + `}`, msg}
}

// AjvPattern words pattern.
func AjvPattern(pattern string) AjvError {
	return AjvError{"pattern", `{"pattern":` + jsonText(pattern) + `}`, `should match pattern "` + pattern + `"`}
}

// AjvFormat words format.
func AjvFormat(name string) AjvError {
	return AjvError{"format", `{"format":` + jsonText(name) + `}`, `should match format "` + name + `"`}
}

// AjvContains words contains.
func AjvContains() AjvError {
	return AjvError{"contains", "{}", "should contain a valid item"}
}

// AppendAjvUniqueItems words uniqueItems, items i and j being equal, into dst. The error's
// strings point into the returned slice: valid while its bytes are not modified.
func AppendAjvUniqueItems(dst []byte, i, j int) ([]byte, AjvError) {
	start := len(dst)
	dst = append(dst, `{"i":`...)
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, `,"j":`...)
	dst = strconv.AppendInt(dst, int64(j), 10)
	dst = append(dst, '}')
	mid := len(dst)
	dst = append(dst, "should NOT have duplicate items (items ## "...)
	dst = strconv.AppendInt(dst, int64(j), 10)
	dst = append(dst, " and "...)
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, " are identical)"...)
	return dst, AjvError{"uniqueItems", b2s(dst[start:mid]), b2s(dst[mid:])}
}

// AjvDuplicate finds the pair of equal items of a that Ajv 6's uniqueItems error names; items is
// the schema's "items" (nil when it has none), whose types decide how Ajv looks for the pair.
// Items are equal exactly (jsonEqual): for the pair Ajv names, pass the items as JavaScript reads
// them (AppendJSReading), where texts are equal exactly when their doubles are.
func AjvDuplicate(a []*fastjson.Value, items *fastjson.Value) (i, j int, ok bool) {
	return uniqueRuleOf(items).duplicate(a)
}

// AjvRequired words required, property name missing.
func AjvRequired(name string) AjvError {
	return AjvError{"required", `{"missingProperty":` + jsonText(name) + `}`, "should have required property '" + name + "'"}
}

// AjvDependency words dependencies (draft 2019's dependentRequired too): prop is present,
// missing, one of its deps, is not.
func AjvDependency(prop, missing string, deps []string) AjvError {
	list := strings.Join(deps, ", ")
	what := "properties " + list
	if len(deps) == 1 {
		what = "property " + list
	}
	return AjvError{"dependencies",
		`{"property":` + jsonText(prop) + `,"missingProperty":` + jsonText(missing) + `,"depsCount":` + strconv.Itoa(len(deps)) + `,"deps":` + jsonText(list) + `}`,
		"should have " + what + " when property " + prop + " is present"}
}

// AppendAjvPropertyName words propertyNames, the name failing, into dst (see
// AppendAjvUniqueItems for the strings' lifetime).
func AppendAjvPropertyName(dst []byte, name string) ([]byte, AjvError) {
	start := len(dst)
	dst = append(dst, `{"propertyName":`...)
	dst = AppendJSONString(dst, name)
	dst = append(dst, '}')
	mid := len(dst)
	dst = append(dst, "property name '"...)
	dst = append(dst, name...)
	dst = append(dst, "' is invalid"...)
	return dst, AjvError{"propertyNames", b2s(dst[start:mid]), b2s(dst[mid:])}
}

// AppendAjvAdditionalProperty words additionalProperties false, property name not allowed, into
// dst (see AppendAjvUniqueItems for the strings' lifetime).
func AppendAjvAdditionalProperty(dst []byte, name string) ([]byte, AjvError) {
	start := len(dst)
	dst = append(dst, `{"additionalProperty":`...)
	dst = AppendJSONString(dst, name)
	dst = append(dst, '}')
	return dst, AjvError{"additionalProperties", b2s(dst[start:]), "should NOT have additional properties"}
}

// AjvConst words const; allowed is the constant as JSON.
func AjvConst(allowed string) AjvError {
	return AjvError{"const", `{"allowedValue":` + allowed + `}`, "should be equal to constant"}
}

// AjvEnum words enum; allowed is the list as JSON.
func AjvEnum(allowed string) AjvError {
	return AjvError{"enum", `{"allowedValues":` + allowed + `}`, "should be equal to one of the allowed values"}
}

// AjvNot words not.
func AjvNot() AjvError {
	return AjvError{"not", "{}", "should NOT be valid"}
}

// AjvAnyOf words anyOf.
func AjvAnyOf() AjvError {
	return AjvError{"anyOf", "{}", "should match some schema in anyOf"}
}

// AppendAjvOneOf words oneOf into dst: passing lists the branches that passed, none when none
// did (see AppendAjvUniqueItems for the strings' lifetime).
func AppendAjvOneOf(dst []byte, passing ...int) ([]byte, AjvError) {
	start := len(dst)
	if len(passing) == 0 {
		dst = append(dst, `{"passingSchemas":null}`...)
	} else {
		dst = append(dst, `{"passingSchemas":[`...)
		for k, i := range passing {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, int64(i), 10)
		}
		dst = append(dst, "]}"...)
	}
	return dst, AjvError{"oneOf", b2s(dst[start:]), "should match exactly one schema in oneOf"}
}

// AjvIf words if: failing is the clause that failed, "then" or "else".
func AjvIf(failing string) AjvError {
	return AjvError{"if", `{"failingKeyword":` + jsonText(failing) + `}`, `should match "` + failing + `" schema`}
}
