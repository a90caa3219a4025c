package fastpath

// Lookup resolves the names an event carries. schemacache's snapshot implements it.
type Lookup interface {
	// Stream returns the configured stream for name, or nil when no stream (literal or /regex/) is
	// configured by that name. It must not allocate for a stream seen before and must not keep name.
	Stream(name []byte) *Stream
	// Schema returns the compiled schema for an event's $schema URI, loading it on first use. It must
	// not allocate for a URI seen before and must not keep uri. The error says why a URI cannot be
	// used (outside the configured bases, not found, does not compile).
	Schema(uri []byte) (*Schema, error)
}
