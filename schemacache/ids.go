package schemacache

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/valyala/fastjson"
)

// idIndex finds schema documents by the $id they declare where it differs from their path, e.g.
// development/webrequest/1.0.0 declaring "$id: /webrequest/1.0.0", which events then name. Ajv
// (and so EventGate) resolves such URIs from its cache of compiled schemas by $id; the index does
// it without depending on what was loaded first. It is consulted only when no document exists at
// the path itself.
type idIndex struct {
	mu      sync.Mutex
	scanned map[string]idTarget // from walking the directory bases; nil until needed
	learned map[string]idTarget // from schemas loaded (covers http(s) bases)
}

type idTarget struct {
	base int
	rel  string
}

// Bounds on the directory walk.
const (
	maxIndexedFiles = 100000
	maxLearnedIDs   = 10000
)

func (x *idIndex) lookup(r *resolver, canonical string) (idTarget, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.scanned == nil {
		x.scanned = r.scanIDs()
	}
	if t, ok := x.scanned[canonical]; ok {
		return t, true
	}
	t, ok := x.learned[canonical]
	return t, ok
}

// learn records the $id of a loaded schema when it differs from where it was found.
func (x *idIndex) learn(r *resolver, id string, t idTarget) {
	c := r.idCanonical(id)
	if c == "" || c == "/"+stripExt(t.rel) {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.learned == nil {
		x.learned = make(map[string]idTarget)
	}
	if _, ok := x.learned[c]; !ok && len(x.learned) < maxLearnedIDs {
		x.learned[c] = t
	}
}

// reset makes the next lookup walk the directories again (after a refresh).
func (x *idIndex) reset() {
	x.mu.Lock()
	x.scanned = nil
	x.mu.Unlock()
}

// topLevelID matches a YAML document's top-level $id (or draft-04 id).
var topLevelID = regexp.MustCompile(`(?m)^(?:\$id|id):[ \t]*['"]?([^'"\s#]+)`)

// scanIDs walks the directory bases for documents whose $id is not their path. The first base,
// then the first path in lexical order, wins.
func (r *resolver) scanIDs() map[string]idTarget {
	m := make(map[string]idTarget)
	files := 0
	for bi := range r.bases {
		b := &r.bases[bi]
		if b.dir == "" {
			continue
		}
		_ = filepath.WalkDir(b.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if files++; files > maxIndexedFiles {
				return filepath.SkipAll
			}
			ext := path.Ext(p)
			if !d.Type().IsRegular() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
				return nil
			}
			rel, err := filepath.Rel(b.dir, p)
			if err != nil {
				return nil
			}
			rel = filepath.ToSlash(rel)
			data, err := os.ReadFile(p)
			if err != nil || len(data) > maxDocumentBytes {
				return nil
			}
			if _, alias := aliasTarget(data); alias {
				return nil
			}
			id := documentID(data)
			c := r.idCanonical(id)
			if c == "" || c == "/"+stripExt(rel) {
				return nil
			}
			if _, taken := m[c]; !taken {
				m[c] = idTarget{base: bi, rel: rel}
			}
			return nil
		})
	}
	return m
}

// documentID returns the top-level $id (or id) of a schema document without converting it.
func documentID(data []byte) string {
	trimmed := strings.TrimLeft(string(data), " \t\r\n\ufeff")
	if strings.HasPrefix(trimmed, "{") {
		var p fastjson.Parser
		v, err := p.Parse(trimmed)
		if err != nil {
			return ""
		}
		if id := v.GetStringBytes("$id"); id != nil {
			return string(id)
		}
		return string(v.GetStringBytes("id"))
	}
	if m := topLevelID.FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return ""
}

// idCanonical turns a declared $id into the canonical URI an event would use for it, or "" when it
// names nothing under the bases.
func (r *resolver) idCanonical(id string) string {
	id = strings.TrimSuffix(strings.TrimSpace(id), "#")
	if id == "" {
		return ""
	}
	ref, err := r.parse(id)
	if err != nil || ref.baseIdx >= 0 {
		return ""
	}
	return ref.canonical
}

func stripExt(p string) string {
	switch ext := path.Ext(p); ext {
	case ".json", ".yaml", ".yml":
		return strings.TrimSuffix(p, ext)
	}
	return p
}
