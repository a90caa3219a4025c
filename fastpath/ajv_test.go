package fastpath

import (
	"cmp"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// The compiled program reports a schema's own errors in the order of ajvRules, the order
// schemacache's reference validator sorts by: each case fails every keyword of one family.
func TestReportFollowsAjvOrder(t *testing.T) {
	f := func(schema, event string, want ...string) {
		t.Helper()
		p := compileForTest(t, schema, CompileOptions{})
		var errs Errors
		p.Validate(fastjson.MustParse(event), &errs)
		var got []string
		for _, e := range errs.List {
			if strings.Count(e.SchemaPath, "/") == 1 { // the schema's own keywords, not a subschema's
				got = append(got, e.Keyword)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s on %s: reported %q, want %q", schema, event, got, want)
		}
		if !slices.IsSortedFunc(got, func(a, b string) int { return cmp.Compare(AjvOrder(a), AjvOrder(b)) }) {
			t.Fatalf("%s on %s: %q is not in Ajv 6's order", schema, event, got)
		}
	}
	f(`{"type":"integer","maximum":1,"exclusiveMaximum":1,"minimum":3,"exclusiveMinimum":3,"multipleOf":2,
		"const":0,"enum":[0],"not":{},"anyOf":[false],"oneOf":[false],"allOf":[false],"if":true,"then":{"maximum":0}}`, `2.5`,
		"type", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "multipleOf",
		"const", "enum", "not", "anyOf", "oneOf", "if")
	f(`{"type":"number","maxLength":1,"minLength":5,"pattern":"^a","format":"date"}`, `"xyz"`,
		"type", "maxLength", "minLength", "pattern", "format")
	f(`{"maxItems":1,"minItems":5,"items":[{}],"additionalItems":false,"contains":false,"uniqueItems":true}`, `[1,1,1]`,
		"maxItems", "minItems", "additionalItems", "contains", "uniqueItems")
	f(`{"maxProperties":1,"minProperties":5,"required":["z"],"dependencies":{"a":["q"]},"propertyNames":{"maxLength":1},
		"additionalProperties":false,"properties":{"a":false}}`, `{"a":1,"bb":1}`,
		"maxProperties", "minProperties", "required", "dependencies", "propertyNames", "additionalProperties")
}
