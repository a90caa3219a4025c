package schemacache

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"intake.dev/intake/fastpath"
)

// Every materialized version in both real repositories compiles, whether their alias entries are
// symlinks or alias files.
func TestRealSchemasCompile(t *testing.T) {
	for _, layout := range aliasLayouts {
		t.Run(layout.String(), func(t *testing.T) {
			repos := realReposAs(t, layout)
			c := newCache(t, Config{SchemaBaseURIs: repos})
			n := 0
			for _, root := range repos {
				for _, uri := range repoVersions(t, root) {
					n++
					s, err := c.LoadSchema(uri)
					if err != nil {
						t.Errorf("%s: %v", uri, err)
						continue
					}
					if s.URI != uri || s.Title == "" {
						t.Errorf("%s: loaded as URI %q title %q", uri, s.URI, s.Title)
					}
				}
			}
			if n != 510 {
				t.Errorf("found %d schema versions; the data README says 510", n)
			}
			t.Logf("compiled %d schema versions", n)
		})
	}
}

// Every example event validates against its own schema, as under Ajv 6 in EventGate.
func TestRealExamplesValidate(t *testing.T) {
	c := realCache(t)
	files, err := filepath.Glob(examplesDir + "/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var events []json.RawMessage
		if err := json.Unmarshal(data, &events); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		title := strings.ReplaceAll(filepath.Base(filepath.Dir(f)), ".", "/")
		version := strings.TrimSuffix(filepath.Base(f), ".json")
		uri := "/" + title + "/" + version
		s, err := c.LoadSchema(uri)
		if err != nil {
			t.Errorf("%s: %v", uri, err)
			continue
		}
		for i, ev := range events {
			n++
			var p fastjson.Parser
			v, err := p.ParseBytes(ev)
			if err != nil {
				t.Fatalf("%s[%d]: %v", f, i, err)
			}
			var errs fastpath.Errors
			if !s.Validator().Validate(v, &errs) || errs.Len() > 0 {
				t.Errorf("%s example %d: %s", uri, i, errs.Text())
			}
		}
	}
	if n != 546 {
		t.Errorf("validated %d examples; the data README says 546", n)
	}
	t.Logf("validated %d example events", n)
}
