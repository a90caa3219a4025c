package schemacache

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/valyala/fastjson"

	"intake.dev/intake/fastpath"
)

func BenchmarkSnapshotStream(b *testing.B) {
	c := newCache(b, Config{SchemaBaseURIs: []string{primaryRepo}, TopicPrefix: "eqiad."})
	snap := c.Current()
	for _, name := range []string{"mediawiki.page_change.v1", "mediawiki.job.refreshLinks"} {
		b.Run(name, func(b *testing.B) {
			n := []byte(name)
			snap.Stream(n)
			b.ReportAllocs()
			b.SetBytes(int64(len(n)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if snap.Stream(n) == nil {
						panic("BUG: stream not found")
					}
				}
			})
		})
	}
}

func BenchmarkSnapshotSchema(b *testing.B) {
	c := realCache(b)
	snap := c.Current()
	uri := []byte("/mediawiki/revision/create/2.0.0")
	if _, err := snap.Schema(uri); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(uri)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := snap.Schema(uri); err != nil {
				panic(err)
			}
		}
	})
}

// BenchmarkValidate measures the kaptinlin-backed validator on a real valid event, with kaptinlin
// alone (decoding the same JSON) as the baseline.
func BenchmarkValidate(b *testing.B) {
	c := realCache(b)
	const uri = "/mediawiki/revision/create/2.0.0"
	s, err := c.LoadSchema(uri)
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(examplesDir + "/mediawiki.revision.create/2.0.0.json")
	if err != nil {
		b.Fatal(err)
	}
	var events []json.RawMessage
	if err := json.Unmarshal(data, &events); err != nil || len(events) == 0 {
		b.Fatal(err)
	}
	event := []byte(events[0])
	b.Run("validator", func(b *testing.B) {
		var p fastjson.Parser
		v, err := p.ParseBytes(event)
		if err != nil {
			b.Fatal(err)
		}
		var errs fastpath.Errors
		b.ReportAllocs()
		b.SetBytes(int64(len(event)))
		for b.Loop() {
			if !s.Validator().Validate(v, &errs) {
				b.Fatal(errs.Text())
			}
		}
	})
	b.Run("kaptinlin", func(b *testing.B) {
		ks := s.Validator().(*validator).schema
		b.ReportAllocs()
		b.SetBytes(int64(len(event)))
		for b.Loop() {
			if !ks.ValidateJSON(event).IsValid() {
				b.Fatal("invalid")
			}
		}
	})
}
