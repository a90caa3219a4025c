package fastpath

import (
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
	"github.com/valyala/fastjson"
)

// The shared real data, relative to this package's directory.
const (
	realDataDir  = "../../shared/data"
	realExamples = realDataDir + "/examples"
)

var realRepos = []string{realDataDir + "/schemas/primary/jsonschema", realDataDir + "/schemas/secondary/jsonschema"}

var semverFile = regexp.MustCompile(`^\d+\.\d+\.\d+\.yaml$`)

// realSchemaDoc returns the JSON of a real schema version ("mediawiki/revision/create",
// "1.0.0"), converted from YAML with its key order kept (errors list properties in schema order).
func realSchemaDoc(t testing.TB, title, version string) []byte {
	t.Helper()
	for _, repo := range realRepos {
		data, err := os.ReadFile(filepath.Join(repo, title, version+".yaml"))
		if err != nil {
			continue
		}
		doc, err := yamlToJSONForTest(data)
		if err != nil {
			t.Fatalf("%s/%s: %v", title, version, err)
		}
		return doc
	}
	t.Fatalf("no real schema %s/%s", title, version)
	return nil
}

type realVersion struct{ title, version string }

func realVersions(t testing.TB) []realVersion {
	t.Helper()
	var out []realVersion
	for _, repo := range realRepos {
		err := filepath.WalkDir(repo, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && semverFile.MatchString(d.Name()) {
				rel, _ := filepath.Rel(repo, filepath.Dir(p))
				out = append(out, realVersion{filepath.ToSlash(rel), strings.TrimSuffix(d.Name(), ".yaml")})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].title+out[i].version < out[j].title+out[j].version })
	return out
}

// realSchema compiles a real schema into a Schema (defaults included) with the compiled program.
func realSchema(t testing.TB, title, version string) *Schema {
	t.Helper()
	doc := realSchemaDoc(t, title, version)
	uri := "/" + title + "/" + version
	prog, err := Compile(doc, CompileOptions{BaseURI: uri})
	if err != nil {
		t.Fatalf("%s: %v", uri, err)
	}
	s, err := NewSchema(uri, doc, prog)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// realExampleEvents returns the example events of a schema version as one parsed JSON array.
func realExampleEvents(t testing.TB, p *fastjson.Parser, title, version string) []*fastjson.Value {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(realExamples, strings.ReplaceAll(title, "/", "."), version+".json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.ParseBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	return v.GetArray()
}

// intake refused real events EventGate accepts: "maximum": 100000000000000000 of
// analytics/legacy/codemirrorusage's edit_start_ts_ms refused 100000000000000001, which Ajv 6
// reads as 1e17 (see TestNumbersInBothReadings). Each line: a real schema, the property of its
// first example event set to a number, and the errors (none: valid), as EventGate's Ajv has them.
func TestRealSchemasNumbersBeyondDoubles(t *testing.T) {
	f := func(title, version, path, number, want string) {
		t.Helper()
		s := realSchema(t, title, version)
		var p fastjson.Parser
		ev := realExampleEvents(t, &p, title, version)[0]
		keys := strings.Split(path, ".")
		ev.Get(keys[:len(keys)-1]...).Set(keys[len(keys)-1], fastjson.MustParse(number))
		var errs Errors
		ok := s.Validator().Validate(ev, &errs)
		if got := errs.Text(); ok != (want == "") || got != want {
			t.Errorf("%s/%s %s=%s: valid=%v %q, want %q", title, version, path, number, ok, got, want)
		}
	}
	const cm, cmv = "analytics/legacy/codemirrorusage", "1.0.0"
	f(cm, cmv, "event.edit_start_ts_ms", "100000000000000000", "")
	f(cm, cmv, "event.edit_start_ts_ms", "100000000000000001", "") // refused before
	f(cm, cmv, "event.edit_start_ts_ms", "100000000000000008", "") // refused before
	f(cm, cmv, "event.edit_start_ts_ms", "100000000000000009", "'.event.edit_start_ts_ms' should be <= 100000000000000000")
	f(cm, cmv, "event.edit_start_ts_ms", "-9007199254740992", "'.event.edit_start_ts_ms' should be >= -9007199254740991")
	f(cm, cmv, "event.edit_start_ts_ms", "1.5", "'.event.edit_start_ts_ms' should be integer")
	const wr, wrv = "development/webrequest", "1.0.0"
	// sequence: "maximum": 18446744073709552000, 2^64 as JavaScript writes it.
	f(wr, wrv, "sequence", "18446744073709551615", "")
	f(wr, wrv, "sequence", "18446744073709552001", "") // refused before
	f(wr, wrv, "sequence", "18446744073709555000", "'.sequence' should be <= 18446744073709552000")
	// response_size: "maximum": 9007199254740991, JavaScript's largest safe integer.
	f(wr, wrv, "response_size", "9007199254740991", "")
	f(wr, wrv, "response_size", "9007199254740992", "'.response_size' should be <= 9007199254740991")
	f(wr, wrv, "response_size", "9007199254740991.4", "") // whole and within the limit as a double
}

// Everything the real schemas use compiles to the fast program (none falls back), and every
// real example event is valid, with EventGate's defaults filled in first.
func TestRealSchemasCompileAndExamplesValidate(t *testing.T) {
	versions := realVersions(t)
	if len(versions) != 510 {
		t.Fatalf("found %d real schema versions, want 510", len(versions))
	}
	schemas := map[string]*Schema{}
	for _, rv := range versions {
		doc := realSchemaDoc(t, rv.title, rv.version)
		uri := "/" + rv.title + "/" + rv.version
		prog, err := Compile(doc, CompileOptions{BaseURI: uri})
		if errors.Is(err, ErrUnsupported) {
			t.Errorf("%s falls back: %v", uri, err)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", uri, err)
			continue
		}
		if prog.exactAlways {
			// No multipleOf, no limit a short number rounds onto: an invalid event is walked in
			// the exact reading only when it holds a long number.
			t.Errorf("%s: every invalid event would be walked twice", uri)
		}
		s, err := NewSchema(uri, doc, prog)
		if err != nil {
			t.Fatal(err)
		}
		schemas[uri] = s
	}
	dirs, err := os.ReadDir(realExamples)
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(realExamples, d.Name(), "*.json"))
		for _, f := range files {
			title := strings.ReplaceAll(d.Name(), ".", "/")
			version := strings.TrimSuffix(filepath.Base(f), ".json")
			s := schemas["/"+title+"/"+version]
			if s == nil {
				t.Errorf("no schema for example %s", f)
				continue
			}
			var p fastjson.Parser
			for i, ev := range realExampleEvents(t, &p, title, version) {
				events++
				s.defaults.apply(ev)
				var errs Errors
				if !s.Validator().Validate(ev, &errs) {
					t.Errorf("%s example %d: %s", f, i, errs.Text())
				}
			}
		}
	}
	if events != 546 {
		t.Errorf("validated %d example events, want 546", events)
	}
}

