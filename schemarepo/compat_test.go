package schemarepo

import (
	"strings"
	"testing"
)

func mustDoc(t *testing.T, yaml string) any {
	t.Helper()
	d, err := decodeDoc([]byte(yaml))
	if err != nil {
		t.Fatalf("%s: %v", yaml, err)
	}
	return d
}

const baseSchema = `
title: t
$id: /t/1.0.0
type: object
required: [a]
properties:
  a: {type: string, maxLength: 10, pattern: '^x', description: old}
  n: {type: integer, minimum: 0, maximum: 100}
  e: {type: string, enum: [x, y]}
`

// Each mode on constructed pairs: OLD is baseSchema, NEW is it with one change; the verdict of
// every mode, in the order jsonschema-tools, backward, forward, full (none always passes), and a
// word the first problem must contain.
func TestCheckCompatibleModes(t *testing.T) {
	f := func(name, from, to string, want [4]bool, word string) {
		t.Helper()
		newYAML := baseSchema
		if from != "" {
			if !strings.Contains(baseSchema, from) {
				t.Fatalf("%s: %q is not in the base schema", name, from)
			}
			newYAML = strings.Replace(baseSchema, from, to, 1)
		}
		oldDoc, newDoc := mustDoc(t, baseSchema), mustDoc(t, newYAML)
		for i, mode := range []Mode{ModeJSONSchemaTools, ModeBackward, ModeForward, ModeFull} {
			p, err := CheckCompatible(oldDoc, newDoc, mode)
			if err != nil {
				t.Fatal(err)
			}
			if (len(p) == 0) != want[i] {
				t.Errorf("%s, %s: compatible=%v, want %v; problems %v", name, mode, len(p) == 0, want[i], p)
			}
			if len(p) > 0 && word != "" && !strings.Contains(p[0].String(), word) {
				t.Errorf("%s, %s: first problem %q does not mention %q", name, mode, p[0], word)
			}
		}
		if p, _ := CheckCompatible(oldDoc, newDoc, ModeNone); len(p) != 0 {
			t.Errorf("%s: mode none found %v", name, p)
		}
	}
	//                                                                               tools  back   fwd    full
	f("unchanged", "", "", [4]bool{true, true, true, true}, "")
	f("description changed", "description: old", "description: new", [4]bool{true, true, true, true}, "")
	f("$id changed", "$id: /t/1.0.0", "$id: /t/1.1.0", [4]bool{true, true, true, true}, "")
	f("maxLength raised", "maxLength: 10", "maxLength: 20", [4]bool{true, true, false, false}, "maxLength")
	f("maxLength lowered", "maxLength: 10", "maxLength: 5", [4]bool{true, false, true, false}, "maxLength")
	f("property removed", "  n: {type: integer, minimum: 0, maximum: 100}\n", "", [4]bool{false, true, false, false}, "/properties/n")
	f("type changed", "n: {type: integer", "n: {type: string", [4]bool{false, false, false, false}, "/properties/n/type")
	f("type widened", "n: {type: integer", "n: {type: number", [4]bool{false, true, false, false}, "type")
	f("union type", "n: {type: integer", "n: {type: [integer, 'null']", [4]bool{false, true, false, false}, "type")
	f("enum narrowed", "enum: [x, y]", "enum: [x]", [4]bool{false, false, true, false}, "enum")
	f("enum grown", "enum: [x, y]", "enum: [x, y, z]", [4]bool{true, true, false, false}, "")
	f("required added", "required: [a]", "required: [a, n]", [4]bool{false, false, true, false}, "required")
	f("required removed", "required: [a]", "required: []", [4]bool{false, true, false, false}, "required")
	f("pattern changed", "pattern: '^x'", "pattern: '^y'", [4]bool{false, false, false, false}, "pattern")
	f("format added", "e: {type: string,", "e: {type: string, format: date-time,", [4]bool{true, false, true, false}, "format")
	f("minimum raised", "minimum: 0", "minimum: 1", [4]bool{false, false, true, false}, "minimum")
	f("maximum raised", "maximum: 100", "maximum: 1000", [4]bool{false, true, false, false}, "maximum")
	// An optional property added to an open content model: jsonschema-tools allows it; for
	// Confluent it is backward incompatible (an old event may hold that name with another type)
	// and forward compatible.
	f("property added", "properties:\n", "properties:\n  z: {type: string}\n", [4]bool{true, false, true, false}, "z")
	// Closing the content model.
	f("closed", "type: object\n", "type: object\nadditionalProperties: false\n", [4]bool{true, false, true, false}, "additional")
}

// jsonschema-tools' rule follows the keys, as the tool does: a property named "required" is read
// as the keyword, and null values cannot be compared.
func TestJSONSchemaToolsQuirks(t *testing.T) {
	oldDoc := mustDoc(t, "properties: {x: {type: string, default: null}}")
	if p := jsonschemaToolsCompatible(oldDoc, oldDoc, ""); len(p) == 0 {
		t.Error("a null value compared as compatible; jsonschema-tools fails on it")
	}
	oldDoc = mustDoc(t, "properties: {required: {type: string}}")
	if p := jsonschemaToolsCompatible(oldDoc, oldDoc, ""); len(p) == 0 {
		t.Error(`a property named "required" passed; jsonschema-tools reads it as the keyword and fails`)
	}
}
