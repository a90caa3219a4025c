package bench

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fastjson"

	"intake.dev/intake/fastpath"
	"intake.dev/intake/schemacache"
)

// BenchmarkCompress is what the producer's compression costs per event: franz-go's own compressor
// (kgo.DefaultCompressor, the code the producer runs) on a record batch's worth of events, for
// each --kafka-compression codec, at the batch sizes franz-go builds from single sync events (a
// few records per produce request) and from 100-event requests. The events are one example
// processed again for each record (own meta.id, meta.dt), as the records of one stream are alike.
// Each line also reports the compression ratio (input bytes / output bytes).
func BenchmarkCompress(b *testing.B) { runCases(b, compressCases()) }

// compressCodecs are the codecs of kafkaout.Config.Compression, built as kafkaout builds them.
var compressCodecs = []struct {
	name  string
	codec kgo.CompressionCodec
}{
	{"zstd", kgo.ZstdCompression()},
	{"zstd-fastest", kgo.ZstdCompression().WithLevel(int(zstd.SpeedFastest))},
	{"lz4", kgo.Lz4Compression()},
	{"snappy", kgo.SnappyCompression()},
	{"gzip", kgo.GzipCompression()},
}

func compressCases() []benchCase {
	var cases []benchCase
	for _, e := range eventCases {
		for _, n := range []int{4, 100} {
			for _, c := range compressCodecs {
				held := (n == 4 && c.name == "lz4") || (n == 100 && c.name == "zstd-fastest") // "auto"'s two halves
				cases = append(cases, benchCase{name: fmt.Sprintf("%s-x%d/%s", e.name, n, c.name), baseline: !held, fn: func(b *testing.B) {
					src := e.recordBatch(b, n)
					comp, err := kgo.DefaultCompressor(c.codec)
					if err != nil {
						b.Fatal(err)
					}
					var dst bytes.Buffer
					var out []byte
					op := func() {
						dst.Reset()
						out, _ = comp.Compress(&dst, src)
					}
					warm(b, 100, 0, op)
					if len(out) == 0 {
						b.Fatal("the compressor gave nothing")
					}
					b.ReportAllocs()
					b.SetBytes(int64(len(src)))
					m := startMeter(0)
					k := 0
					for b.Loop() {
						op()
						k++
					}
					m.report(b, k*n)
					b.ReportMetric(float64(len(src))/float64(len(out)), "ratio")
				}})
			}
		}
	}
	return cases
}

// recordBatch is n records' values of the event, each processed on its own (own meta.id and
// meta.dt), concatenated with a few bytes between them standing for the record framing.
func (e *eventCase) recordBatch(tb testing.TB, n int) []byte {
	c := compiledCache.get(tb, func() (*schemacache.Cache, error) { return newCache(false) })
	var out []byte
	var p fastjson.Parser
	hdr := requestHeaders()
	o := fastpath.DefaultOptions()
	for i := range n {
		v, err := p.ParseBytes(e.bytes(tb))
		if err != nil {
			tb.Fatal(err)
		}
		req := fastpath.AcquireRequest()
		req.Start(time.Now(), hdr.Peek("X-Request-Id"), hdr)
		var r fastpath.Result
		fastpath.Process(c.Current(), &o, v, req, &r)
		if r.Outcome != fastpath.Accepted {
			tb.Fatalf("%s: not accepted: %s", e.name, r.Errors.Text())
		}
		out = append(out, byte(i), 0, byte(len(r.Key)))
		out = append(out, r.Key...)
		out = append(out, r.Value...)
		fastpath.ReleaseRequest(req)
	}
	return out
}
