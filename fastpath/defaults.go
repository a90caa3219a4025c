package fastpath

import "github.com/valyala/fastjson"

// defaultsNode is the default-filling program of an object schema: Ajv's useDefaults, as EventGate
// configures it, inserts a property's "default" wherever the event lacks that property.
type defaultsNode struct {
	fill  []defaultField // properties with a default
	props []childDefault // properties whose own schema fills defaults deeper down
	items *defaultsNode  // the schema of every array element ("items" given as one schema)
}

type defaultField struct {
	key   string
	value *fastjson.Value // shared by all events: never modified once built
}

type childDefault struct {
	key  string
	node *defaultsNode
}

func buildDefaults(schema *fastjson.Value, depth int) *defaultsNode {
	if schema == nil || schema.Type() != fastjson.TypeObject || depth > maxSchemaDepth {
		return nil
	}
	n := &defaultsNode{}
	if props := schema.GetObject("properties"); props != nil {
		props.Visit(func(k []byte, v *fastjson.Value) {
			if d := v.Get("default"); d != nil {
				n.fill = append(n.fill, defaultField{key: string(k), value: d})
			}
			if child := buildDefaults(v, depth+1); child != nil {
				n.props = append(n.props, childDefault{key: string(k), node: child})
			}
		})
	}
	if items := schema.Get("items"); items != nil && items.Type() == fastjson.TypeObject {
		n.items = buildDefaults(items, depth+1)
	}
	if len(n.fill) == 0 && len(n.props) == 0 && n.items == nil {
		return nil
	}
	return n
}

// apply fills the defaults into v. Nested defaults are filled before the node's own, so a value
// inserted from a default (shared by every event) is never descended into and never modified.
func (n *defaultsNode) apply(v *fastjson.Value) {
	if n == nil || v == nil {
		return
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		for i := range n.props {
			n.props[i].node.apply(o.Get(n.props[i].key))
		}
		for i := range n.fill {
			if o.Get(n.fill[i].key) == nil {
				o.Set(n.fill[i].key, n.fill[i].value)
			}
		}
	case fastjson.TypeArray:
		if n.items == nil {
			return
		}
		a, _ := v.Array()
		for _, e := range a {
			n.items.apply(e)
		}
	}
}
