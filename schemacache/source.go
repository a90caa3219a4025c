package schemacache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Errors a schema lookup can fail with; match them with errors.Is.
var (
	// ErrSchemaNotFound: no configured base holds the schema.
	ErrSchemaNotFound = errors.New("schema not found")
	// ErrSchemaRefused: the URI is malformed or points outside the configured bases; it is never
	// fetched.
	ErrSchemaRefused = errors.New("schema URI refused")
	// ErrSchemaInvalid: the document was found but is not a schema that compiles.
	ErrSchemaInvalid = errors.New("schema does not compile")
)

const maxURILength = 512

// base is one configured schema base URI: a local directory or an http(s) prefix.
type base struct {
	raw    string // as configured, for messages
	prefix string // what absolute URIs under this base start with, ending in "/"
	dir    string // local directory; "" for http(s)
}

// resolver turns the schema URIs events name into documents, only ever reading inside the
// configured bases.
type resolver struct {
	bases  []base
	client *http.Client
	ids    idIndex
}

func newResolver(uris []string, timeout time.Duration) (*resolver, error) {
	if len(uris) == 0 {
		return nil, &ConfigError{Pkg: "schemacache", Field: "SchemaBaseURIs", Reason: "no schema base URI; want a directory or http(s) URL of a schema repository"}
	}
	r := &resolver{}
	for _, u := range uris {
		b, err := parseBase(u)
		if err != nil {
			return nil, err
		}
		r.bases = append(r.bases, b)
	}
	r.client = &http.Client{
		Timeout: timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if !r.underBases(req.URL.String()) {
				return fmt.Errorf("refusing a redirect to %s, outside the configured schema bases (--schema-base-uri)", req.URL.Redacted())
			}
			return nil
		},
	}
	return r, nil
}

func parseBase(raw string) (base, error) {
	u := strings.TrimSpace(raw)
	if u == "" {
		return base{}, &ConfigError{Pkg: "schemacache", Field: "SchemaBaseURIs", Value: raw, Reason: "empty; want a directory or http(s) URL"}
	}
	switch {
	case strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://"):
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" {
			return base{}, &ConfigError{Pkg: "schemacache", Field: "SchemaBaseURIs", Value: raw, Reason: "want http(s)://host/path", Err: err}
		}
		if pu.RawQuery != "" || pu.Fragment != "" {
			return base{}, &ConfigError{Pkg: "schemacache", Field: "SchemaBaseURIs", Value: raw, Reason: "a schema base URI may not have a query or fragment"}
		}
		return base{raw: raw, prefix: strings.TrimSuffix(u, "/") + "/"}, nil
	case strings.HasPrefix(u, "file://"):
		pu, err := url.Parse(u)
		if err != nil || (pu.Host != "" && pu.Host != "localhost") {
			return base{}, &ConfigError{Pkg: "schemacache", Field: "SchemaBaseURIs", Value: raw, Reason: "want file:///absolute/dir"}
		}
		return dirBase(raw, pu.Path)
	case hasScheme(u) && !filepath.IsAbs(u):
		return base{}, &ConfigError{Pkg: "schemacache", Field: "SchemaBaseURIs", Value: raw, Reason: "only directories, file:// and http(s):// are supported"}
	default:
		return dirBase(raw, u)
	}
}

func dirBase(raw, dir string) (base, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return base{}, &ConfigError{Pkg: "schemacache", Field: "SchemaBaseURIs", Value: raw, Err: err}
	}
	st, err := os.Stat(abs)
	if err != nil {
		return base{}, &ConfigError{Pkg: "schemacache", Field: "SchemaBaseURIs", Value: raw, Err: err}
	}
	if !st.IsDir() {
		return base{}, &ConfigError{Pkg: "schemacache", Field: "SchemaBaseURIs", Value: raw, Reason: "not a directory"}
	}
	return base{raw: raw, prefix: "file://" + filepath.ToSlash(abs) + "/", dir: abs}, nil
}

// schemaRef is a schema URI checked and split into what to fetch.
type schemaRef struct {
	// canonical is the store key: "/test/event/1.0.0" for a relative URI, the base-qualified URI
	// (without extension) for an absolute one.
	canonical string
	// stem is the path under the bases without extension: "test/event/1.0.0".
	stem string
	// candidates are the paths relative to a base to try in order.
	candidates []string
	// baseIdx restricts the lookup to one base (absolute URIs); -1 tries every base in order.
	baseIdx int
}

