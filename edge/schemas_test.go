package edge_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"intake.dev/intake/internal/edgetest"
)

type schemaTitle struct {
	Title    string   `json:"title"`
	Versions []string `json:"versions"`
	Latest   string   `json:"latest"`
}

type schemaPage struct {
	Schemas []schemaTitle `json:"schemas"`
	Next    string        `json:"next"`
}

func getSchemaPage(t *testing.T, h *edgetest.Edge, path string) (schemaPage, string) {
	t.Helper()
	r := h.Get(path)
	if r.Code != 200 {
		t.Fatalf("GET %s: %d %s", path, r.Code, r.Body)
	}
	var p schemaPage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, r.Body)
	}
	if r.Header.Get("ETag") == "" || r.Header.Get("Cache-Control") == "" {
		t.Fatalf("GET %s: no ETag or Cache-Control: %v", path, r.Header)
	}
	return p, r.Header.Get("ETag")
}

// GET /v1/schemas lists the 202 titles and 510 versions of the two real repositories (the data
// README's counts), a page at a time through "next"; GET /v1/schemas/{title} lists one title's;
// GET /v1/schemas/{title}/{version} still serves the schema.
func TestSchemaListing(t *testing.T) {
	h := edgetest.Start(t, edgetest.RealData())
	all, allTag := getSchemaPage(t, h, "/v1/schemas?limit=1000")
	if all.Next != "" {
		t.Fatalf("one page of 1000 has a next page: %q", all.Next)
	}
	versions := 0
	for i, s := range all.Schemas {
		versions += len(s.Versions)
		if i > 0 && all.Schemas[i-1].Title >= s.Title {
			t.Fatalf("titles out of order: %q before %q", all.Schemas[i-1].Title, s.Title)
		}
		if len(s.Versions) == 0 || s.Latest != s.Versions[len(s.Versions)-1] {
			t.Fatalf("%s: versions %v, latest %q", s.Title, s.Versions, s.Latest)
		}
	}
	if len(all.Schemas) != 202 || versions != 510 {
		t.Fatalf("%d titles, %d versions; want 202 and 510", len(all.Schemas), versions)
	}

	// Paged: the default page is 100 titles; following next gives the same list.
	var paged []schemaTitle
	tags := map[string]bool{}
	for path, pages := "/v1/schemas", 0; path != ""; pages++ {
		p, tag := getSchemaPage(t, h, path)
		if pages == 0 && len(p.Schemas) != 100 {
			t.Fatalf("the first page has %d titles, want 100", len(p.Schemas))
		}
		if tags[tag] || tag == allTag {
			t.Fatalf("%s: the ETag %s of another page", path, tag)
		}
		tags[tag] = true
		paged = append(paged, p.Schemas...)
		path = p.Next
		if pages > 3 {
			t.Fatal("more than 3 pages of 100 for 202 titles")
		}
	}
	if !reflect.DeepEqual(paged, all.Schemas) {
		t.Fatal("the pages, followed through next, are not the whole list")
	}
	p, _ := getSchemaPage(t, h, "/v1/schemas?limit=2&after=mediawiki/revision/create")
	if len(p.Schemas) != 2 || p.Schemas[0].Title <= "mediawiki/revision/create" ||
		p.Next != "/v1/schemas?limit=2&after="+strings.ReplaceAll(p.Schemas[1].Title, "/", "%2F") {
		t.Fatalf("?limit=2&after=mediawiki/revision/create: %+v", p)
	}
	if p, _ := getSchemaPage(t, h, "/v1/schemas?after=~"); len(p.Schemas) != 0 || p.Next != "" || string(mustMarshal(t, p.Schemas)) != "[]" {
		t.Fatalf("after the last title: %+v", p)
	}

	title := func(path string, want schemaTitle) {
		t.Helper()
		r := h.Get(path)
		var got schemaTitle
		if r.Code != 200 || json.Unmarshal(r.Body, &got) != nil || !reflect.DeepEqual(got, want) || r.Header.Get("ETag") == "" {
			t.Fatalf("GET %s: %d %s, want %+v with an ETag", path, r.Code, r.Body, want)
		}
	}
	title("/v1/schemas/mediawiki/revision/create", schemaTitle{"mediawiki/revision/create", []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0"}, "2.0.0"})
	// A title below another title's directory.
	title("/v1/schemas/fragment/http/client_ip", schemaTitle{"fragment/http/client_ip", []string{"1.0.0"}, "1.0.0"})
	title("/v1/schemas/fragment/http", schemaTitle{"fragment/http", []string{"1.0.0", "1.1.0", "1.2.0"}, "1.2.0"})
	if r := h.Get("/v1/schemas/mediawiki/revision/create/latest"); r.Code != 200 || !strings.Contains(string(r.Body), `"$id":"/mediawiki/revision/create/2.0.0"`) {
		t.Fatalf("the latest schema: %d %.200s", r.Code, r.Body)
	}

	code := func(path string, want int) {
		t.Helper()
		if r := h.Get(path); r.Code != want {
			t.Fatalf("GET %s: %d %s, want %d", path, r.Code, r.Body, want)
		}
	}
	code("/v1/schemas?limit=0", 400)
	code("/v1/schemas?limit=1001", 400)
	code("/v1/schemas?limit=ten", 400)
	code("/v1/schemas?limit=1000", 200)
	code("/v1/schemas/mediawiki/revision", 404) // a directory of titles, no title itself
	code("/v1/schemas/mediawiki/nope", 404)

	cond := func(path, tag string, want int) {
		t.Helper()
		req, _ := http.NewRequest("GET", h.URL+path, nil)
		req.Header.Set("If-None-Match", tag)
		if r := h.Do(req); r.Code != want {
			t.Fatalf("GET %s If-None-Match %s: %d, want %d", path, tag, r.Code, want)
		}
	}
	cond("/v1/schemas?limit=1000", allTag, 304)
	cond("/v1/schemas", allTag, 200)
	r := h.Get("/v1/schemas/error")
	cond("/v1/schemas/error", r.Header.Get("ETag"), 304)
	cond("/v1/schemas/error", `"stale"`, 200)
}

// The listing reads the directories, not the schemas the edge loaded: a title whose alias entries
// are symlinks and one whose alias entries are files are listed alike, a directory of only
// current.yaml (a title never materialized) is not a title, and what is not a version is ignored.
func TestSchemaListingLayouts(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	schema := func(title, version string) string {
		return `{"$id":"/` + title + `/` + version + `","$schema":"https://json-schema.org/draft-07/schema#","title":"` + title + `","type":"object"}`
	}
	write("a/linked/1.0.0.yaml", schema("a/linked", "1.0.0"))
	write("a/linked/1.10.0.yaml", schema("a/linked", "1.10.0"))
	write("a/linked/1.2.0.json", schema("a/linked", "1.2.0"))
	for name, target := range map[string]string{"latest": "1.10.0.yaml", "1.0.0": "1.0.0.yaml"} {
		if err := os.Symlink(target, filepath.Join(dir, "a", "linked", name)); err != nil {
			t.Fatal(err)
		}
	}
	write("a/files/2.0.0.yaml", schema("a/files", "2.0.0"))
	write("a/files/2.0.0", "2.0.0.yaml\n")
	write("a/files/latest", "2.0.0.yaml\n")
	write("a/files/CHANGELOG.md", "# 2.0.0\n")
	write("a/files/2.0.yaml", "not a version")
	write("a/draft/current.yaml", schema("a/draft", "1.0.0"))
	write(".git/objects/1.0.0", "not a title")

	h := edgetest.Start(t, edgetest.Options{SchemaBaseURIs: []string{dir}})
	p, _ := getSchemaPage(t, h, "/v1/schemas")
	want := []schemaTitle{
		{"a/files", []string{"2.0.0"}, "2.0.0"},
		{"a/linked", []string{"1.0.0", "1.2.0", "1.10.0"}, "1.10.0"},
	}
	if !reflect.DeepEqual(p.Schemas, want) || p.Next != "" {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	if r := h.Get("/v1/schemas/a/linked/latest"); r.Code != 200 || !strings.Contains(string(r.Body), `/a/linked/1.10.0`) {
		t.Fatalf("a/linked/latest: %d %s", r.Code, r.Body)
	}
}

// The README's example of a page is what the edge answers on the real repositories.
func TestSchemaListingREADMEExample(t *testing.T) {
	h := edgetest.Start(t, edgetest.RealData())
	r := h.Get("/v1/schemas?limit=2&after=mediawiki/page/create")
	want := `{"schemas":[{"title":"mediawiki/page/delete","versions":["1.0.0"],"latest":"1.0.0"},{"title":"mediawiki/page/image-suggestions-feedback","versions":["1.0.0","2.0.0","2.1.0"],"latest":"2.1.0"}],"next":"/v1/schemas?limit=2&after=mediawiki%2Fpage%2Fimage-suggestions-feedback"}`
	if r.Code != 200 || string(r.Body) != want {
		t.Fatalf("%d %s\nwant %s", r.Code, r.Body, want)
	}
}

// The OpenAPI document at /?spec is JSON and lists the listing route beside the schema route.
func TestSchemaListingInSpec(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	r := h.Get("/?spec")
	var spec struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if r.Code != 200 || json.Unmarshal(r.Body, &spec) != nil {
		t.Fatalf("/?spec: %d %.200s", r.Code, r.Body)
	}
	for _, p := range []string{"/v1/schemas", "/v1/schemas/{uri}"} {
		if spec.Paths[p]["get"] == nil {
			t.Fatalf("/?spec has no GET %s", p)
		}
	}
}
