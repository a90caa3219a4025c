package schemacache

import (
	"testing"
	"time"
)

// A zero RefreshInterval means no refresher (as --config-refresh 0 always did); it used to mean
// 60s here while the flag's 0 meant none.
func TestRefreshIntervalZeroStartsNoRefresher(t *testing.T) {
	f := func(every time.Duration, wantRefresher bool) {
		t.Helper()
		c := newCache(t, Config{SchemaBaseURIs: []string{egSchemas}, StreamConfig: egStreamConfig, RefreshInterval: every})
		c.Start()
		select {
		case <-c.done:
			if wantRefresher {
				t.Fatalf("RefreshInterval %v: no refresher", every)
			}
		default:
			if !wantRefresher {
				t.Fatalf("RefreshInterval %v: a refresher runs", every)
			}
		}
	}
	f(0, false)
	f(-time.Second, false)
	f(time.Hour, true)
	f(DefaultConfig().RefreshInterval, true)
}
