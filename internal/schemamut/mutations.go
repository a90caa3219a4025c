package schemamut

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// BaseTitles are the titles of the primary repository that the mutation corpus is made from
// (Subset; fragment/http's directory brings fragment/http/client_ip along): few enough for the
// reference to run in about two seconds a copy, and between them an
// enum, a pattern, numbers, examples, versions within one major, $refs (error and tile_change use
// fragment/common) and a skip-list entry (/fragment/http/1.2.0). Unchanged, every case passes.
var BaseTitles = []string{"fragment/common", "fragment/http", "error", "maps/tile_change"}

// Mutation changes one thing in a copy of the BaseTitles subset.
type Mutation struct {
	// Name is short and stable: the golden file of the reference's verdicts is keyed by it.
	Name string
	// What says what changed, as an author would.
	What  string
	Apply func(r Repo) error
}

// Mutations is the corpus. Where a change is released as a new version, current.yaml gets the
// same change, so that only the check the mutation is about fails (unless the change itself breaks
// more than one rule: the verdicts say).
func Mutations() []Mutation {
	// errRelease releases error 2.2.0 from 2.1.0 with the same edit of a property in both files:
	// the materialized version holds it at properties.<name>, current.yaml at
	// allOf[1].properties.<name>.
	errRelease := func(edit func(props map[string]any, d Doc)) func(r Repo) error {
		return func(r Repo) error {
			return r.Release("error", "2.1.0", "2.2.0",
				func(d Doc) { edit(Obj(d, "properties"), d) },
				func(c Doc) { edit(Obj(c, "allOf", 1, "properties"), c) })
		}
	}
	// tileRelease releases maps/tile_change 1.1.0 from 1.0.0: its own properties sit at the same
	// path in both files.
	tileRelease := func(edit func(d Doc)) func(r Repo) error {
		return func(r Repo) error { return r.Release("maps/tile_change", "1.0.0", "1.1.0", edit, edit) }
	}
	// tileInPlace changes maps/tile_change 1.0.0 and its current.yaml alike, without a new version.
	tileInPlace := func(edit func(d Doc)) func(r Repo) error {
		return func(r Repo) error {
			if err := r.Edit("maps/tile_change", "1.0.0.yaml", edit); err != nil {
				return err
			}
			return r.Edit("maps/tile_change", "current.yaml", edit)
		}
	}
	// fragRelease releases a fragment whose current.yaml has no examples: materializing one
	// generates an example (json-schema-faker, seeded), which a changed schema would change too.
	// The new version's example is edited to stay valid, and current.yaml is given the same
	// examples, as an author who pinned them would, so that only the change itself is judged.
	fragRelease := func(title, from, to string, edit func(d Doc), example func(ex map[string]any)) func(r Repo) error {
		return func(r Repo) error {
			if err := r.Release(title, from, to, func(d Doc) {
				edit(d)
				example(Obj(d, "examples", 0))
			}, edit); err != nil {
				return err
			}
			return pinExamples(r, title, to+".yaml")
		}
	}
	setRequired := func(d Doc, f func([]any) []any) { d["required"] = f(d["required"].([]any)) }
	without := func(l []any, s string) []any {
		out := []any{}
		for _, v := range l {
			if v != s {
				out = append(out, v)
			}
		}
		return out
	}
	configEdit := func(f func(string) string) func(r Repo) error {
		return func(r Repo) error {
			p := r.Dir + "/.jsonschema-tools.yaml"
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, []byte(f(string(b))), 0o644)
		}
	}

	return []Mutation{
		{"unchanged", "the subset as it is", func(Repo) error { return nil }},

		// Compatibility within a major version.
		{"added-property", "error 2.2.0 adds an optional string property (compatible)",
			errRelease(func(p map[string]any, _ Doc) { p["error_code"] = map[string]any{"type": "string"} })},
		{"removed-property", "error 2.2.0 drops the property stack",
			errRelease(func(p map[string]any, _ Doc) { delete(p, "stack") })},
		{"changed-type", "error 2.2.0 makes stack a boolean",
			errRelease(func(p map[string]any, _ Doc) { Obj(p, "stack")["type"] = "boolean" })},
		{"changed-description", "error 2.2.0 rewords stack's description (allowed to change)",
			errRelease(func(p map[string]any, _ Doc) { Obj(p, "stack")["description"] = "the stack trace" })},
		{"added-required", "error 2.2.0 requires raw_event too",
			errRelease(func(_ map[string]any, d Doc) {
				setRequired(d, func(l []any) []any { return append(l, "raw_event") })
			})},
		{"removed-required", "error 2.2.0 no longer requires emitter_id",
			errRelease(func(_ map[string]any, d Doc) {
				setRequired(d, func(l []any) []any { return without(l, "emitter_id") })
			})},
		{"narrowed-enum", "maps/tile_change 1.1.0: state's enum loses pregenerated",
			tileRelease(func(d Doc) { Obj(d, "properties", "state")["enum"] = []any{"expired"} })},
		{"widened-enum", "maps/tile_change 1.1.0: state's enum gains rendered (compatible)",
			tileRelease(func(d Doc) {
				Obj(d, "properties", "state")["enum"] = []any{"expired", "pregenerated", "rendered"}
			})},
		{"removed-enum", "maps/tile_change 1.1.0: state has no enum any more",
			tileRelease(func(d Doc) { delete(Obj(d, "properties", "state"), "enum") })},
		{"changed-pattern", "maps/tile_change 1.1.0: tile's pattern allows three-digit zoom levels",
			tileRelease(func(d Doc) { Obj(d, "properties", "tile")["pattern"] = `^\d{1,3}\/\d{1,7}\/\d{1,7}$` })},
		{"changed-maxlength", "maps/tile_change 1.1.0: tile's maxLength 18 -> 20 (maxLength may change)",
			tileRelease(func(d Doc) { Obj(d, "properties", "tile")["maxLength"] = 20 })},
		{"added-minlength", "maps/tile_change 1.1.0: tile gains minLength 5 (a keyword the old version lacks)",
			tileRelease(func(d Doc) { Obj(d, "properties", "tile")["minLength"] = 5 })},
		{"changed-format", "fragment/common 2.1.0: dt's format date-time -> date",
			fragRelease("fragment/common", "2.0.0", "2.1.0",
				func(d Doc) { Obj(d, "properties", "dt")["format"] = "date" },
				func(ex map[string]any) { ex["dt"] = "2021-01-01" })},
		{"narrowed-bounds", "fragment/http 1.3.0: http.status_code between 100 and 599",
			fragRelease("fragment/http", "1.2.0", "1.3.0",
				func(d Doc) {
					sc := Obj(d, "properties", "http", "properties", "status_code")
					sc["minimum"], sc["maximum"] = 100, 599
				},
				func(ex map[string]any) { Obj(ex, "http")["status_code"] = 200 })},
		{"skipped-incompatible", "fragment/http 1.2.0 (compatibility skipped by the config) drops http.protocol in place",
			func(r Repo) error {
				edit := func(d Doc) { delete(Obj(d, "properties", "http", "properties"), "protocol") }
				if err := r.Edit("fragment/http", "1.2.0.yaml", func(d Doc) {
					edit(d)
					delete(Obj(d, "examples", 0, "http"), "protocol")
				}); err != nil {
					return err
				}
				if err := r.Edit("fragment/http", "current.yaml", edit); err != nil {
					return err
				}
				return pinExamples(r, "fragment/http", "1.2.0.yaml")
			}},

		// Robustness.
		{"camelcase-property", "error 2.2.0 adds errorCode",
			errRelease(func(p map[string]any, _ Doc) { p["errorCode"] = map[string]any{"type": "string"} })},
		{"camelcase-skipped", "error 2.2.0 adds errorCode, and the config skips schema-snake-case-properties for /error/2.2.0",
			func(r Repo) error {
				if err := errRelease(func(p map[string]any, _ Doc) {
					p["errorCode"] = map[string]any{"type": "string"}
				})(r); err != nil {
					return err
				}
				return configEdit(func(s string) string {
					return strings.Replace(s, "skipSchemaTestCases:\n",
						"skipSchemaTestCases:\n  '/error/2.2.0':\n    - schema-snake-case-properties\n", 1)
				})(r)
			}},
		{"union-type", "error 2.2.0 adds note of type [string, null]",
			errRelease(func(p map[string]any, _ Doc) { p["note"] = map[string]any{"type": []any{"string", "null"}} })},
		{"null-enum", "maps/tile_change 1.1.0: state's enum gains null",
			tileRelease(func(d Doc) {
				Obj(d, "properties", "state")["enum"] = []any{"expired", "pregenerated", nil}
			})},
		{"array-without-item-type", "error 2.2.0 adds tags, an array with no items",
			errRelease(func(p map[string]any, _ Doc) { p["tags"] = map[string]any{"type": "array"} })},
		{"object-without-properties", "error 2.2.0 adds context, an object with neither properties nor additionalProperties",
			errRelease(func(p map[string]any, _ Doc) { p["context"] = map[string]any{"type": "object"} })},
		{"unbounded-number", "error 2.2.0 adds retries, an integer without bounds, in both files (materializing current.yaml would add them)",
			errRelease(func(p map[string]any, _ Doc) { p["retries"] = map[string]any{"type": "integer"} })},
		{"number-beyond-bounds", "error 2.2.0 adds weight, a number with minimum -1e300",
			errRelease(func(p map[string]any, _ Doc) {
				p["weight"] = map[string]any{"type": "number", "minimum": -1e300, "maximum": 1}
			})},
		{"required-missing-property", "error 2.2.0 requires cause, which is no property (so its example is invalid too)",
			errRelease(func(_ map[string]any, d Doc) {
				// Materializing merges allOf's required lists in order: cause sorts after $schema.
				setRequired(d, func(l []any) []any { return append(l[:1:1], append([]any{"cause"}, l[1:]...)...) })
			})},
		{"invalid-schema", "error 2.2.0 adds code of type \"strin\"",
			errRelease(func(p map[string]any, _ Doc) { p["code"] = map[string]any{"type": "strin"} })},
		{"insecure-pattern", "maps/tile_change 1.0.0 in place: tile keeps its pattern and loses maxLength",
			tileInPlace(func(d Doc) { delete(Obj(d, "properties", "tile"), "maxLength") })},
		{"bad-example", "maps/tile_change 1.0.0 in place: the example's state is unknown",
			tileInPlace(func(d Doc) { Obj(d, "examples", 0)["state"] = "unknown" })},
		{"example-wrong-schema", "error 2.1.0 in place: the example's $schema is /error/2.0.0 (current.yaml keeps {$ref: '#/$id'})",
			func(r Repo) error {
				return r.Edit("error", "2.1.0.yaml", func(d Doc) { Obj(d, "examples", 0)["$schema"] = "/error/2.0.0" })
			}},

		// Structure.
		{"renamed-title", "error 2.1.0 in place: title errors",
			func(r Repo) error { return r.Edit("error", "2.1.0.yaml", func(d Doc) { d["title"] = "errors" }) }},
		{"id-not-directory", "maps/tile_change in place: $id /maps/tiles/1.0.0 in 1.0.0.yaml and current.yaml",
			tileInPlace(func(d Doc) {
				d["$id"] = "/maps/tiles/1.0.0"
				if ex, ok := At(d, "examples", 0).(map[string]any); ok {
					if s, ok := ex["$schema"].(string); ok && s != "" {
						ex["$schema"] = "/maps/tiles/1.0.0"
					}
				}
			})},
		{"latest-wrong", "error: latest points at 2.0.0.yaml",
			func(r Repo) error { return r.Link("error", "latest", "2.0.0.yaml") }},
		{"latest-yaml-wrong", "error: latest.yaml points at 2.0.0.yaml",
			func(r Repo) error { return r.Link("error", "latest.yaml", "2.0.0.yaml") }},
		{"latest-not-symlink", "error: latest is a copy of 2.1.0.yaml, not a link",
			func(r Repo) error {
				b, err := os.ReadFile(r.File("error", "2.1.0.yaml"))
				if err != nil {
					return err
				}
				_ = os.Remove(r.File("error", "latest"))
				return os.WriteFile(r.File("error", "latest"), b, 0o644)
			}},
		{"version-link-missing", "error: the extensionless 2.0.0 link is gone",
			func(r Repo) error { return os.Remove(r.File("error", "2.0.0")) }},
		{"current-differs", "error: current.yaml adds a property that 2.1.0.yaml lacks",
			func(r Repo) error {
				return r.Edit("error", "current.yaml", func(c Doc) {
					Obj(c, "allOf", 1, "properties")["extra"] = map[string]any{"type": "string"}
				})
			}},
		{"current-ahead", "error: current.yaml says 2.2.0, never materialized",
			func(r Repo) error { return r.Edit("error", "current.yaml", func(c Doc) { c["$id"] = "/error/2.2.0" }) }},
		{"current-missing", "maps/tile_change: current.yaml is gone",
			func(r Repo) error { return os.Remove(r.File("maps/tile_change", "current.yaml")) }},
		{"current-extensionless", "maps/tile_change: a current link beside current.yaml",
			func(r Repo) error { return r.Link("maps/tile_change", "current", "current.yaml") }},
		{"json-content-type", "the config asks for yaml and json; no json files exist",
			configEdit(func(s string) string {
				return strings.Replace(s, "contentTypes: [yaml]", "contentTypes: [yaml, json]", 1)
			})},
		{"json-content-type-complete", "the config asks for yaml and json; every version has its .json twin",
			func(r Repo) error {
				if err := jsonTwins(r, nil); err != nil {
					return err
				}
				return configEdit(func(s string) string {
					return strings.Replace(s, "contentTypes: [yaml]", "contentTypes: [yaml, json]", 1)
				})(r)
			}},
		{"json-content-type-differs", "as json-content-type-complete, but error 2.1.0.json's description differs from 2.1.0.yaml's",
			func(r Repo) error {
				if err := jsonTwins(r, func(title, file string, d Doc) {
					if title == "error" && file == "2.1.0.json" {
						d["description"] = "An error event"
					}
				}); err != nil {
					return err
				}
				return configEdit(func(s string) string {
					return strings.Replace(s, "contentTypes: [yaml]", "contentTypes: [yaml, json]", 1)
				})(r)
			}},

		// Versions and skip lists.
		{"major-version-drop", "error 3.0.0 drops stack: a new major version need not be compatible",
			func(r Repo) error {
				return r.Release("error", "2.1.0", "3.0.0",
					func(d Doc) { delete(Obj(d, "properties"), "stack") },
					func(c Doc) { delete(Obj(c, "allOf", 1, "properties"), "stack") })
			}},
		{"patch-version-narrowed-enum", "maps/tile_change 1.0.1: state's enum loses pregenerated (a patch is within the major too)",
			func(r Repo) error {
				edit := func(d Doc) { Obj(d, "properties", "state")["enum"] = []any{"expired"} }
				return r.Release("maps/tile_change", "1.0.0", "1.0.1", edit, edit)
			}},
		{"removed-property-skipped", "removed-property, and the config skips schema-version-compatibility for $ids matching 'rror/2.2' (an unanchored regex)",
			func(r Repo) error {
				if err := errRelease(func(p map[string]any, _ Doc) { delete(p, "stack") })(r); err != nil {
					return err
				}
				return configEdit(func(s string) string {
					return strings.Replace(s, "skipSchemaTestCases:\n",
						"skipSchemaTestCases:\n  'rror/2.2':\n    - schema-version-compatibility\n", 1)
				})(r)
			}},
		{"bounds-materialized", "error 2.2.0 adds retries, an integer: current.yaml without bounds, 2.2.0.yaml with the enforced ones, as materializing writes them",
			func(r Repo) error {
				return r.Release("error", "2.1.0", "2.2.0",
					func(d Doc) {
						Obj(d, "properties")["retries"] = map[string]any{
							"type": "integer", "minimum": -9007199254740991, "maximum": 9007199254740991}
					},
					func(c Doc) { Obj(c, "allOf", 1, "properties")["retries"] = map[string]any{"type": "integer"} })
			}},
		{"examples-removed", "maps/tile_change 1.0.0 in place: no examples in either file (materializing would generate one)",
			tileInPlace(func(d Doc) { delete(d, "examples") })},
	}
}

// pinExamples sets current.yaml's examples to those of the title's file name.
func pinExamples(r Repo, title, name string) error {
	d, err := ReadDoc(r.File(title, name))
	if err != nil {
		return err
	}
	return r.Edit(title, "current.yaml", func(c Doc) { c["examples"] = d["examples"] })
}

// jsonTwins writes <v>.json beside every <v>.yaml of the copy (every title, fragment/http/client_ip
// included), the same document unless change (if not nil) alters it.
func jsonTwins(r Repo, change func(title, file string, d Doc)) error {
	root := filepath.Join(r.Dir, "jsonschema")
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		v, ok := strings.CutSuffix(d.Name(), ".yaml")
		if !ok || !aliasName.MatchString(v) {
			return nil
		}
		doc, err := ReadDoc(p)
		if err != nil {
			return err
		}
		if change != nil {
			title, _ := filepath.Rel(root, filepath.Dir(p))
			change(filepath.ToSlash(title), v+".json", doc)
		}
		return WriteDoc(filepath.Join(filepath.Dir(p), v+".json"), doc)
	})
}