// parse checks an event's (or a $ref's) schema URI. It never does I/O.
func (r *resolver) parse(uri string) (schemaRef, error) {
	refuse := func(why string) (schemaRef, error) {
		return schemaRef{}, fmt.Errorf("%w: it %s", ErrSchemaRefused, why)
	}
	if len(uri) > maxURILength {
		return refuse(fmt.Sprintf("is longer than %d bytes", maxURILength))
	}
	rel := uri
	baseIdx := -1
	if hasScheme(uri) {
		baseIdx = r.baseOf(uri)
		if baseIdx < 0 {
			return refuse("is outside the configured schema bases (--schema-base-uri), so it is never fetched")
		}
		rel = uri[len(r.bases[baseIdx].prefix):]
	}
	if strings.HasPrefix(rel, "//") {
		return refuse("is a network-path reference; use a path under the schema bases")
	}
	rel = strings.TrimPrefix(rel, "/")
	if rel == "" {
		return refuse("names no schema")
	}
	for i := 0; i < len(rel); i++ {
		if !uriPathChar(rel[i]) {
			return refuse(fmt.Sprintf("contains %q, which schema URIs may not contain", rel[i]))
		}
	}
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case "":
			return refuse("has an empty path segment")
		case ".", "..":
			return refuse("has a dot segment")
		}
	}
	ref := schemaRef{baseIdx: baseIdx}
	stem := rel
	if ext := path.Ext(rel); ext == ".json" || ext == ".yaml" || ext == ".yml" {
		stem = strings.TrimSuffix(rel, ext)
		ref.candidates = []string{rel}
	} else {
		ref.candidates = []string{rel, rel + ".yaml", rel + ".json"}
	}
	ref.stem = stem
	if baseIdx < 0 {
		ref.canonical = "/" + stem
	} else {
		ref.canonical = r.bases[baseIdx].prefix + stem
	}
	return ref, nil
}

// uriPathChar reports whether c may appear in a schema path. Deliberately narrow: no '%' (no
// second decoding on a server), no '?' or '#', no backslash, no spaces or controls.
func uriPathChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '/', '.', '_', '-', '~', '+', '@', '=', ',':
		return true
	}
	return false
}

func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

// baseOf returns the index of the base an absolute URI lies under, or -1.
func (r *resolver) baseOf(uri string) int {
	for i, b := range r.bases {
		if strings.HasPrefix(uri, b.prefix) {
			return i
		}
	}
	return -1
}

func (r *resolver) underBases(uri string) bool { return r.baseOf(uri) >= 0 }

// fetched is a document read from a base.
type fetched struct {
	data     []byte
	location string // where it was read, for messages
	base     int    // index of the base it was read from
	rel      string // its path under that base, as first asked for (before alias entries)
	// link is the target of a symlink in a directory base, read instead of data; fetchAlias
	// follows it, so what fetch returns never has one.
	link string
}

// fetch reads the first candidate that exists, following the alias entries the repositories keep
// ("latest" -> "1.0.0.yaml"; see fetchAlias). Not found everywhere: an error
// wrapping ErrSchemaNotFound, unless some base failed otherwise (then that error, so a base that
// is down is not mistaken for a missing schema).
func (r *resolver) fetch(ctx context.Context, ref schemaRef) (fetched, error) {
	bases := r.bases
	first := 0
	if ref.baseIdx >= 0 {
		bases = r.bases[ref.baseIdx : ref.baseIdx+1]
		first = ref.baseIdx
	}
	var failure error
	for i := range bases {
		b := &r.bases[first+i]
		for _, cand := range ref.candidates {
			f, err := r.fetchAlias(ctx, b, cand)
			if err == nil {
				f.base, f.rel = first+i, cand
				return f, nil
			}
			if !errors.Is(err, fs.ErrNotExist) && failure == nil {
				failure = err
			}
		}
	}
	if failure != nil {
		return fetched{}, failure
	}
	// No document at that path: a document whose $id is that URI, as Ajv (and so EventGate)
	// finds schemas by $id too. Paths win, so a $id cannot take over an existing path.
	if ref.baseIdx < 0 {
		if t, ok := r.ids.lookup(r, ref.canonical); ok {
			f, err := r.fetchAlias(ctx, &r.bases[t.base], t.rel)
			if err == nil {
				f.base, f.rel = t.base, t.rel
				return f, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return fetched{}, err
			}
		}
	}
	var where []string
	for i := range bases {
		where = append(where, bases[i].raw)
	}
	return fetched{}, fmt.Errorf("%w: tried %s under %s (--schema-base-uri)", ErrSchemaNotFound,
		strings.Join(ref.candidates, ", "), strings.Join(where, ", "))
}

const maxAliasHops = 4

