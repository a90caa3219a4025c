// Package fastpath is the per-event work of intake: the producer contract checks (stream, service,
// schema, title), enrichment, default filling, validation through a compiled Validator, Kafka key
// extraction and serialization into reusable buffers. It is pure: no goroutines, flags or I/O, and
// no allocation on the valid path once its pooled buffers are warm.
//
// Borrowed memory: a *fastjson.Value dies at its parser's next Parse, so a Result's byte slices and
// the Errors of an event are valid only until the caller parses the next body or reuses the Result.
//
// It imports no other package of the project.
package fastpath
