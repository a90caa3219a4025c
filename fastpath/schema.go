package fastpath

import (
	"fmt"
	"strings"

	"github.com/valyala/fastjson"
)

// Validator checks one event against one compiled schema. Implementations must be safe for
// concurrent use and must not keep v or errs after returning.
type Validator interface {
	// Validate reports whether v conforms. On failure it appends every error it finds to errs.
	Validate(v *fastjson.Value, errs *Errors) bool
}

// ValidatorFunc adapts a function to Validator.
type ValidatorFunc func(v *fastjson.Value, errs *Errors) bool

// Validate calls f.
func (f ValidatorFunc) Validate(v *fastjson.Value, errs *Errors) bool { return f(v, errs) }

// AcceptAll is the compiled no-op: every value conforms. Tests and benchmarks use it to measure
// everything on the valid path except validation itself.
var AcceptAll Validator = ValidatorFunc(func(*fastjson.Value, *Errors) bool { return true })

// Schema is one compiled event schema, immutable once built and shared by every request.
type Schema struct {
	// URI is the canonical URI the schema was loaded by, for example "/test/event/1.0.0".
	URI string
	// ID is the document's $id (or draft-04 id), "" when it has none.
	ID string
	// Title is the schema's title, matched against a stream's schema_title.
	Title string
	// Doc is the schema document as JSON, as served by GET /v1/schemas.
	Doc []byte

	validator Validator
	declared  *pathNode
	defaults  *defaultsNode

	// Enrichment facts, computed once so the per-event checks are plain booleans.
	declaresMetaDT        bool
	declaresMetaID        bool
	declaresMetaRequestID bool
	declaresClientIP      bool // http.client_ip, as a property (eventgate-wikimedia's test)
	legacyDT              bool // declares dt and client_dt: legacy clients send client_dt, intake sets dt

	// parser keeps the default values alive: they are inserted into events by pointer.
	parser fastjson.Parser
}

// NewSchema builds a Schema from its JSON document (as loaded from a schema repository) and the
// validator compiled from it.
func NewSchema(uri string, doc []byte, v Validator) (*Schema, error) {
	s := &Schema{URI: uri, Doc: doc, validator: v}
	root, err := s.parser.ParseBytes(doc)
	if err != nil {
		return nil, fmt.Errorf("cannot parse schema %q: %w", uri, err)
	}
	if root.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("cannot use schema %q: the document is a JSON %s, not an object", uri, root.Type())
	}
	Settle(root)
	s.Title = string(root.GetStringBytes("title"))
	s.ID = string(root.GetStringBytes("$id"))
	if s.ID == "" {
		s.ID = string(root.GetStringBytes("id"))
	}
	s.declared = buildPathTree(root, 0)
	s.defaults = buildDefaults(root, 0)
	s.declaresMetaDT = s.Declares("meta.dt")
	s.declaresMetaID = s.Declares("meta.id")
	s.declaresMetaRequestID = s.Declares("meta.request_id")
	s.declaresClientIP = s.declaresProperty("http", "client_ip")
	s.legacyDT = s.Declares("dt") && s.Declares("client_dt")
	return s, nil
}

// Validator returns the schema's compiled validator.
func (s *Schema) Validator() Validator { return s.validator }

// Declares reports whether the schema declares the dotted field path, through "properties" or
// through a map ("additionalProperties" given as a schema). It does not allocate.
func (s *Schema) Declares(path string) bool {
	n := s.declared
	for n != nil {
		i := strings.IndexByte(path, '.')
		seg := path
		if i >= 0 {
			seg = path[:i]
		}
		next := n.props[seg]
		if next == nil {
			next = n.mapOf
		}
		if next == nil {
			return false
		}
		if i < 0 {
			return true
		}
		n = next
		path = path[i+1:]
	}
	return false
}

// declaresProperty reports whether the schema declares the path through "properties" at each step:
// no map ("additionalProperties") stands for a name.
func (s *Schema) declaresProperty(path ...string) bool {
	n := s.declared
	for i, seg := range path {
		if n == nil {
			return false
		}
		next, ok := n.props[seg]
		if !ok {
			return false
		}
		if i == len(path)-1 {
			return true
		}
		n = next
	}
	return false
}

// maxSchemaDepth bounds the walks over a schema document: a hostile or broken repository must not
// make a load recurse without end.
const maxSchemaDepth = 64

// pathNode is the tree of declared properties of an object schema.
type pathNode struct {
	props map[string]*pathNode
	mapOf *pathNode // the schema of additionalProperties, when it is one
}

func buildPathTree(schema *fastjson.Value, depth int) *pathNode {
	if schema == nil || schema.Type() != fastjson.TypeObject || depth > maxSchemaDepth {
		return nil
	}
	n := &pathNode{}
	if props := schema.GetObject("properties"); props != nil {
		n.props = make(map[string]*pathNode, props.Len())
		props.Visit(func(k []byte, v *fastjson.Value) {
			child := buildPathTree(v, depth+1)
			if child == nil {
				child = &pathNode{}
			}
			n.props[string(k)] = child
		})
	}
	if ap := schema.Get("additionalProperties"); ap != nil && ap.Type() == fastjson.TypeObject {
		n.mapOf = buildPathTree(ap, depth+1)
	}
	return n
}

// Settle reads every value of a parsed document once. fastjson unescapes strings and object keys
// lazily, in place, on first read; a document shared by concurrent requests (default values, a
// schema kept for rendering errors) must take that first write before it is published.
func Settle(v *fastjson.Value) { settle(v, 0) }

// maxSettleDepth bounds Settle's walk; documents are parsed from schema repositories, not clients.
const maxSettleDepth = 256

func settle(v *fastjson.Value, depth int) {
	if v == nil || depth > maxSettleDepth {
		return
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(_ []byte, c *fastjson.Value) { settle(c, depth+1) })
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, c := range a {
			settle(c, depth+1)
		}
	}
}