// yamlToJSONForTest converts a schema repository's YAML to JSON as js-yaml (EventGate) reads it,
// keeping key order and number text: goccy's YAMLToJSON turns 18446744073709552000 into a
// string. (schemacache has the full converter; fastpath's tests cannot import it.)
func yamlToJSONForTest(data []byte) ([]byte, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, err
	}
	if len(f.Docs) != 1 {
		return nil, fmt.Errorf("%d YAML documents, want 1", len(f.Docs))
	}
	return appendYAMLNode(nil, f.Docs[0].Body, map[string]ast.Node{})
}

var plainYAMLNumber = regexp.MustCompile(`^[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$`)

func appendYAMLNumber(dst []byte, text string) ([]byte, error) {
	text = strings.TrimPrefix(text, "+")
	if !strings.ContainsAny(text, ".eE") {
		var i big.Int
		if _, ok := i.SetString(text, 10); !ok {
			return nil, fmt.Errorf("bad integer %q", text)
		}
		return i.Append(dst, 10), nil
	}
	fl, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, err
	}
	return AppendJSNumber(dst, fl), nil
}

func appendYAMLNode(dst []byte, n ast.Node, anchors map[string]ast.Node) ([]byte, error) {
	switch n := n.(type) {
	case nil, *ast.NullNode:
		return append(dst, "null"...), nil
	case *ast.BoolNode:
		return strconv.AppendBool(dst, n.Value), nil
	case *ast.IntegerNode:
		return appendYAMLNumber(dst, strings.ReplaceAll(n.Token.Value, "_", ""))
	case *ast.FloatNode:
		return appendYAMLNumber(dst, n.Token.Value)
	case *ast.StringNode:
		if n.Token != nil && n.Token.Type == token.StringType && plainYAMLNumber.MatchString(n.Value) {
			return appendYAMLNumber(dst, n.Value)
		}
		return AppendJSONString(dst, n.Value), nil
	case *ast.LiteralNode:
		if n.Value == nil {
			return append(dst, `""`...), nil
		}
		return AppendJSONString(dst, n.Value.Value), nil
	case *ast.TagNode:
		switch token.ReservedTagKeyword(n.Start.Value) {
		case token.StringTag, token.TimestampTag:
			return AppendJSONString(dst, n.Value.GetToken().Value), nil
		}
		return appendYAMLNode(dst, n.Value, anchors)
	case *ast.AnchorNode:
		anchors[n.Name.GetToken().Value] = n.Value
		return appendYAMLNode(dst, n.Value, anchors)
	case *ast.AliasNode:
		return appendYAMLNode(dst, anchors[n.Value.GetToken().Value], anchors)
	case *ast.DocumentNode:
		return appendYAMLNode(dst, n.Body, anchors)
	case *ast.SequenceNode:
		dst = append(dst, '[')
		for i, it := range n.Values {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendYAMLNode(dst, it, anchors); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case *ast.MappingNode:
		return appendYAMLMapping(dst, n.Values, anchors)
	case *ast.MappingValueNode:
		return appendYAMLMapping(dst, []*ast.MappingValueNode{n}, anchors)
	}
	return nil, fmt.Errorf("unsupported YAML node %s", n.Type())
}

func appendYAMLMapping(dst []byte, values []*ast.MappingValueNode, anchors map[string]ast.Node) ([]byte, error) {
	dst = append(dst, '{')
	for i, mv := range values {
		if i > 0 {
			dst = append(dst, ',')
		}
		var k ast.Node = mv.Key
		if mk, ok := k.(*ast.MappingKeyNode); ok {
			k = mk.Value
		}
		dst = AppendJSONString(dst, k.GetToken().Value)
		dst = append(dst, ':')
		var err error
		if dst, err = appendYAMLNode(dst, mv.Value, anchors); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}
