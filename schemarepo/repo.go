package schemarepo

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// File is one schema file of a repository: a materialized version ("1.2.0.yaml") or a title's
// source ("current.yaml"); jsonschema-tools' "schema info".
type File struct {
	Title       string // the schema's title field
	ID          string // its $id ("" when it has none)
	Path        string // on disk
	Rel         string // relative to the schema base path, with slashes: "test/event/1.0.0.yaml"
	Version     string // from its $id: "1.0.0"
	Current     bool   // the source, not a materialized version
	ContentType string // "yaml" or "json"
	Doc         any    // the document as read, not dereferenced
}

// Repository is a schema repository as jsonschema-tools finds it: every file whose name is a
// semantic version or the current name, with a content type configured, grouped by title.
type Repository struct {
	Root    string // the repository root (where .jsonschema-tools.yaml is)
	Base    string // the schema base path (Root/jsonschema)
	Config  Config
	Files   []*File  // sorted as jsonschema-tools sorts them (see lessFile)
	Titles  []string // in order of first appearance in Files
	ByTitle map[string][]*File
	// Broken are files that look like schemas but cannot be read: each fails the run.
	Broken []Problem
}

// Load reads the repository at root with its configuration.
func Load(root string, cfg Config) (*Repository, error) {
	base := cfg.SchemaBasePath
	if !filepath.IsAbs(base) {
		base = filepath.Join(root, base)
	}
	st, err := os.Stat(base)
	if err != nil {
		return nil, fmt.Errorf("cannot read the schema base path (schemaBasePath): %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("the schema base path %s (schemaBasePath) is not a directory", base)
	}
	r := &Repository{Root: root, Base: base, Config: cfg, ByTitle: map[string][]*File{}}
	var paths []string
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && p != base || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		ext := strings.TrimPrefix(filepath.Ext(name), ".")
		if !contains(cfg.ContentTypes, ext) {
			return nil
		}
		if name != cfg.CurrentName && !isSemver(strings.TrimSuffix(name, "."+ext)) {
			return nil
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list %s: %w", base, err)
	}
	files := make([]*File, len(paths))
	errs := make([]error, len(paths))
	parallel(len(paths), func(i int) { files[i], errs[i] = r.readFile(paths[i]) })
	for i, p := range paths {
		if errs[i] != nil {
			rel, _ := filepath.Rel(base, p)
			r.Broken = append(r.Broken, Problem{File: filepath.ToSlash(rel), Message: errs[i].Error()})
			continue
		}
		if files[i] != nil {
			r.Files = append(r.Files, files[i])
		}
	}
	sort.SliceStable(r.Files, func(i, j int) bool { return lessFile(r.Files[i], r.Files[j]) })
	for _, f := range r.Files {
		if _, ok := r.ByTitle[f.Title]; !ok {
			r.Titles = append(r.Titles, f.Title)
		}
		r.ByTitle[f.Title] = append(r.ByTitle[f.Title], f)
	}
	return r, nil
}

func (r *Repository) readFile(p string) (*File, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if _, ok := aliasTarget(data); ok {
		// An alias entry laid out as a file: not a version of its own.
		return nil, nil
	}
	doc, err := decodeDoc(data)
	if err != nil {
		return nil, err
	}
	rel, _ := filepath.Rel(r.Base, p)
	f := &File{
		Path:        p,
		Rel:         filepath.ToSlash(rel),
		Current:     filepath.Base(p) == r.Config.CurrentName,
		ContentType: strings.TrimPrefix(filepath.Ext(p), "."),
		Doc:         doc,
	}
	m := asMap(doc)
	if m == nil {
		return nil, fmt.Errorf("not a schema: the document is not an object")
	}
	f.Title, _ = m[r.Config.SchemaTitleField].(string)
	f.ID, _ = m["$id"].(string)
	if r.Config.ignored(f.ID) {
		return nil, nil
	}
	vf, _ := m[r.Config.SchemaVersionField].(string)
	v, ok := coerceVersion(path.Base(vf))
	if !ok {
		return nil, fmt.Errorf("no version in its %s %q (schemaVersionField)", r.Config.SchemaVersionField, vf)
	}
	f.Version = v
	if f.Title == "" {
		return nil, fmt.Errorf("no %s (schemaTitleField)", r.Config.SchemaTitleField)
	}
	return f, nil
}

// lessFile is jsonschema-tools' order: titles with "common" first, then shallower paths, then
// versions, the current file after the version it has.
func lessFile(a, b *File) bool {
	ac, bc := strings.Contains(a.Title, "common"), strings.Contains(b.Title, "common")
	if ac != bc {
		return ac
	}
	ad, bd := strings.Count(a.Path, "/"), strings.Count(b.Path, "/")
	if ad != bd {
		return ad < bd
	}
	if c := compareVersions(a.Version, b.Version); c != 0 {
		return c < 0
	}
	return !a.Current && b.Current
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var semverRe = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$`)

func isSemver(s string) bool { return semverRe.MatchString(s) }

var coerceRe = regexp.MustCompile(`(^|[^\d])(\d{1,16})(?:\.(\d{1,16}))?(?:\.(\d{1,16}))?(?:$|[^\d])`)

// coerceVersion is semver.coerce: the first "X[.Y[.Z]]" in s as "X.Y.Z".
func coerceVersion(s string) (string, bool) {
	m := coerceRe.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	part := func(x string) string {
		if x == "" {
			return "0"
		}
		n, _ := strconv.ParseUint(x, 10, 64)
		return strconv.FormatUint(n, 10)
	}
	return part(m[2]) + "." + part(m[3]) + "." + part(m[4]), true
}

// compareVersions compares two "X.Y.Z[-pre]" versions.
func compareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	for i := 0; i < 3; i++ {
		if pa.n[i] != pb.n[i] {
			if pa.n[i] < pb.n[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case pa.pre == pb.pre:
		return 0
	case pa.pre == "":
		return 1
	case pb.pre == "":
		return -1
	case pa.pre < pb.pre:
		return -1
	default:
		return 1
	}
}

type version struct {
	n   [3]uint64
	pre string
}

func versionParts(v string) version {
	var out version
	m := semverRe.FindStringSubmatch(v)
	if m == nil {
		return out
	}
	for i := 0; i < 3; i++ {
		out.n[i], _ = strconv.ParseUint(m[i+1], 10, 64)
	}
	out.pre = m[4]
	return out
}

func major(v string) uint64 { return versionParts(v).n[0] }

// aliasTarget recognizes an alias entry laid out as a file: a git symlink checked out as a file
// holds just the name of its target ("1.0.0.yaml"), which no schema document looks like.
func aliasTarget(data []byte) (string, bool) {
	if len(data) == 0 || len(data) > 255 {
		return "", false
	}
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "\n:") {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/') {
			return "", false
		}
	}
	return s, true
}

// readLink returns the target of an alias entry at p: a symlink's target, or the name an alias
// file holds. ok is false when p is neither (missing, or a regular schema file).
func readLink(p string) (target string, ok bool) {
	st, err := os.Lstat(p)
	if err != nil {
		return "", false
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		t, err := os.Readlink(p)
		return t, err == nil
	}
	if !st.Mode().IsRegular() || st.Size() > 255 {
		return "", false
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	return aliasTarget(data)
}

// realPath resolves p through symlinks and alias files, at most 8 entries in a row; ok is false
// when p or what it names does not exist.
func realPath(p string) (string, bool) {
	for i := 0; i < 8; i++ {
		t, isLink := readLink(p)
		if !isLink {
			if _, err := os.Stat(p); err != nil {
				return "", false
			}
			abs, err := filepath.Abs(p)
			if err != nil {
				return "", false
			}
			return abs, true
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		}
		p = t
	}
	return "", false
}

// File returns the repository's file at path p (as given on a command line), or nil.
func (r *Repository) File(p string) *File {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil
	}
	for _, f := range r.Files {
		if fa, err := filepath.Abs(f.Path); err == nil && fa == abs {
			return f
		}
	}
	return nil
}

// ReadSchema reads a schema document: a file, or a URI such as "/test/event/1.0.0" looked up
// under the directories bases (alias entries followed).
func ReadSchema(arg string, bases []string) (any, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		real, _ := realPath(arg)
		if real == "" {
			real = arg
		}
		return readDoc(real)
	}
	if len(bases) == 0 {
		return nil, fmt.Errorf("cannot read schema %s: no such file (a URI needs --schema-base-uri)", arg)
	}
	r := NewResolver(".", bases, nil)
	loc := arg
	if !strings.Contains(loc, "://") && !strings.HasPrefix(loc, "/") {
		loc = "/" + loc
	}
	_, doc, err := r.load(loc, docRef{})
	if err != nil {
		return nil, fmt.Errorf("cannot read schema %s: %w", arg, err)
	}
	return doc, nil
}
