//go:build !race

package schemacache

import "testing"

// The lookups every event makes do not allocate once a name or URI has been seen.
func TestLookupsDoNotAllocate(t *testing.T) {
	c := newCache(t, Config{SchemaBaseURIs: []string{egSchemas, primaryRepo}, TopicPrefix: "eqiad."})
	snap := c.Current()
	literal := []byte("mediawiki.page_change.v1")
	regex := []byte("mediawiki.job.refreshLinks")
	unknown := []byte("no.such.stream.at.all")
	uris := [][]byte{[]byte("test/0.0.1"), []byte("/test/0.0.1"), []byte("/test/event/1.0.0"), []byte("/test/event/latest")}
	refused := []byte("http://evil.example/x")
	missing := []byte("/test/9.9.9")
	for _, u := range uris {
		if _, err := snap.Schema(u); err != nil {
			t.Fatal(err)
		}
	}
	if snap.Stream(regex) == nil || snap.Stream(literal) == nil {
		t.Fatal("streams not found")
	}
	snap.Schema(refused)
	snap.Schema(missing)
	f := func(what string, fn func()) {
		t.Helper()
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Errorf("%s: %.1f allocations per call", what, n)
		}
	}
	f("literal stream", func() { snap.Stream(literal) })
	f("regex stream seen before", func() { snap.Stream(regex) })
	f("unknown stream", func() { snap.Stream(unknown) })
	for _, u := range uris {
		f("schema "+string(u), func() { snap.Schema(u) })
	}
	f("refused schema seen before", func() { snap.Schema(refused) })
	f("missing schema seen before", func() { snap.Schema(missing) })
}
