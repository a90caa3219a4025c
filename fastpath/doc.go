// Package fastpath is the per-event work of intake: the producer contract checks (stream, service,
// schema, title), enrichment, default filling, validation through a compiled Validator, Kafka key
// extraction and serialization into reusable buffers. It is pure: no goroutines, flags or I/O, and
// no allocation on the valid path once its pooled buffers are warm.
//
// Borrowed memory: a *fastjson.Value dies at its parser's next Parse, so a Result's byte slices and
// the Errors of an event are valid only until the caller parses the next body or reuses the Result.
//
// The compiled validator (Compile, Program) turns a JSON schema into checks over fastjson values:
// a verdict-only walk for the common valid event, and a second walk in Ajv 6's order that words
// every error only for an invalid one. Its keywords come in families, as Ajv 6 groups its rules
// (validate_keywords.go); how Ajv 6 words each error and in which order it reports them is one
// table of words (ajv.go: AjvOrder, AjvError and its builders), which schemacache's reference
// validator words its errors from too.
//
// It imports no other package of the project.
package fastpath
