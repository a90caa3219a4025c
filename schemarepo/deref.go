package schemarepo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Resolver finds the documents a "$ref" names: under the configured schema base URIs, in order,
// the first that has it. A base that is a directory is read; a base that is a URL is read only
// from the directory it is mapped to (Options.BaseURIMap): nothing is fetched from the network.
type Resolver struct {
	bases []refBase
	docs  map[string]any // by file path
}

type refBase struct {
	uri string // as configured
	dir string // the directory it reads from; "" for an unmapped URL
}

// NewResolver builds the resolver of a repository at root: bases as configured (relative ones
// against root, as jsonschema-tools resolves them against the repository's working directory),
// URLs through uriMap (URL prefix to directory).
func NewResolver(root string, bases []string, uriMap map[string]string) *Resolver {
	r := &Resolver{docs: map[string]any{}}
	for _, b := range bases {
		rb := refBase{uri: b}
		switch {
		case strings.Contains(b, "://") && !strings.HasPrefix(b, "file://"):
			for prefix, dir := range uriMap {
				if strings.TrimSuffix(prefix, "/") == strings.TrimSuffix(b, "/") {
					rb.dir = dir
				}
			}
		case strings.HasPrefix(b, "file://"):
			rb.dir = strings.TrimPrefix(b, "file://")
		case filepath.IsAbs(b):
			rb.dir = b
		default:
			rb.dir = filepath.Join(root, b)
		}
		r.bases = append(r.bases, rb)
	}
	return r
}

// maxRefDepth bounds $ref chains (and catches cycles, which jsonschema-tools' repositories do not
// have).
const maxRefDepth = 32

// docRef is where a document came from, for resolving the refs inside it.
type docRef struct {
	file string // "" for the document being materialized
	doc  any    // the document as read, for "#/..." pointers
}

// Dereference returns a copy of doc with every {"$ref": ...} replaced by what it names, as
// json-schema-ref-parser does for jsonschema-tools: the referenced value, with the $ref object's
// other members laid over it.
func (r *Resolver) Dereference(doc any) (any, error) {
	return r.walk(doc, docRef{doc: doc}, 0, "")
}

func (r *Resolver) walk(v any, from docRef, depth int, at string) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			if depth >= maxRefDepth {
				return nil, fmt.Errorf("at %s: $ref %q: more than %d references in a chain (a cycle?)", pathOrRoot(at), ref, maxRefDepth)
			}
			target, tdoc, err := r.resolve(ref, from)
			if err != nil {
				return nil, fmt.Errorf("at %s: %w", pathOrRoot(at), err)
			}
			resolved, err := r.walk(deepCopy(target), tdoc, depth+1, at)
			if err != nil {
				return nil, err
			}
			if len(t) == 1 {
				return resolved, nil
			}
			rm, ok := resolved.(map[string]any)
			if !ok {
				return resolved, nil
			}
			merged := map[string]any{}
			for k, x := range t {
				if k == "$ref" {
					continue
				}
				w, err := r.walk(x, from, depth, at+"/"+pointerToken(k))
				if err != nil {
					return nil, err
				}
				merged[k] = w
			}
			for k, x := range rm {
				if _, ok := merged[k]; !ok {
					merged[k] = x
				}
			}
			return merged, nil
		}
		out := make(map[string]any, len(t))
		for k, x := range t {
			w, err := r.walk(x, from, depth, at+"/"+pointerToken(k))
			if err != nil {
				return nil, err
			}
			out[k] = w
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			w, err := r.walk(x, from, depth, at+"/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			out[i] = w
		}
		return out, nil
	default:
		return v, nil
	}
}

func pathOrRoot(p string) string {
	if p == "" {
		return "#"
	}
	return "#" + p
}

// resolve finds what ref names, seen from the document from.
func (r *Resolver) resolve(ref string, from docRef) (any, docRef, error) {
	loc, frag, _ := strings.Cut(ref, "#")
	target := from
	// "./#/definitions/x" names the document itself: json-schema-ref-parser resolves it against
	// the document's own location.
	if loc != "" && path.Clean(loc) != "." {
		file, doc, err := r.load(loc, from)
		if err != nil {
			return nil, docRef{}, fmt.Errorf("$ref %q: %w", ref, err)
		}
		target = docRef{file: file, doc: doc}
	}
	v, ok := jsonPointer(target.doc, frag)
	if !ok {
		return nil, docRef{}, fmt.Errorf("$ref %q: no %q in %s", ref, frag, target.name())
	}
	return v, target, nil
}

func (d docRef) name() string {
	if d.file == "" {
		return "the schema"
	}
	return d.file
}

