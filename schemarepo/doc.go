// Package schemarepo is the schema-repository engine behind "intake schema": it loads a
// repository of versioned event schemas laid out as Wikimedia's (jsonschema/<title>/current.yaml,
// <version>.yaml and the latest/extensionless alias entries, as symlinks or as files holding their
// target's name), reads its .jsonschema-tools.yaml, dereferences and materializes current.yaml,
// and runs the repository checks of jsonschema-tools 1.3.0 (structure, robustness,
// compatibility) under the same test-case names, so a repository's skip lists keep working.
// Examples are validated by the edge's own validator (schemacache), so a repository's CI and the
// edge agree on what a schema accepts. It does no network I/O: URL bases are mapped to directories.
//
// Entry points: Test (a repository's checks, one Result per test as mocha counts them in the
// repository's CI), CheckCompatible (two versions, in a Mode), MaterializeFile and MaterializeAll
// (what "jsonschema-tools materialize" writes), and Open, MaterializeDoc and Serialize beneath them.
//
// It imports fastpath and schemacache from the project.
package schemarepo
