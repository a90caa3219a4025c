package schemacache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/VictoriaMetrics/metrics"
	"github.com/kaptinlin/jsonschema"
	"github.com/valyala/fastjson"

	"intake.dev/intake/fastpath"
)

// refScheme names schemas by their path under the bases while kaptinlin compiles: a document
// "/test/event/1.0.0" is compiled as refScheme+"/test/event/1.0.0", so its "$id" and any "$ref"
// like "/fragment/common/1.0.0" resolve into the bases, never onto the network.
const refScheme = "schemarepo"

const refPrefix = refScheme + "://repo/"

// compileSchema builds the fastpath schema of one document (compact JSON, as converted by toJSON).
func (c *Cache) compileSchema(ref schemaRef, doc []byte) (*fastpath.Schema, error) {
	v, err := c.validatorFor(ref, doc)
	if err != nil {
		return nil, err
	}
	s, err := fastpath.NewSchema(ref.canonical, doc, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSchemaInvalid, err)
	}
	return s, nil
}

var (
	validatorsCompiled = metrics.NewCounter(`intake_schema_validators_total{kind="compiled"}`)
	validatorsFallback = metrics.NewCounter(`intake_schema_validators_total{kind="fallback"}`)
)

// validatorFor compiles doc twice. kaptinlin, the reference, checks the schema at load time (a
// schema it refuses is not used) and stays as the fallback; the fastpath program, compiled from the
// same document, validates the events. A schema the program cannot compile (a keyword it does not
// implement) falls back to kaptinlin, counted and logged once: slower, never a wrong verdict.
func (c *Cache) validatorFor(ref schemaRef, doc []byte) (fastpath.Validator, error) {
	if c.cfg.ValidatorFor != nil {
		return c.cfg.ValidatorFor(ref.canonical, doc)
	}
	reference, err := c.compileValidator(ref, doc)
	if err != nil {
		return nil, err
	}
	prog, err := fastpath.Compile(doc, fastpath.CompileOptions{
		FormatMode: c.cfg.FormatMode,
		BaseURI:    refPrefix + ref.stem,
		Resolve:    c.resolveRef,
	})
	if err != nil {
		if err := c.addJSReading(ref, doc, reference); err != nil {
			return nil, err
		}
		validatorsFallback.Inc()
		c.log.Warn("schema validated by the reference validator, which is much slower: the compiled validator cannot take it",
			"schema", ref.canonical, "reason", err)
		return reference, nil
	}
	validatorsCompiled.Inc()
	return prog, nil
}

// ReferenceValidator compiles the schema at uri with kaptinlin, as at load time: the validator a
// schema falls back to. For benchmarks and tests that set the compiled program beside it.
func (c *Cache) ReferenceValidator(uri string) (fastpath.Validator, error) {
	s, err := c.LoadSchema(uri)
	if err != nil {
		return nil, err
	}
	ref, err := c.res.parse(uri)
	if err != nil {
		return nil, err
	}
	return c.fallbackValidator(ref, s.Doc)
}

// fallbackValidator compiles the kaptinlin validator a schema falls back to: both readings of
// numbers, as the compiled program has them.
func (c *Cache) fallbackValidator(ref schemaRef, doc []byte) (*validator, error) {
	v, err := c.compileValidator(ref, doc)
	if err != nil {
		return nil, err
	}
	if err := c.addJSReading(ref, doc, v); err != nil {
		return nil, err
	}
	return v, nil
}

// addJSReading compiles v's second kaptinlin schema: the document, and every document its $refs
// load, with their numbers as JavaScript reads them (fastpath.AppendJSReading), as Ajv 6 reads a
// schema. Only a validator that validates events needs it (see validator.Validate); the load-time
// check does without.
func (c *Cache) addJSReading(ref schemaRef, doc []byte, v *validator) error {
	kdoc, err := dedupeIDs(doc)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSchemaInvalid, ref.canonical, err)
	}
	if kdoc, err = jsReading(kdoc); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSchemaInvalid, ref.canonical, err)
	}
	ks, err := c.compileKaptinlin(ref, kdoc, func(uri string) (io.ReadCloser, error) {
		doc, err := c.resolveRef(uri)
		if err == nil {
			doc, err = jsReading(doc)
		}
		if err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(doc)), nil
	})
	if err != nil {
		return fmt.Errorf("%w: %s, numbers as JavaScript reads them: %w", ErrSchemaInvalid, ref.canonical, err)
	}
	v.js = ks
	return nil
}

// jsReading returns a JSON document with its numbers as JavaScript reads them.
func jsReading(doc []byte) ([]byte, error) {
	var p fastjson.Parser
	root, err := p.ParseBytes(doc)
	if err != nil {
		return nil, err
	}
	return fastpath.AppendJSReading(nil, root), nil
}

func (c *Cache) compileValidator(ref schemaRef, doc []byte) (*validator, error) {
	// The rendering copy: errors are worded from the schema as written.
	v := &validator{}
	root, err := v.parser.ParseBytes(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot parse %s: %w", ErrSchemaInvalid, ref.canonical, err)
	}
	if root.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("%w: %s is a JSON %s, not a schema object", ErrSchemaInvalid, ref.canonical, root.Type())
	}
	fastpath.Settle(root)
	v.doc = root

	kdoc, err := dedupeIDs(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSchemaInvalid, ref.canonical, err)
	}
	ks, err := c.compileKaptinlin(ref, kdoc, c.refLoader())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSchemaInvalid, ref.canonical, err)
	}
	v.schema = ks
	return v, nil
}

