package edge

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"
)

// errTooLarge is returned when a decompressed body exceeds its limit.
var errTooLarge = errors.New("too large")

var utf8BOM = []byte("\xef\xbb\xbf")

// gzipRatioFloor is the decompressed size up to which Config.MaxGzipRatio is not checked: a small
// body costs little however well it compresses, and a few identical events compress a lot.
const gzipRatioFloor = 64 << 10

// gunzipLimit is the most a gzip body of n bytes may decompress to: MaxDecompressedBytes, and
// MaxGzipRatio times n once past gzipRatioFloor.
func (s *Server) gunzipLimit(n int) int {
	limit := s.cfg.MaxDecompressedBytes
	if r := s.cfg.MaxGzipRatio; r > 0 && n < limit/r {
		limit = max(n*r, gzipRatioFloor)
		limit = min(limit, s.cfg.MaxDecompressedBytes)
	}
	return limit
}

// mediaTypeOK reports whether a request's Content-Type is one intake reads as JSON events:
// application/json, text/plain (browser beacons, which cannot set a type without a CORS preflight),
// application/reports+json (the Reporting API), or none at all.
func mediaTypeOK(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	switch {
	case len(ct) == 0,
		bytes.EqualFold(ct, []byte("application/json")),
		bytes.EqualFold(ct, []byte("text/plain")),
		bytes.EqualFold(ct, []byte("application/reports+json")):
		return true
	}
	return false
}

type gzipReader struct {
	zr  *gzip.Reader
	src bytes.Reader
}

var gzipReaderPool sync.Pool

// Gunzip appends the decompressed gzip body to dst, reading at most limit bytes of output (beyond
// it, an error). Readers are pooled; it does not allocate once warm. Exported for bench/.
func Gunzip(dst, body []byte, limit int) ([]byte, error) {
	g, _ := gzipReaderPool.Get().(*gzipReader)
	if g == nil {
		g = &gzipReader{}
	}
	defer gzipReaderPool.Put(g)
	g.src.Reset(body)
	var err error
	if g.zr == nil {
		g.zr, err = gzip.NewReader(&g.src)
	} else {
		err = g.zr.Reset(&g.src)
	}
	if err != nil {
		return dst, err
	}
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := g.zr.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst) > limit {
			return dst, errTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// contentEncoding returns the request's Content-Encoding, trimmed; compare it ignoring case.
func contentEncoding(h *fasthttp.RequestHeader) []byte {
	return bytes.TrimSpace(h.ContentEncoding())
}
