package schemacache

import "intake.dev/intake/fastpath"

// ToJSON converts a schema document, YAML or JSON, to compact JSON as the edge reads it: js-yaml's
// reading (as EventGate and jsonschema-tools), key order kept. Schema tooling (schemarepo) reads
// repositories with it so that a repository's CI and the edge agree on what a file means.
func ToJSON(data []byte) ([]byte, error) { return toJSON(data) }

// CompileDocument compiles doc (compact JSON, as ToJSON returns), the schema named uri (a path
// under the bases such as "/test/event/1.0.0"), into the validator the edge validates its events
// with: the compiled program, or kaptinlin where the program cannot take the schema. The document
// is given, not loaded, so a file that is not (yet) where its URI points can be checked; its $refs
// resolve inside the Cache's bases.
func (c *Cache) CompileDocument(uri string, doc []byte) (fastpath.Validator, error) {
	ref, err := c.res.parse(uri)
	if err != nil {
		return nil, err
	}
	return c.validatorFor(ref, doc)
}
