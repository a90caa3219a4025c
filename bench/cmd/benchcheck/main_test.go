package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestBenchPatternSelectsTheFailingLines(t *testing.T) {
	patterns := benchPatterns([]string{
		regexp.QuoteMeta("Edge/revision-create-x100/sync/discard"),
		regexp.QuoteMeta("Spool/revision-create/hasty/down/always"),
		regexp.QuoteMeta("Edge/revision-create-x1/hasty/spool-down-1s"),
	})
	if len(patterns) != 2 {
		t.Fatalf("want one pattern per depth (4 and 5 levels), got %q", patterns)
	}
	// go test -bench matches each level of a benchmark's name against its level of the pattern.
	for name, want := range map[string]bool{
		"BenchmarkEdge/revision-create-x100/sync/discard":       true,
		"BenchmarkSpool/revision-create/hasty/down/always":      true,
		"BenchmarkEdge/revision-create-x100-gzip/sync/discard":  false,
		"BenchmarkEdge/revision-create-x1/sync/discard":         true, // the levels' alternatives combine
		"BenchmarkEdge/revision-create-x1/hasty/spool-down-1s":  true,
		"BenchmarkEdge/revision-create-x1/hasty/discard":        true,
		"BenchmarkEdge/navigationtiming-x1/hasty/discard":       false,
		"BenchmarkDecode/revision-create-x100/plain":            false,
		"BenchmarkSpool/revision-create/hasty/down/always-fast": false,
	} {
		got := false
		for _, p := range patterns {
			got = got || matchLevels(p, name)
		}
		if got != want {
			t.Errorf("%s: matched %v, want %v (patterns %q)", name, got, want, patterns)
		}
	}
}

// matchLevels matches name level by level against a benchPattern, as go test does.
func matchLevels(pattern, name string) bool {
	pl, nl := splitLevels(pattern), splitLevels(name)
	if len(nl) != len(pl) {
		return false
	}
	for i := range pl {
		if !regexp.MustCompile(pl[i]).MatchString(nl[i]) {
			return false
		}
	}
	return true
}

func splitLevels(s string) []string { return strings.Split(s, "/") }
