//go:build !race

package fastpath

import (
	"strings"
	"testing"
)

// CheckJSON runs on every request: it must not allocate on a body that passes, every limit set.
func TestCheckJSONDoesNotAllocate(t *testing.T) {
	body := []byte(`[{"$schema":"/example/click/1.0.0","meta":{"stream":"example.click","id":"\ud83d\ude00"},` +
		`"page":{"id":42,"title":"Main Page"},"tags":["a","b",` + strings.Repeat(`"x",`, 50) + `"c"],"n":-1.5e3}]`)
	lim := JSONLimits{MaxDepth: 64, MaxStringBytes: 1 << 20, MaxKeyBytes: 1024, MaxMembers: 10000}
	if p := CheckJSON(body, lim); p != "" {
		t.Fatal(p)
	}
	if n := testing.AllocsPerRun(1000, func() { CheckJSON(body, lim) }); n != 0 {
		t.Fatalf("%.2f allocations per body, want 0", n)
	}
}