// compileKaptinlin compiles kdoc with kaptinlin, loading what its $refs name through load.
func (c *Cache) compileKaptinlin(ref schemaRef, kdoc []byte, load func(string) (io.ReadCloser, error)) (*jsonschema.Schema, error) {
	// A fresh compiler per document: the repositories repeat nested $ids with different content
	// across files, which one shared compiler would mix up (or refuse as conflicts).
	comp := jsonschema.NewCompiler()
	comp.SetAssertFormat(true)
	// Its default http(s) loaders go to the network at compile time. Every scheme a $ref can use
	// resolves through the same resolver as event URIs: inside the bases or not at all.
	clear(comp.Loaders)
	for _, scheme := range []string{"http", "https", "file", refScheme} {
		comp.RegisterLoader(scheme, load)
	}
	if c.fastFormats {
		for name, fn := range fastFormats {
			comp.RegisterFormat(name, fn, "string")
		}
	}
	return comp.Compile(kdoc, refPrefix+ref.stem)
}

// refLoader loads the documents a $ref names for kaptinlin, through the resolver.
func (c *Cache) refLoader() func(string) (io.ReadCloser, error) {
	return func(uri string) (io.ReadCloser, error) {
		doc, err := c.resolveRef(uri)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(doc)), nil
	}
}

// resolveRef returns the JSON document a $ref names: inside the bases or not at all.
func (c *Cache) resolveRef(uri string) ([]byte, error) {
	name := uri
	if strings.HasPrefix(uri, refPrefix) {
		name = "/" + strings.TrimPrefix(uri, refPrefix)
	}
	ref, err := c.res.parse(name)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve $ref %q: %w", uri, err)
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.httpTimeout)
	defer cancel()
	f, err := c.res.fetch(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve $ref %q: %w", uri, err)
	}
	doc, err := toJSON(f.data)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve $ref %q: %s: %w", uri, f.location, err)
	}
	return doc, nil
}

// dedupeIDs returns doc with repeated "$id"s of embedded schemas removed, keeping the last one as
// Ajv 6 does (a later $id overwrites the earlier in its ref table). Ajv 6 accepts such documents
// and the real repositories have them; kaptinlin refuses them as conflicting resources. Only the
// copy kaptinlin compiles is changed.
func dedupeIDs(doc []byte) ([]byte, error) {
	var p fastjson.Parser
	root, err := p.ParseBytes(doc)
	if err != nil {
		return nil, err
	}
	type occurrence struct {
		o   *fastjson.Object
		key string
	}
	byID := make(map[string][]occurrence)
	dup := false
	walkSchemas(root, 0, func(o *fastjson.Object, isRoot bool) {
		for _, key := range [...]string{"$id", "id"} {
			idv := o.Get(key)
			if idv == nil || idv.Type() != fastjson.TypeString {
				continue
			}
			id := strings.TrimSuffix(string(idv.GetStringBytes()), "#")
			if id == "" {
				continue
			}
			if isRoot {
				// The root keeps its id: it names the document. It is visited first.
				byID[id] = append(byID[id], occurrence{})
			} else {
				byID[id] = append(byID[id], occurrence{o: o, key: key})
			}
			if len(byID[id]) > 1 {
				dup = true
			}
		}
	})
	if !dup {
		return doc, nil
	}
	for _, occ := range byID {
		if len(occ) < 2 {
			continue
		}
		keep := len(occ) - 1
		if occ[0].o == nil {
			keep = 0
		}
		for i, oc := range occ {
			if i != keep && oc.o != nil {
				oc.o.Del(oc.key)
			}
		}
	}
	return fastpath.AppendJSON(nil, root), nil
}

// walkSchemas calls fn for every schema object in a schema document: the root and everything
// under the keywords that hold schemas. Values under "examples", "default", "enum", "const" are
// data, not schemas, and are not visited.
func walkSchemas(v *fastjson.Value, depth int, fn func(o *fastjson.Object, isRoot bool)) {
	if v == nil || depth > 256 || v.Type() != fastjson.TypeObject {
		return
	}
	o, _ := v.Object()
	fn(o, depth == 0)
	o.Visit(func(k []byte, c *fastjson.Value) {
		switch string(k) {
		case "properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "dependencies":
			if co, err := c.Object(); err == nil {
				co.Visit(func(_ []byte, s *fastjson.Value) { walkSchemas(s, depth+1, fn) })
			}
		case "additionalProperties", "additionalItems", "contains", "propertyNames", "not", "if", "then", "else",
			"unevaluatedProperties", "unevaluatedItems", "contentSchema":
			walkSchemas(c, depth+1, fn)
		case "items", "allOf", "anyOf", "oneOf", "prefixItems":
			if c.Type() == fastjson.TypeArray {
				a, _ := c.Array()
				for _, s := range a {
					walkSchemas(s, depth+1, fn)
				}
			} else {
				walkSchemas(c, depth+1, fn)
			}
		}
	})
}
