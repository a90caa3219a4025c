package schemacache

import (
	"strings"
	"testing"
)

func TestToJSON(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got, err := toJSON([]byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if string(got) != want {
			t.Fatalf("%q:\n got %s\nwant %s", in, got, want)
		}
	}
	// Key order is kept.
	f("b: 1\na: 2\nc: 3\n", `{"b":1,"a":2,"c":3}`)
	// Dates and timestamps stay strings as written.
	f("d: 2020-01-01\nt: 2019-01-01T00:00:00Z\nh: 12:30:00\n", `{"d":"2020-01-01","t":"2019-01-01T00:00:00Z","h":"12:30:00"}`)
	f("d: !!timestamp 2020-01-01\n", `{"d":"2020-01-01"}`)
	// Numbers as js-yaml reads them; integers exact even past int64.
	f("a: 18446744073709552000\nb: 9007199254740991\nc: -9007199254740991\n", `{"a":18446744073709552000,"b":9007199254740991,"c":-9007199254740991}`)
	f("a: 1.0\nb: 1e3\nc: .5\nd: 0x1F\ne: 1_000\nf: +5\ng: -0\nh: 2.5e-7\n", `{"a":1,"b":1000,"c":0.5,"d":31,"e":1000,"f":5,"g":0,"h":2.5e-7}`)
	// Version-like and quoted scalars are strings.
	f("v: 1.0.0\nq: '5'\nr: \"1e3\"\ns: !!str 5\n", `{"v":"1.0.0","q":"5","r":"1e3","s":"5"}`)
	f("a: true\nb: false\nc: null\nd: ~\ne:\nf: yes\n", `{"a":true,"b":false,"c":null,"d":null,"e":null,"f":"yes"}`)
	// Block scalars.
	f("a: |\n  line one\n  line two\nb: >\n  folded\n  text\n", `{"a":"line one\nline two\n","b":"folded text\n"}`)
	// Anchors, aliases and merge keys.
	f("x: &m {a: 1, b: 2}\ny: *m\nz:\n  <<: *m\n  b: 3\n  c: 4\n", `{"x":{"a":1,"b":2},"y":{"a":1,"b":2},"z":{"a":1,"b":3,"c":4}}`)
	f("$id: /x\nrequired: [a, 'b']\n", `{"$id":"/x","required":["a","b"]}`)
	f("k: \"quote \\\" and \\\\ \\u2028 \\t\"\n", `{"k":"quote \" and \\ \u2028 \t"}`)
	// JSON is compacted, order and number text kept.
	f(" {\"b\": 1.50, \"a\": [1, 2]}\n", `{"b":1.50,"a":[1,2]}`)
	f("200: ok\ntrue: x\n", `{"200":"ok","true":"x"}`)
}

func TestToJSONErrors(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		_, err := toJSON([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%q: got %v, want an error containing %q", in, err, want)
		}
	}
	f("a: 1\na: 2\n", "a")
	f("a: .inf\n", "no JSON representation")
	f("a: *nope\n", "alias")
	f("a: !custom 1\n", "unknown tag")
	f("{\"a\": }", "cannot parse JSON")
	f("", "empty")
	f("a: [1, 2\n", "cannot parse YAML")
	// An alias bomb expands past the limit instead of eating memory.
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += n + ": &" + n + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = n
	}
	f(bomb, "expands to more than")
}