// load reads the document at loc: an absolute path is looked up under each base in turn, a
// relative one beside the document that names it, a URL under the base it starts with.
func (r *Resolver) load(loc string, from docRef) (string, any, error) {
	var tried []string
	try := func(file string) (string, any, error) {
		if doc, ok := r.docs[file]; ok {
			return file, doc, nil
		}
		real, ok := realPath(file)
		if !ok {
			tried = append(tried, file)
			return "", nil, os.ErrNotExist
		}
		doc, err := readDoc(real)
		if err != nil {
			return "", nil, err
		}
		r.docs[file] = doc
		return file, doc, nil
	}
	switch {
	case strings.Contains(loc, "://"):
		for _, b := range r.bases {
			prefix := strings.TrimSuffix(b.uri, "/") + "/"
			if !strings.HasPrefix(loc, prefix) {
				continue
			}
			if b.dir == "" {
				return "", nil, fmt.Errorf("%s is under the schema base %s, which is not mapped to a directory (--base-uri-map %s=DIR); nothing is fetched from the network", loc, b.uri, b.uri)
			}
			return try(filepath.Join(b.dir, filepath.FromSlash(path.Clean("/"+loc[len(prefix):]))))
		}
		return "", nil, fmt.Errorf("%s is under none of the schema base URIs (schemaBaseUris)", loc)
	case strings.HasPrefix(loc, "/"):
		var unmapped []string
		for _, b := range r.bases {
			if b.dir == "" {
				unmapped = append(unmapped, b.uri)
				continue
			}
			file, doc, err := try(filepath.Join(b.dir, filepath.FromSlash(path.Clean(loc))))
			if err == nil {
				return file, doc, nil
			}
			if !errors.Is(err, os.ErrNotExist) {
				return "", nil, err
			}
		}
		msg := fmt.Sprintf("not found under the schema base URIs (tried %s)", strings.Join(tried, ", "))
		if len(unmapped) > 0 {
			msg += fmt.Sprintf("; not looked up under %s, not mapped to a directory (--base-uri-map URI=DIR)", strings.Join(unmapped, ", "))
		}
		return "", nil, errors.New(msg)
	default:
		dir := "."
		if from.file != "" {
			dir = filepath.Dir(from.file)
		} else if len(r.bases) > 0 && r.bases[0].dir != "" {
			dir = r.bases[0].dir
		}
		file, doc, err := try(filepath.Join(dir, filepath.FromSlash(loc)))
		if errors.Is(err, os.ErrNotExist) {
			return "", nil, fmt.Errorf("not found (tried %s)", strings.Join(tried, ", "))
		}
		return file, doc, err
	}
}

// MaterializeDoc turns a source document (current.yaml) into the version jsonschema-tools would
// write: dereferenced, allOf merged (as json-schema-merge-allof with jsonschema-tools' options),
// numeric bounds filled in and, with shouldGenerateExample, an example when it has none
// (generateExample: json-schema-faker's choices with jsonschema-tools' fixed random source).
func MaterializeDoc(doc any, cfg *Config, res *Resolver) (any, error) {
	schema := deepCopy(doc)
	if cfg.ShouldDereference {
		_, hadExamples := asMap(doc)["examples"]
		d, err := res.Dereference(schema)
		if err != nil {
			return nil, fmt.Errorf("cannot dereference: %w", err)
		}
		m, err := mergeAllOf(d)
		if err != nil {
			return nil, fmt.Errorf("cannot merge allOf: %w", err)
		}
		if mm := asMap(m); mm != nil && !hadExamples {
			delete(mm, "examples")
		}
		schema = m
	}
	if cfg.EnforcedNumericBounds != nil {
		schema = enforceNumericBounds(deepCopy(schema), cfg.EnforcedNumericBounds)
	}
	if cfg.ShouldGenerateExample {
		if m := asMap(schema); m != nil && isEmptyValue(m["examples"]) {
			ex, err := generateExample(m, cfg)
			if err != nil {
				return nil, fmt.Errorf("cannot generate an example: %w", err)
			}
			m["examples"] = []any{ex}
		}
	}
	return schema, nil
}

// isEmptyValue is lodash's isEmpty for a decoded value.
func isEmptyValue(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	case string:
		return t == ""
	default:
		return true
	}
}

// traverseSchema visits every schema inside s as json-schema-traverse 0.4 does (the library both
// jsonschema-tools and Ajv 6 use), passing the property name or index it was reached by ("" at the
// root and through single-schema keywords) and its JSON pointer.
func traverseSchema(s any, key string, fn func(node map[string]any, key, ptr string)) {
	traverseAt(s, key, "", fn)
}

func traverseAt(s any, key, ptr string, fn func(node map[string]any, key, ptr string)) {
	m, ok := s.(map[string]any)
	if !ok {
		return
	}
	fn(m, key, ptr)
	for _, k := range sortedKeys(m) {
		sch := m[k]
		kp := ptr + "/" + pointerToken(k)
		if arr, ok := sch.([]any); ok {
			switch k {
			case "items", "allOf", "anyOf", "oneOf":
				for i, x := range arr {
					traverseAt(x, strconv.Itoa(i), kp+"/"+strconv.Itoa(i), fn)
				}
			}
			continue
		}
		switch k {
		case "definitions", "properties", "patternProperties", "dependencies":
			if pm, ok := sch.(map[string]any); ok {
				for _, p := range sortedKeys(pm) {
					traverseAt(pm[p], p, kp+"/"+pointerToken(p), fn)
				}
			}
		case "additionalItems", "items", "contains", "additionalProperties", "propertyNames", "not":
			traverseAt(sch, "", kp, fn)
		}
	}
}

func isNumericType(node map[string]any) bool {
	t, _ := node["type"].(string)
	return t == "number" || t == "integer"
}

func enforceNumericBounds(schema any, bounds []float64) any {
	traverseSchema(schema, "", func(node map[string]any, _, _ string) {
		if !isNumericType(node) {
			return
		}
		if _, ok := node["minimum"]; !ok {
			node["minimum"] = numberOf(bounds[0])
		}
		if _, ok := node["maximum"]; !ok {
			node["maximum"] = numberOf(bounds[1])
		}
	})
	return schema
}

// numberOf is f as a JSON number, written as JavaScript writes it.
func numberOf(f float64) json.Number {
	if f == float64(int64(f)) && f < 1e21 && f > -1e21 {
		return json.Number(strconv.FormatInt(int64(f), 10))
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
}
