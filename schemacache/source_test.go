package schemacache

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"intake.dev/intake/fastpath"
)

func TestResolveSpellings(t *testing.T) {
	c := egCache(t)
	f := func(a, b string) {
		t.Helper()
		sa, err := c.LoadSchema(a)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		sb, err := c.LoadSchema(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if sa != sb {
			t.Fatalf("%q and %q resolve to different schemas", a, b)
		}
	}
	f("test/0.0.1", "/test/0.0.1")
	f("/test/0.0.1", "test/0.0.1")
	// Alias files: test_draft4/0.0.1.yaml holds "0.0.1".
	f("/test_draft4/0.0.1.yaml", "/test_draft4/0.0.1")
	f("/test_draft6/0.0.1", "test_draft6/0.0.1")
	// An absolute URI under a base.
	abs := "file://" + absPath(t, egSchemas) + "/test/0.0.2"
	s, err := c.LoadSchema(abs)
	if err != nil || s.Title != "test" {
		t.Fatalf("%s: %v", abs, err)
	}
}

func TestCanonicalURIs(t *testing.T) {
	c := egCache(t)
	f := func(uri, canonical, id, title string) {
		t.Helper()
		s, err := c.LoadSchema(uri)
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		if s.URI != canonical || s.ID != id || s.Title != title {
			t.Fatalf("%s: got URI %q ID %q title %q", uri, s.URI, s.ID, s.Title)
		}
	}
	f("test/0.0.1", "/test/0.0.1", "/test/0.0.1", "test")
	f("/test_draft4/0.0.1.yaml", "/test_draft4/0.0.1", "/test_draft4/0.0.1", "test_draft4")
	f("/test_draft6/0.0.1", "/test_draft6/0.0.1", "/test_draft6/0.0.1", "test_draft6")
	f("/error/0.0.1", "/error/0.0.1", "/error/0.0.1", "error")
	f("/test_insecure/0.0.1", "/test_insecure/0.0.1", "/test_insecure/0.0.1", "test_insecure")
}

// EventGate's draft-04 and draft-06 test schemas compile and validate their test events.
func TestOldDrafts(t *testing.T) {
	c := egCache(t)
	f := func(uri, event, wantText string) {
		t.Helper()
		ok, text, _ := validate(t, c, uri, event)
		if ok != (wantText == "") || text != wantText {
			t.Fatalf("%s %s: got %q, want %q", uri, event, text, wantText)
		}
	}
	f("/test_draft4/0.0.1", `{"$schema":"/test_draft4/0.0.1","meta":{"stream":"test.event","id":"5e1dd101-641c-11e8-ab6c-b083fecf1290"},"test":"test_value_0"}`, "")
	f("/test_draft4/0.0.1", `{"meta":{"stream":"test.event"},"test":1}`, "'.meta' should have required property 'id', '.test' should be string")
	f("/test_draft6/0.0.1", `{"$schema":"/test_draft6/0.0.1","meta":{"stream":"test.event","id":"5e1dd101-641c-11e8-ab6c-b083fecf1290"},"test":"test_value_0"}`, "")
	f("/test_draft6/0.0.1", `{"meta":{"stream":"test.event","id":"nope"}}`, `'.meta.id' should match pattern "^[a-fA-F0-9]{8}(-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}$"`)
}

func TestDraft4ExclusiveBounds(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/d4/1.0.0.yaml", `
$schema: http://json-schema.org/draft-04/schema#
id: /d4/1.0.0
title: d4
type: object
properties:
  n: {type: number, minimum: 0, exclusiveMinimum: true, maximum: 5, exclusiveMaximum: true}
  k: {type: integer, mexLength: 3, maxiumum: 1}
`)
	c := newCache(t, Config{SchemaBaseURIs: []string{dir}, StreamConfig: egStreamConfig})
	f := func(event, wantText string) {
		t.Helper()
		ok, text, js := validate(t, c, "/d4/1.0.0", event)
		if ok != (wantText == "") || text != wantText {
			t.Fatalf("%s: got %q, want %q\n%s", event, text, wantText, js)
		}
	}
	f(`{"n":1,"k":100}`, "") // misspelled keywords are ignored
	f(`{"n":0}`, "'.n' should be > 0")
	f(`{"n":5}`, "'.n' should be < 5")
	f(`{"k":1.5}`, "'.k' should be integer")
}

// latest loads the document of the version it names, whether it is a symlink or an alias file.
// Read as a file in a symlinked checkout, latest gave the document itself as the version's name.
func TestLatest(t *testing.T) {
	for _, layout := range aliasLayouts {
		t.Run(layout.String(), func(t *testing.T) {
			repos := realReposAs(t, layout)
			c := newCache(t, Config{SchemaBaseURIs: repos})
			latest, err := c.LoadSchema("/mediawiki/revision/create/latest")
			if err != nil {
				t.Fatal(err)
			}
			target, ok, err := readAliasEntry(repos[0] + "/mediawiki/revision/create/latest")
			if err != nil || !ok {
				t.Fatalf("latest is not an alias entry: %v", err)
			}
			version, err := c.LoadSchema("/mediawiki/revision/create/" + strings.TrimSuffix(target, ".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if latest.URI != "/mediawiki/revision/create/latest" || latest.ID != version.ID || string(latest.Doc) != string(version.Doc) {
				t.Fatalf("latest is %s (%s), want the document of %s", latest.URI, latest.ID, version.ID)
			}
		})
	}
}

func TestRefusedAndMissing(t *testing.T) {
	var hits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"title":"evil"}`))
	}))
	defer evil.Close()
	c := egCache(t)
	f := func(uri string, want error, wantText string) {
		t.Helper()
		s, err := c.LoadSchema(uri)
		if err == nil {
			t.Fatalf("%q: loaded %s", uri, s.URI)
		}
		if !errors.Is(err, want) || !strings.Contains(err.Error(), wantText) {
			t.Fatalf("%q: got %v, want %v containing %q", uri, err, want, wantText)
		}
		// Remembered: the same error again.
		if _, err2 := c.LoadSchema(uri); err2 != err {
			t.Fatalf("%q: the second lookup gave %v", uri, err2)
		}
	}
	f("/test/9.9.9", ErrSchemaNotFound, "tried test/9.9.9, test/9.9.9.yaml, test/9.9.9.json")
	f("../../etc/passwd", ErrSchemaRefused, "dot segment")
	f("/test/../../../etc/passwd", ErrSchemaRefused, "dot segment")
	f("http://evil.example/x", ErrSchemaRefused, "outside the configured schema bases (--schema-base-uri)")
	f(evil.URL+"/test/0.0.1", ErrSchemaRefused, "outside the configured schema bases")
	f("file:///etc/passwd", ErrSchemaRefused, "outside the configured schema bases")
	f("//evil.example/test/0.0.1", ErrSchemaRefused, "network-path")
	f(`test\0.0.1`, ErrSchemaRefused, `contains '\\'`)
	f("test/0.0.1?x=1", ErrSchemaRefused, "contains '?'")
	f("test/0.0.1\x00", ErrSchemaRefused, `contains '\x00'`)
	f("test/%2e%2e/x", ErrSchemaRefused, "contains '%'")
	f("bad/uri/right/here@@@", ErrSchemaNotFound, "schema not found")
	f("", ErrSchemaRefused, "names no schema")
	f(strings.Repeat("a", 600), ErrSchemaRefused, "longer than")
	if hits.Load() != 0 {
		t.Fatalf("the evil server got %d requests", hits.Load())
	}
}