// fetchAlias reads rel under b, following alias entries: in a git checkout of a schema repository
// they are symlinks ("latest" -> "1.0.0.yaml"); where symlinks are not kept (core.symlinks=false,
// a copy of git's blobs, a server of the raw blobs) they are files holding their target's name.
// Both are followed alike, relative to the entry's directory, at most maxAliasHops in a row and
// never out of the base, so either layout loads the same documents.
func (r *resolver) fetchAlias(ctx context.Context, b *base, rel string) (fetched, error) {
	for hop := 0; ; hop++ {
		f, err := r.fetchOne(ctx, b, rel)
		if err != nil {
			return f, err
		}
		target, ok := f.link, f.link != ""
		if !ok {
			target, ok = aliasTarget(f.data)
		}
		if !ok {
			return f, nil
		}
		if hop >= maxAliasHops {
			return fetched{}, fmt.Errorf("cannot read schema %s: more than %d alias entries in a row", f.location, maxAliasHops)
		}
		next := path.Join(path.Dir(rel), target)
		if path.IsAbs(target) || next == ".." || strings.HasPrefix(next, "../") {
			return fetched{}, fmt.Errorf("%w: %s links to %s, outside the schema base %s (--schema-base-uri)", ErrSchemaRefused, f.location, target, b.raw)
		}
		rel = next
	}
}

// aliasTarget recognizes an alias file: a git symlink checked out as a file holds just the name of
// a sibling ("1.0.0.yaml"). No schema document looks like that. A symlink may name any path; a file
// is an alias only when it names a sibling, so a file holding "../x.yaml" is read as a document.
func aliasTarget(data []byte) (string, bool) {
	if len(data) == 0 || len(data) > 255 {
		return "", false
	}
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" || s == "." || s == ".." {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "", false
		}
	}
	return s, true
}

func (r *resolver) fetchOne(ctx context.Context, b *base, rel string) (fetched, error) {
	if b.dir == "" {
		return r.fetchHTTP(ctx, b.prefix+rel, maxDocumentBytes)
	}
	return readDirFile(b.dir, rel)
}

// readDirFile reads rel inside dir through os.Root, so that neither ".." nor a symlink can leave
// the directory. A symlink at rel is not followed but returned as the fetched link, for fetchAlias
// to follow as it does alias files.
func readDirFile(dir, rel string) (fetched, error) {
	loc := filepath.Join(dir, filepath.FromSlash(rel))
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fetched{}, fmt.Errorf("cannot open schema base directory %s: %w", dir, err)
	}
	defer root.Close()
	name := filepath.FromSlash(rel)
	if st, err := root.Lstat(name); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		target, err := root.Readlink(name)
		if err != nil {
			return fetched{}, fmt.Errorf("cannot read schema %s: %w", loc, err)
		}
		if target == "" {
			return fetched{}, fmt.Errorf("cannot read schema %s: an empty symlink", loc)
		}
		return fetched{link: filepath.ToSlash(target), location: loc}, nil
	}
	// Any Lstat error is met again, and reported, by Open.
	f, err := root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fetched{}, fs.ErrNotExist
		}
		return fetched{}, fmt.Errorf("cannot read schema %s: %w", loc, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fetched{}, fmt.Errorf("cannot read schema %s: %w", loc, err)
	}
	if st.IsDir() {
		return fetched{}, fs.ErrNotExist
	}
	data, err := readLimited(f, maxDocumentBytes)
	if err != nil {
		return fetched{}, fmt.Errorf("cannot read schema %s: %w", loc, err)
	}
	return fetched{data: data, location: loc}, nil
}

func (r *resolver) fetchHTTP(ctx context.Context, u string, limit int64) (fetched, error) {
	return httpGet(ctx, r.client, u, limit)
}

func httpGet(ctx context.Context, client *http.Client, u string, limit int64) (fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fetched{}, fmt.Errorf("cannot fetch %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json, application/yaml, text/yaml, */*")
	resp, err := client.Do(req)
	if err != nil {
		return fetched{}, fmt.Errorf("cannot fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fetched{}, fs.ErrNotExist
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fetched{}, fmt.Errorf("cannot fetch %s: %s", u, resp.Status)
	}
	data, err := readLimited(resp.Body, limit)
	if err != nil {
		return fetched{}, fmt.Errorf("cannot fetch %s: %w", u, err)
	}
	return fetched{data: data, location: u}, nil
}

func readLimited(rd io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// readSource reads the stream config from a file path or an http(s) URL.
func readSource(ctx context.Context, client *http.Client, src string) ([]byte, error) {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		f, err := httpGet(ctx, client, src, maxConfigBytes)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot fetch %s: 404 Not Found", src)
		}
		return f.data, err
	}
	p := strings.TrimPrefix(src, "file://")
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, maxConfigBytes)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
