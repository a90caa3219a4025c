package schemamut

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"
)

// Subset copies the schema repository src into dst (which must not exist) with only the given
// titles under jsonschema/: its .jsonschema-tools.yaml, package.json and test/ whole, each title's
// directory whole. Alias entries laid out as files holding their target's name (latest,
// latest.yaml, <version>) become symlinks, as in the repositories' git. The titles' $refs are not
// followed: name the fragments they need.
func Subset(src, dst string, titles ...string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("cannot make a subset in %s: it exists", dst)
	}
	for _, name := range []string{".jsonschema-tools.yaml", "package.json"} {
		if err := copyPath(filepath.Join(src, name), filepath.Join(dst, name)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := copyPath(filepath.Join(src, "test"), filepath.Join(dst, "test")); err != nil {
		return err
	}
	for _, title := range titles {
		from := filepath.Join(src, "jsonschema", filepath.FromSlash(title))
		to := filepath.Join(dst, "jsonschema", filepath.FromSlash(title))
		if err := copyPath(from, to); err != nil {
			return fmt.Errorf("cannot copy title %q: %w", title, err)
		}
	}
	return FixAliases(filepath.Join(dst, "jsonschema"))
}

// copyPath copies a file, symlink or directory tree, writable.
func copyPath(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		t := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(t, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
				return err
			}
			return os.Symlink(target, t)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
				return err
			}
			return os.WriteFile(t, b, 0o644)
		}
	})
}

var aliasName = regexp.MustCompile(`^(latest(\..+)?|\d+\.\d+\.\d+)$`)

// FixAliases turns every alias file under dir (a regular file named latest, latest.<ext> or
// <major>.<minor>.<patch> whose content names a file beside it) into a symlink, as
// scripts/schema/reference.sh does.
func FixAliases(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || !aliasName.MatchString(d.Name()) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 256 {
			return err
		}
		target := strings.TrimSpace(string(b))
		if target == "" || strings.ContainsRune(target, '/') {
			return nil
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), target)); err != nil {
			return nil
		}
		if err := os.Remove(p); err != nil {
			return err
		}
		return os.Symlink(target, p)
	})
}

// AliasesToFiles does the reverse of FixAliases: every alias symlink under dir (named latest,
// latest.<ext> or <major>.<minor>.<patch>, naming a file beside it) becomes a file holding its
// target's name, as a checkout without symlinks lays them out. The reference's verdict is the same
// on both layouts (reference.sh makes them symlinks again); intake's must be too.
func AliasesToFiles(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 || !aliasName.MatchString(d.Name()) {
			return err
		}
		target, err := os.Readlink(p)
		if err != nil || strings.ContainsRune(target, '/') {
			return err
		}
		if err := os.Remove(p); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(target+"\n"), 0o644)
	})
}

// Doc is a schema document read for editing: maps are map[string]any, lists []any.
type Doc = map[string]any

// ReadDoc reads a YAML (or JSON) schema file.
func ReadDoc(path string) (Doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d Doc
	if err := yaml.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return d, nil
}

// WriteDoc writes d to path as JSON (which is YAML; no YAML emitter's choice of quoting can change
// a value's type for js-yaml that way), replacing a symlink rather than writing through it.
func WriteDoc(path string, d Doc) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	_ = os.Remove(path)
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// At returns the value at a path of keys (map members) and indexes (list elements, as ints).
func At(d any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := d.(map[string]any)
			if !ok {
				return nil
			}
			d = m[k]
		case int:
			l, ok := d.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			d = l[k]
		}
	}
	return d
}

// Obj returns the map at path; it panics when there is none (a mutation written against a file
// that does not hold what it expects is a bug of the mutation).
func Obj(d any, path ...any) map[string]any {
	m, ok := At(d, path...).(map[string]any)
	if !ok {
		panic(fmt.Sprintf("BUG: no object at %v", path))
	}
	return m
}

// Repo is a schema repository being mutated.
type Repo struct{ Dir string }

func (r Repo) titleDir(title string) string {
	return filepath.Join(r.Dir, "jsonschema", filepath.FromSlash(title))
}

// File is the path of a title's file (a version file "2.1.0.yaml", "current.yaml", an alias).
func (r Repo) File(title, name string) string { return filepath.Join(r.titleDir(title), name) }

// Edit reads a title's file, lets edit change it and writes it back.
func (r Repo) Edit(title, name string, edit func(Doc)) error {
	p := r.File(title, name)
	d, err := ReadDoc(p)
	if err != nil {
		return err
	}
	edit(d)
	return WriteDoc(p, d)
}

// Link points a title's alias entry name at target (a symlink, replacing what is there).
func (r Repo) Link(title, name, target string) error {
	p := r.File(title, name)
	_ = os.Remove(p)
	return os.Symlink(target, p)
}

// Release does what an author does for a new version: copies the latest materialized version
// of title (from) to version to, with $id and the examples' $schema naming the new version, lets
// edit change it, writes it as <to>.yaml, points latest, latest.yaml and the extensionless <to> at
// it; then sets current.yaml's $id to the new version and lets editCurrent (if not nil) make the
// same change there, where the title's own keywords may sit at another path (under allOf).
func (r Repo) Release(title, from, to string, edit, editCurrent func(Doc)) error {
	d, err := ReadDoc(r.File(title, from+".yaml"))
	if err != nil {
		return err
	}
	id := "/" + title + "/" + to
	d["$id"] = id
	if ex, ok := d["examples"].([]any); ok {
		for _, e := range ex {
			if m, ok := e.(map[string]any); ok {
				if _, ok := m["$schema"]; ok {
					m["$schema"] = id
				}
			}
		}
	}
	if edit != nil {
		edit(d)
	}
	if err := WriteDoc(r.File(title, to+".yaml"), d); err != nil {
		return err
	}
	for name, target := range map[string]string{"latest": to + ".yaml", "latest.yaml": to + ".yaml", to: to + ".yaml"} {
		if err := r.Link(title, name, target); err != nil {
			return err
		}
	}
	return r.Edit(title, "current.yaml", func(c Doc) {
		c["$id"] = id
		if editCurrent != nil {
			editCurrent(c)
		}
	})
}