// A $ref may only name documents inside the bases, through the same resolver.
func TestRefs(t *testing.T) {
	var hits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"type":"string"}`))
	}))
	defer evil.Close()
	dir := t.TempDir()
	writeFile(t, dir+"/fragment/common/1.0.0.yaml", "$id: /fragment/common/1.0.0\ntype: object\nrequired: [dt]\nproperties:\n  dt: {type: string}\n")
	writeFile(t, dir+"/uses/ref/1.0.0.yaml", "$schema: http://json-schema.org/draft-07/schema#\n$id: /uses/ref/1.0.0\ntitle: uses/ref\ntype: object\nproperties:\n  common:\n    $ref: /fragment/common/1.0.0\n")
	writeFile(t, dir+"/uses/evil/1.0.0.yaml", "$id: /uses/evil/1.0.0\ntitle: uses/evil\nproperties:\n  x:\n    $ref: "+evil.URL+"/x\n")
	writeFile(t, dir+"/uses/passwd/1.0.0.yaml", "$id: /uses/passwd/1.0.0\ntitle: uses/passwd\nproperties:\n  x:\n    $ref: file:///etc/passwd\n")
	c := newCache(t, Config{SchemaBaseURIs: []string{dir}, StreamConfig: egStreamConfig})
	ok, text, _ := validate(t, c, "/uses/ref/1.0.0", `{"common":{"dt":"x"}}`)
	if !ok {
		t.Fatalf("valid event: %s", text)
	}
	ok, _, _ = validate(t, c, "/uses/ref/1.0.0", `{"common":{}}`)
	if ok {
		t.Fatal("the $ref'd schema did not apply")
	}
	for _, uri := range []string{"/uses/evil/1.0.0", "/uses/passwd/1.0.0"} {
		_, err := c.LoadSchema(uri)
		if !errors.Is(err, ErrSchemaInvalid) || !strings.Contains(err.Error(), "outside the configured schema bases") {
			t.Fatalf("%s: got %v", uri, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the evil server got %d requests", hits.Load())
	}
}

// Concurrent misses of one URI cause one load.
func TestConcurrentMissesLoadOnce(t *testing.T) {
	var requests atomic.Int32
	files := http.FileServer(http.Dir(egSchemas))
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		<-release
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := newCache(t, Config{SchemaBaseURIs: []string{srv.URL}, StreamConfig: egStreamConfig})
	const n = 32
	var loads, joins atomic.Int32
	allJoined := make(chan struct{})
	c.store.loadHook = func(string) { loads.Add(1) }
	c.store.joinHook = func() {
		if joins.Add(1) == n-1 {
			close(allJoined)
		}
	}
	var wg sync.WaitGroup
	results := make(chan any, n)
	for i := 0; i < n; i++ {
		uri := "/test/0.0.1"
		if i%2 == 1 {
			uri = "test/0.0.1"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.Current().Schema([]byte(uri))
			if err != nil {
				results <- err
				return
			}
			results <- s
		}()
	}
	// Every lookup but the loading one waits on the load under way, then the server answers.
	<-allJoined
	close(release)
	wg.Wait()
	close(results)
	var first any
	for r := range results {
		if err, ok := r.(error); ok {
			t.Fatal(err)
		}
		if first == nil {
			first = r
		} else if r != first {
			t.Fatal("concurrent loads returned different schemas")
		}
	}
	if loads.Load() != 1 || requests.Load() != 1 {
		t.Fatalf("%d loads, %d requests; want 1 and 1", loads.Load(), requests.Load())
	}
}

// A failed load is remembered for NegativeTTL, then retried.
func TestNegativeCache(t *testing.T) {
	dir := t.TempDir()
	c := newCache(t, Config{SchemaBaseURIs: []string{dir}, StreamConfig: egStreamConfig, NegativeTTL: time.Minute})
	now := time.Now()
	var mu sync.Mutex
	c.store.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var loads atomic.Int32
	c.store.loadHook = func(string) { loads.Add(1) }
	for i := 0; i < 3; i++ {
		if _, err := c.LoadSchema("/late/1.0.0"); !errors.Is(err, ErrSchemaNotFound) {
			t.Fatalf("got %v", err)
		}
	}
	if loads.Load() != 1 {
		t.Fatalf("%d loads within the TTL, want 1", loads.Load())
	}
	writeFile(t, dir+"/late/1.0.0.yaml", "title: late\ntype: object\n")
	if _, err := c.LoadSchema("/late/1.0.0"); err == nil {
		t.Fatal("the failure was not remembered")
	}
	mu.Lock()
	now = now.Add(time.Minute + time.Second)
	mu.Unlock()
	s, err := c.LoadSchema("/late/1.0.0")
	if err != nil || s.Title != "late" || loads.Load() != 2 {
		t.Fatalf("after the TTL: %v, %d loads", err, loads.Load())
	}
}

// An http(s) base and an http(s) stream config work; when the server goes away a refresh fails
// and the last good snapshot and schemas stay.
func TestHTTPSourcesAndOutage(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.Dir(egSchemas)))
	c := newCache(t, Config{
		SchemaBaseURIs: []string{srv.URL + "/"},
		StreamConfig:   srv.URL + "/stream-config.test.yaml",
		HTTPTimeout:    2 * time.Second,
	})
	snap := c.Current()
	if snap.Stream([]byte("test.event")) == nil {
		t.Fatal("stream config from http: no test.event")
	}
	s, err := snap.Schema([]byte("/test/0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if d4, err := c.LoadSchema("/test_draft4/0.0.1.yaml"); err != nil || d4.Title != "test_draft4" {
		t.Fatalf("alias file over http: %v", err)
	}
	abs, err := c.LoadSchema(srv.URL + "/test/0.0.2")
	if err != nil || abs.Title != "test" {
		t.Fatalf("absolute URI under the http base: %v", err)
	}
	if err := c.Refresh(); err != nil {
		t.Fatalf("refresh with the server up: %v", err)
	}
	if c.Current() != snap {
		t.Fatal("an unchanged stream config made a new snapshot")
	}
	srv.Close()
	err = c.Refresh()
	if err == nil || !strings.Contains(err.Error(), "cannot read stream config \""+srv.URL) {
		t.Fatalf("refresh with the server gone: %v", err)
	}
	if c.Current() != snap || !c.Ready() {
		t.Fatal("a failed refresh replaced the snapshot")
	}
	if s2, err := c.Current().Schema([]byte("/test/0.0.1")); err != nil || s2 != s {
		t.Fatalf("after the outage: %v", err)
	}
}

// A refresh recompiles a schema whose document changed, and keeps the last good one when the new
// document does not compile.
func TestRefreshSchemas(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/r/1.0.0.yaml", "title: r\ntype: object\nproperties:\n  a: {type: string}\n")
	c := newCache(t, Config{SchemaBaseURIs: []string{dir}, StreamConfig: egStreamConfig})
	old, err := c.Current().Schema([]byte("r/1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.LoadSchema("r/1.0.0"); s != old {
		t.Fatal("an unchanged document was recompiled")
	}
	writeFile(t, dir+"/r/1.0.0.yaml", "title: r\ntype: object\nproperties:\n  a: {type: integer}\n")
	if err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	s, _ := c.Current().Schema([]byte("r/1.0.0"))
	if s == old || !strings.Contains(string(s.Doc), "integer") {
		t.Fatal("a changed document was not recompiled")
	}
	if s2, _ := c.LoadSchema("/r/1.0.0"); s2 != s {
		t.Fatal("the canonical spelling still gives the old schema")
	}
	writeFile(t, dir+"/r/1.0.0.yaml", "title: r\ntype: object\nproperties:\n  a: {type: 12}\n")
	if err := c.Refresh(); err == nil || !errors.Is(err, ErrSchemaInvalid) {
		t.Fatalf("refresh of a broken document: %v", err)
	}
	if s3, _ := c.LoadSchema("r/1.0.0"); s3 != s {
		t.Fatal("a broken document replaced the last good schema")
	}
}

// Every setting New refuses is a *ConfigError naming its field, so that intake serve can name
// the flag.
func TestConfigErrors(t *testing.T) {
	f := func(cfg Config, field, want string) {
		t.Helper()
		cfg.Logger = quietLogger
		_, err := New(cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != field || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want a *ConfigError for %s containing %q", err, field, want)
		}
		if named := ce.Message(func(f string) string { return "<" + f + ">" }); !strings.HasPrefix(named, "cannot use <"+field+">") {
			t.Fatalf("Message names the field badly: %s", named)
		}
	}
	f(Config{SchemaBaseURIs: []string{egSchemas}, StreamConfig: "/nonexistent/streams.json"}, "StreamConfig", `cannot read stream config "/nonexistent/streams.json"`)
	bad := t.TempDir() + "/streams.yaml"
	writeFile(t, bad, "streams: [not, a, map")
	f(Config{SchemaBaseURIs: []string{egSchemas}, StreamConfig: bad}, "StreamConfig", `cannot use stream config "`+bad+`"`)
	f(Config{StreamConfig: egStreamConfig}, "SchemaBaseURIs", "no schema base URI")
	f(Config{SchemaBaseURIs: []string{" "}, StreamConfig: egStreamConfig}, "SchemaBaseURIs", "empty")
	f(Config{SchemaBaseURIs: []string{"/nonexistent/dir"}, StreamConfig: egStreamConfig}, "SchemaBaseURIs", `"/nonexistent/dir"`)
	f(Config{SchemaBaseURIs: []string{egStreamConfig}, StreamConfig: egStreamConfig}, "SchemaBaseURIs", "not a directory")
	f(Config{SchemaBaseURIs: []string{"ftp://x/y"}, StreamConfig: egStreamConfig}, "SchemaBaseURIs", "only directories")
	f(Config{SchemaBaseURIs: []string{"file://host/dir"}, StreamConfig: egStreamConfig}, "SchemaBaseURIs", "file:///absolute/dir")
	f(Config{SchemaBaseURIs: []string{"http://"}, StreamConfig: egStreamConfig}, "SchemaBaseURIs", "http(s)://host/path")
	f(Config{SchemaBaseURIs: []string{"http://h/x?q=1"}, StreamConfig: egStreamConfig}, "SchemaBaseURIs", "query or fragment")
	f(Config{SchemaBaseURIs: []string{egSchemas}, StreamConfig: egStreamConfig, FormatMode: "slow"}, "FormatMode", "format mode")
}

// Without a stream config there are no streams, and schemas still load (intake validate).
func TestNoStreamConfig(t *testing.T) {
	c, err := New(Config{SchemaBaseURIs: []string{egSchemas}, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := len(c.Current().Streams()); n != 0 {
		t.Fatalf("%d streams, want none", n)
	}
	if _, err := c.LoadSchema("/test/0.0.1"); err != nil {
		t.Fatal(err)
	}
}

func absPath(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(abs)
}

// An event may name a schema by a $id that differs from its path (the real
// development/webrequest/1.0.0 declares "$id: /webrequest/1.0.0", and its example names that), as
// Ajv in EventGate resolves $ids from its cache. A path always wins over a $id.
func TestSchemaByID(t *testing.T) {
	c := realCache(t)
	start := time.Now()
	s, err := c.LoadSchema("/webrequest/1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first lookup by $id, with the directory scan: %v", time.Since(start))
	if s.ID != "/webrequest/1.0.0" || s.Title != "development/webrequest" {
		t.Fatalf("got %s %s", s.ID, s.Title)
	}
	if _, err := c.LoadSchema("/webrequest/2.0.0"); !errors.Is(err, ErrSchemaNotFound) {
		t.Fatalf("an unknown $id: %v", err)
	}

	dir := t.TempDir()
	writeFile(t, dir+"/real/1.0.0.yaml", "$id: /real/1.0.0\ntitle: real\n")
	writeFile(t, dir+"/other/1.0.0.yaml", "$id: /real/1.0.0\ntitle: impostor\n")
	writeFile(t, dir+"/moved/1.0.0.json", `{"$id": "/old/place/1.0.0", "title": "moved"}`)
	c2 := newCache(t, Config{SchemaBaseURIs: []string{dir}, StreamConfig: egStreamConfig})
	if s, err := c2.LoadSchema("/real/1.0.0"); err != nil || s.Title != "real" {
		t.Fatalf("a $id took over a path: %v %v", s, err)
	}
	if s, err := c2.LoadSchema("old/place/1.0.0"); err != nil || s.Title != "moved" {
		t.Fatalf("JSON document by $id: %v", err)
	}
}

// Every alias entry of the real repositories reads as the document it names, and names the same
// one, in both layouts.
func TestRealAliasEntries(t *testing.T) {
	targets := map[aliasLayout]map[string]string{}
	for _, layout := range aliasLayouts {
		t.Run(layout.String(), func(t *testing.T) {
			repos := realReposAs(t, layout)
			c := newCache(t, Config{SchemaBaseURIs: repos})
			got := map[string]string{}
			for i, root := range repos {
				err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					target, alias, err := readAliasEntry(p)
					if err != nil || !alias {
						return err
					}
					rel, err := filepath.Rel(root, p)
					if err != nil {
						return err
					}
					rel = filepath.ToSlash(rel)
					got[fmt.Sprint(i, ":", rel)] = target
					ref, err := c.res.parse(c.res.bases[i].prefix + rel)
					if err != nil {
						return err
					}
					f, err := c.res.fetch(t.Context(), ref)
					if err != nil {
						t.Errorf("%s: %v", rel, err)
						return nil
					}
					want, err := os.ReadFile(filepath.Join(filepath.Dir(p), target))
					if err != nil {
						return err
					}
					if string(f.data) != string(want) {
						t.Errorf("%s read as %q..., not as %s", rel, truncate(string(f.data), 40), target)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			targets[layout] = got
		})
	}
	if len(targets) == len(aliasLayouts) && !maps.Equal(targets[aliasFiles], targets[aliasSymlinks]) {
		t.Fatalf("the layouts have different alias entries: %v and %v", targets[aliasFiles], targets[aliasSymlinks])
	}
}

// Alias entries to .yaml and .json documents, and to other alias entries, load the document they
// name under every spelling, the same in both layouts; one that names nothing is a missing
// schema, and a loop fails after maxAliasHops in either layout (not on the system's own limit).
func TestAliasEntries(t *testing.T) {
	for _, layout := range aliasLayouts {
		t.Run(layout.String(), func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir+"/j/1.0.0.json", `{"$id": "/j/1.0.0", "title": "j", "type": "object"}`)
			writeAlias(t, dir+"/j/1.0.0", "1.0.0.json", layout)
			writeAlias(t, dir+"/j/latest", "1.0.0.json", layout)
			writeAlias(t, dir+"/j/latest.json", "1.0.0.json", layout)
			writeFile(t, dir+"/y/1.0.0.yaml", "$id: /y/1.0.0\ntitle: y\ntype: object\n")
			writeAlias(t, dir+"/y/1.0.0", "1.0.0.yaml", layout)
			writeAlias(t, dir+"/y/latest", "1.0.0", layout)
			writeAlias(t, dir+"/y/latest.yaml", "latest", layout)
			writeAlias(t, dir+"/gone/latest", "9.9.9.yaml", layout)
			writeAlias(t, dir+"/loop/a", "b", layout)
			writeAlias(t, dir+"/loop/b", "a", layout)
			abs := "file://" + absPath(t, dir)
			// A fresh cache for each spelling, so that each reads its own entry.
			load := func(uri string) (*fastpath.Schema, error) {
				return newCache(t, Config{SchemaBaseURIs: []string{dir}, StreamConfig: egStreamConfig}).LoadSchema(uri)
			}
			f := func(uri, id string) {
				t.Helper()
				s, err := load(uri)
				if err != nil {
					t.Fatalf("%s: %v", uri, err)
				}
				want, err := load(id)
				if err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				if s.ID != id || string(s.Doc) != string(want.Doc) {
					t.Fatalf("%s: got %s, want the document of %s", uri, s.ID, id)
				}
			}
			f("/j/1.0.0", "/j/1.0.0")
			f("/j/1.0.0.json", "/j/1.0.0")
			f("/j/latest", "/j/1.0.0")
			f("/j/latest.json", "/j/1.0.0")
			f(abs+"/j/latest", "/j/1.0.0")
			f("/y/1.0.0", "/y/1.0.0")
			f("/y/latest", "/y/1.0.0")
			f("/y/latest.yaml", "/y/1.0.0")
			f(abs+"/y/latest.yaml", "/y/1.0.0")
			if _, err := load("/gone/latest"); !errors.Is(err, ErrSchemaNotFound) {
				t.Fatalf("an alias of nothing: %v", err)
			}
			if _, err := load("/loop/a"); err == nil || !strings.Contains(err.Error(), "in a row") {
				t.Fatalf("an alias loop: %v", err)
			}
		})
	}
}

// A symlink may not lead out of its schema base, whether its target is relative or absolute; the
// same target held in a file is no alias (only a sibling's name is) and does not load either.
func TestAliasOutsideBase(t *testing.T) {
	for _, layout := range aliasLayouts {
		t.Run(layout.String(), func(t *testing.T) {
			top := t.TempDir()
			writeFile(t, top+"/outside/1.0.0.yaml", "$id: /outside/1.0.0\ntitle: classified\ntype: object\n")
			dir := top + "/base"
			writeFile(t, dir+"/ok/1.0.0.yaml", "title: ok\n")
			writeAlias(t, dir+"/evil/relative", "../../outside/1.0.0.yaml", layout)
			writeAlias(t, dir+"/evil/absolute", top+"/outside/1.0.0.yaml", layout)
			c := newCache(t, Config{SchemaBaseURIs: []string{dir}, StreamConfig: egStreamConfig})
			for _, uri := range []string{"/evil/relative", "/evil/absolute"} {
				s, err := c.LoadSchema(uri)
				if err == nil {
					t.Fatalf("%s: loaded %s", uri, s.Title)
				}
				if strings.Contains(err.Error(), "classified") {
					t.Fatalf("%s: the error shows the document outside: %v", uri, err)
				}
				if layout == aliasSymlinks && (!errors.Is(err, ErrSchemaRefused) || !strings.Contains(err.Error(), "outside the schema base")) {
					t.Fatalf("%s: got %v, want %v naming the base", uri, err, ErrSchemaRefused)
				}
			}
		})
	}
}
