package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestExitStatus(t *testing.T) {
	f := func(want int, wantOut string, args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if got := run(args, &stdout, &stderr); got != want {
			t.Fatalf("%q: exit %d, want %d; stderr: %s", args, got, want, stderr.String())
		}
		if !strings.Contains(stdout.String()+stderr.String(), wantOut) {
			t.Fatalf("%q: output lacks %q:\n%s%s", args, wantOut, stdout.String(), stderr.String())
		}
	}
	// A remote target is refused before any traffic: exit 2, with the flag that allows it named.
	f(2, "--allow-remote", "--url", "http://198.51.100.7:8192/v1/events")
	f(2, "--allow-remote", "--url", "http://example.org/v1/events", "--scenario", "backend-sync")
	f(2, "unknown --scenario", "--scenario", "nope")
	f(2, "flag provided but not defined", "--nope")
	f(2, "--batch", "--batch", "0")
	f(0, "mobile-batches", "--list-scenarios")
	f(0, "-invalid-ratio float", "--help")
}
