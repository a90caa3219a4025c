// Package schemamut is the differential test's side of issue 15: the reference (Wikimedia's
// jsonschema-tools 1.3.0, run by scripts/schema/reference.sh) and a corpus of mutated schema
// repositories to run it and `intake schema test` on. Subset copies a few titles of a real
// repository with their alias entries as symlinks; each Mutation changes one thing in such a copy
// as a schema author would (a new version released with an incompatible change, a broken link, a
// bad example, ...); Reference runs jsonschema-tools on a directory and returns its verdict per
// test case; Differential runs every mutation through the reference and through a Checker (the
// other side, wired by whoever owns it) and reports where they disagree.
//
// It is for tests only and imports no other package of the project.
package schemamut
