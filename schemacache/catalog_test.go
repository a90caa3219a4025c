package schemacache

import (
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// The catalog of the two real repositories lists every materialized version (202 titles, 510
// versions, as the data README counts them), whatever the layout of the alias entries.
func TestCatalogRealRepositories(t *testing.T) {
	c := realCache(t)
	var got []string
	for _, tv := range c.Catalog().Titles {
		for _, v := range tv.Versions {
			got = append(got, "/"+tv.Title+"/"+v)
		}
	}
	want := append(repoVersions(t, primaryRepo), repoVersions(t, secondaryRepo)...)
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the catalog lists %d versions, the repositories hold %d", len(got), len(want))
	}
	if n := len(c.Catalog().Titles); n != 202 || len(got) != 510 {
		t.Fatalf("%d titles, %d versions; want 202 and 510", n, len(got))
	}
	tv, ok := c.Catalog().Find("mediawiki/revision/create")
	if !ok || strings.Join(tv.Versions, " ") != "1.0.0 1.1.0 1.2.0 2.0.0" {
		t.Fatalf("mediawiki/revision/create: %v %v", tv, ok)
	}
	if _, ok := c.Catalog().Find("mediawiki/revision"); ok {
		t.Fatal("mediawiki/revision, a directory of titles, is a title")
	}
}

// Versions sort as versions (1.10.0 after 1.2.0), pages follow each other, and a version deployed
// under a running Cache is listed after the next Refresh.
func TestCatalogPagesAndRefresh(t *testing.T) {
	dir := t.TempDir()
	doc := func(title, v string) string {
		return `{"$id":"/` + title + `/` + v + `","title":"` + title + `","type":"object"}`
	}
	for _, f := range []struct{ title, v string }{{"b/x", "1.2.0"}, {"b/x", "1.10.0"}, {"a", "0.0.1"}, {"c/y/z", "2.0.0"}} {
		if err := mkdirWrite(filepath.Join(dir, f.title, f.v+".yaml"), doc(f.title, f.v)); err != nil {
			t.Fatal(err)
		}
	}
	c := newCache(t, Config{SchemaBaseURIs: []string{dir}})
	titles := func(p []TitleVersions) (s []string) {
		for _, tv := range p {
			s = append(s, tv.Title+"@"+strings.Join(tv.Versions, ","))
		}
		return s
	}
	f := func(after string, limit int, want string, wantMore bool) {
		t.Helper()
		p, more := c.Catalog().Page(after, limit)
		if got := strings.Join(titles(p), " "); got != want || more != wantMore {
			t.Fatalf("Page(%q, %d) = %q, %v; want %q, %v", after, limit, got, more, want, wantMore)
		}
	}
	f("", 10, "a@0.0.1 b/x@1.2.0,1.10.0 c/y/z@2.0.0", false)
	f("", 2, "a@0.0.1 b/x@1.2.0,1.10.0", true)
	f("b/x", 2, "c/y/z@2.0.0", false)
	f("a/", 1, "b/x@1.2.0,1.10.0", true)
	f("c/y/z", 5, "", false)

	if err := mkdirWrite(filepath.Join(dir, "b", "x", "2.0.0.yaml"), doc("b/x", "2.0.0")); err != nil {
		t.Fatal(err)
	}
	f("a", 1, "b/x@1.2.0,1.10.0", true) // read once, until the next refresh
	if err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	f("a", 1, "b/x@1.2.0,1.10.0,2.0.0", true)
}
