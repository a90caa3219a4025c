package schemacache

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TitleVersions is one schema title of the directory bases and its versions.
type TitleVersions struct {
	// Title is the title's directory under its base, with "/" ("mediawiki/revision/create"): the
	// path events name in $schema, before the version.
	Title string `json:"title"`
	// Versions are the versions found in that directory (any of <v>.yaml, <v>.yml, <v>.json or the
	// extensionless <v> alias, in any base), oldest first by semantic version.
	Versions []string `json:"versions"`
}

// Catalog lists the titles and versions the Cache's directory bases hold. It is immutable.
// http(s) bases cannot be listed and are not in it.
type Catalog struct {
	// Titles are sorted by Title.
	Titles []TitleVersions
	// Built is when the bases were read.
	Built time.Time
}

// Find returns the title named, if any directory base holds a version of it.
func (c *Catalog) Find(title string) (TitleVersions, bool) {
	i := sort.Search(len(c.Titles), func(i int) bool { return c.Titles[i].Title >= title })
	if i < len(c.Titles) && c.Titles[i].Title == title {
		return c.Titles[i], true
	}
	return TitleVersions{}, false
}

// Page returns at most limit titles that sort after after ("" for the first page), and whether
// more follow.
func (c *Catalog) Page(after string, limit int) (page []TitleVersions, more bool) {
	i := 0
	if after != "" {
		i = sort.Search(len(c.Titles), func(i int) bool { return c.Titles[i].Title > after })
	}
	end := min(i+max(limit, 0), len(c.Titles))
	return c.Titles[i:end], end < len(c.Titles)
}

// catalogMaxAge is how long Cache.Catalog answers from the last read of the directories when the
// refresher is off (RefreshInterval 0); with the refresher on, it is RefreshInterval.
const catalogMaxAge = 60 * time.Second

// catalogMaxDepth bounds the directory walk: the real repositories' titles are at most 6 deep.
const catalogMaxDepth = 16

// catalogMemo holds the last Catalog and builds a new one when it is older than its age.
type catalogMemo struct {
	mu  sync.Mutex
	cat *Catalog
}

// forget drops the memo: the next Catalog reads the directories again.
func (m *catalogMemo) forget() {
	m.mu.Lock()
	m.cat = nil
	m.mu.Unlock()
}

// Catalog returns the titles and versions of the directory schema bases, read again at most
// once per RefreshInterval (60 s when the refresher is off) and at every Refresh, so the listing
// follows a repository deployed under a running edge as the schemas do.
func (c *Cache) Catalog() *Catalog {
	age := c.cfg.RefreshInterval
	if age <= 0 {
		age = catalogMaxAge
	}
	m := &c.catalog
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cat != nil && time.Since(m.cat.Built) < age {
		return m.cat
	}
	m.cat = buildCatalog(c.res.bases)
	return m.cat
}

// buildCatalog walks every directory base. A directory that cannot be read is left out: the
// listing shows what can be served.
func buildCatalog(bases []base) *Catalog {
	versions := make(map[string]map[string]bool)
	for _, b := range bases {
		if b.dir == "" {
			continue
		}
		_ = filepath.WalkDir(b.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			rel, _ := filepath.Rel(b.dir, p)
			if d.IsDir() {
				if p != b.dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" ||
					strings.Count(filepath.ToSlash(rel), "/") >= catalogMaxDepth) {
					return fs.SkipDir
				}
				return nil
			}
			v, ok := versionName(d.Name())
			if !ok {
				return nil
			}
			title := filepath.ToSlash(filepath.Dir(rel))
			if title == "." {
				return nil
			}
			if versions[title] == nil {
				versions[title] = make(map[string]bool)
			}
			versions[title][v] = true
			return nil
		})
	}
	cat := &Catalog{Titles: make([]TitleVersions, 0, len(versions)), Built: time.Now()}
	for title, vs := range versions {
		tv := TitleVersions{Title: title, Versions: make([]string, 0, len(vs))}
		for v := range vs {
			tv.Versions = append(tv.Versions, v)
		}
		sort.Slice(tv.Versions, func(i, j int) bool { return semverLess(tv.Versions[i], tv.Versions[j]) })
		cat.Titles = append(cat.Titles, tv)
	}
	sort.Slice(cat.Titles, func(i, j int) bool { return cat.Titles[i].Title < cat.Titles[j].Title })
	return cat
}

// versionName returns the version a directory entry names: <major>.<minor>.<patch>, bare or with
// .yaml, .yml or .json.
func versionName(name string) (string, bool) {
	for _, ext := range []string{".yaml", ".yml", ".json"} {
		if strings.HasSuffix(name, ext) {
			name = name[:len(name)-len(ext)]
			break
		}
	}
	parts := strings.Split(name, ".")
	if len(parts) != 3 {
		return "", false
	}
	for _, p := range parts {
		if p == "" || len(p) > 9 || strings.Trim(p, "0123456789") != "" {
			return "", false
		}
	}
	return name, true
}

func semverLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range 3 {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return a < b
}
