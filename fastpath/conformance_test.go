package fastpath

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// The official JSON-Schema-Test-Suite, as shipped inside the kaptinlin module (not copied here).
// Required tests must pass or be listed, with the reason, in testdata/conformance-exceptions.txt;
// a listed test that passes fails this test too, so the list stays true. Each set prints one line:
// "conformance draft7: N/M passed". `make conformance` runs it.
func TestConformance(t *testing.T) {
	kdir := kaptinlinDir(t)
	suite := filepath.Join(kdir, "testdata", "JSON-Schema-Test-Suite")
	exceptions := readExceptions(t, "testdata/conformance-exceptions.txt")
	resolve := suiteResolver(suite, kdir)
	type set struct {
		name, dir, mode string
		required        bool
	}
	sets := []set{
		{"draft7", "draft7", FormatModeFast, true},
		{"draft7 optional/format", "draft7/optional/format", FormatModeFull, false},
		{"draft2020-12", "draft2020-12", FormatModeFast, true},
		{"draft2020-12 optional/format", "draft2020-12/optional/format", FormatModeFull, false},
	}
	seen := map[string]bool{}
	for _, s := range sets {
		files, err := filepath.Glob(filepath.Join(suite, "tests", s.dir, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no tests in %s: %v", s.dir, err)
		}
		sort.Strings(files)
		passed, total := 0, 0
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var groups []struct {
				Description string          `json:"description"`
				Schema      json.RawMessage `json:"schema"`
				Tests       []struct {
					Description string          `json:"description"`
					Data        json.RawMessage `json:"data"`
					Valid       bool            `json:"valid"`
				} `json:"tests"`
			}
			if err := json.Unmarshal(data, &groups); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for _, g := range groups {
				prog, cerr := Compile(g.Schema, CompileOptions{FormatMode: s.mode, Resolve: resolve})
				for _, tc := range g.Tests {
					id := s.dir + "/" + filepath.Base(file) + "/" + g.Description + "/" + tc.Description
					total++
					var why string
					if cerr != nil {
						why = "does not compile: " + cerr.Error()
						if errors.Is(cerr, ErrUnsupported) {
							why = "falls back to kaptinlin: " + cerr.Error()
						}
					} else {
						var p fastjson.Parser
						v, err := p.ParseBytes(tc.Data)
						if err != nil {
							t.Fatalf("%s: bad data: %v", id, err)
						}
						var errs Errors
						got := prog.Validate(v, &errs)
						switch {
						case got != tc.Valid:
							why = fmt.Sprintf("valid=%v, want %v: %s", got, tc.Valid, errs.Text())
						case !got && errs.Len() == 0:
							why = "invalid without an error"
						case got && errs.Len() != 0:
							why = "valid with errors"
						}
					}
					if why == "" {
						passed++
					}
					if !s.required {
						continue
					}
					_, listed := exceptions[id]
					seen[id] = true
					switch {
					case why != "" && !listed:
						t.Errorf("%s: %s", id, why)
					case why == "" && listed:
						t.Errorf("%s passes now: remove it from the exceptions", id)
					}
				}
			}
		}
		fmt.Printf("conformance %s: %d/%d passed\n", s.name, passed, total)
	}
	for id := range exceptions {
		if !seen[id] {
			t.Errorf("exception %q names no test of the suite", id)
		}
	}
}

// kaptinlinDir finds the kaptinlin module, which ships the test suite.
func kaptinlinDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/kaptinlin/jsonschema").Output()
	if err != nil {
		t.Fatalf("cannot find the kaptinlin module (go list -m): %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatal("the kaptinlin module is not downloaded: run go mod download")
	}
	return dir
}

// suiteResolver serves the suite's remotes (http://localhost:1234/...) and the draft-07
// metaschema (from kaptinlin's source), never the network.
func suiteResolver(suite, kdir string) func(string) ([]byte, error) {
	return func(uri string) ([]byte, error) {
		if rest, ok := strings.CutPrefix(uri, "http://localhost:1234/"); ok {
			return os.ReadFile(filepath.Join(suite, "remotes", filepath.FromSlash(rest)))
		}
		if strings.TrimSuffix(uri, "#") == "http://json-schema.org/draft-07/schema" {
			src, err := os.ReadFile(filepath.Join(kdir, "metaschema.go"))
			if err != nil {
				return nil, err
			}
			m := regexp.MustCompile("draft7MetaSchemaJSON = `([^`]*)`").FindSubmatch(src)
			if m == nil {
				return nil, fmt.Errorf("no draft-07 metaschema in kaptinlin's source")
			}
			return m[1], nil
		}
		return nil, fmt.Errorf("%s is not served in tests", uri)
	}
}

// readExceptions reads "id  -- reason" lines; # starts a comment.
func readExceptions(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, ok := strings.Cut(line, "  -- ")
		if !ok || strings.TrimSpace(reason) == "" {
			t.Fatalf("%s: %q has no reason (\"id  -- reason\")", path, line)
		}
		m[id] = reason
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}
