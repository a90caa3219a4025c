package edge

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/valyala/fasthttp"

	"intake.dev/intake/schemacache"
)

// The listing's page sizes: ?limit= defaults to defaultSchemaPage, at most maxSchemaPage.
const (
	defaultSchemaPage = 100
	maxSchemaPage     = 1000
)

// schemaTitleDoc is one title in GET /v1/schemas and the whole of GET /v1/schemas/{title}.
type schemaTitleDoc struct {
	Title    string   `json:"title"`
	Versions []string `json:"versions"`
	// Latest is the greatest version, the one $schema /<title>/latest names.
	Latest string `json:"latest"`
}

func schemaTitle(tv schemacache.TitleVersions) schemaTitleDoc {
	return schemaTitleDoc{Title: tv.Title, Versions: tv.Versions, Latest: tv.Versions[len(tv.Versions)-1]}
}

// handleSchemaList is GET /v1/schemas: the titles and versions of the edge's schema repositories
// (its directory bases, schemacache.Cache.Catalog), by title, a page at a time: ?limit= titles
// (defaultSchemaPage, 1 to maxSchemaPage) after the title ?after= (none: from the first). The
// answer is {"schemas": [{"title", "versions", "latest"}, ...]}, with "next", the path of the
// next page, while titles remain. Each page has an ETag (If-None-Match answers 304).
func (s *Server) handleSchemaList(ctx *fasthttp.RequestCtx) int {
	args := ctx.QueryArgs()
	limit := defaultSchemaPage
	if args.Has("limit") {
		n, err := strconv.Atoi(string(args.Peek("limit")))
		if err != nil || n < 1 || n > maxSchemaPage {
			return s.respondError(ctx, fasthttp.StatusBadRequest,
				"limit must be a number of titles from 1 to "+itoa(maxSchemaPage))
		}
		limit = n
	}
	after := string(args.Peek("after"))
	page, more := s.cache.Catalog().Page(after, limit)
	doc := struct {
		Schemas []schemaTitleDoc `json:"schemas"`
		Next    string           `json:"next,omitempty"`
	}{Schemas: make([]schemaTitleDoc, 0, len(page))}
	for _, tv := range page {
		doc.Schemas = append(doc.Schemas, schemaTitle(tv))
	}
	if more {
		doc.Next = schemasPath + "?limit=" + itoa(limit) + "&after=" + url.QueryEscape(page[len(page)-1].Title)
	}
	return respondCached(ctx, doc, "public, max-age=60")
}

// respondCached answers v as JSON with an ETag of its bytes, or 304 when If-None-Match names it.
func respondCached(ctx *fasthttp.RequestCtx, v any, cacheControl string) int {
	// Not json.Marshal: it writes the next page's & as \u0026.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("BUG: cannot marshal a response: " + err.Error())
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if notModified(ctx, hashOf(b), cacheControl) {
		return fasthttp.StatusNotModified
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
	return fasthttp.StatusOK
}
