package fastpath

import (
	"testing"

	"github.com/valyala/fastjson"
)

// BenchmarkValidateReal measures the compiled program on real events, alone and with the parse.
// Targets (issue 3): 0 allocs/op, parse + validate <= 2.5 us for the typical event; the ratio to
// kaptinlin (>= 50x) is read in bench/ (make bench: Validate/*), where the reference validator
// schemacache builds runs beside it in one run.
func BenchmarkValidateReal(b *testing.B) {
	for _, c := range []struct{ name, title, version string }{
		{"revision-create", "mediawiki/revision/create", "2.0.0"},
		{"navigationtiming", "analytics/legacy/navigationtiming", "1.7.0"},
	} {
		s := realSchema(b, c.title, c.version)
		var ep fastjson.Parser
		ev := realExampleEvents(b, &ep, c.title, c.version)[0]
		s.defaults.apply(ev)
		event := AppendJSON(nil, ev)
		reportRate := func(b *testing.B) {
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		}
		b.Run(c.name+"/compiled", func(b *testing.B) {
			var p fastjson.Parser
			v, err := p.ParseBytes(event)
			if err != nil {
				b.Fatal(err)
			}
			var errs Errors
			b.ReportAllocs()
			b.SetBytes(int64(len(event)))
			for b.Loop() {
				if !s.Validator().Validate(v, &errs) {
					b.Fatal(errs.Text())
				}
			}
			reportRate(b)
		})
		b.Run(c.name+"/parse+compiled", func(b *testing.B) {
			var p fastjson.Parser
			var errs Errors
			b.ReportAllocs()
			b.SetBytes(int64(len(event)))
			for b.Loop() {
				v, err := p.ParseBytes(event)
				if err != nil {
					b.Fatal(err)
				}
				if !s.Validator().Validate(v, &errs) {
					b.Fatal(errs.Text())
				}
			}
			reportRate(b)
		})
	}
}

// BenchmarkValidateInvalid measures an invalid real event: the verdict, then the report in Ajv's
// order, with no allocation below the cap.
func BenchmarkValidateInvalid(b *testing.B) {
	s := realSchema(b, "mediawiki/revision/create", "2.0.0")
	var ep fastjson.Parser
	ev := realExampleEvents(b, &ep, "mediawiki/revision/create", "2.0.0")[0]
	ev.Set("rev_id", fastjson.MustParse(`"one"`))
	ev.Get("meta").Set("dt", fastjson.MustParse(`"yesterday"`))
	ev.Del("page_title")
	event := AppendJSON(nil, ev)
	var p fastjson.Parser
	v, err := p.ParseBytes(event)
	if err != nil {
		b.Fatal(err)
	}
	var errs Errors
	b.ReportAllocs()
	b.SetBytes(int64(len(event)))
	for b.Loop() {
		errs.reset()
		if s.Validator().Validate(v, &errs) {
			b.Fatal("valid")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
