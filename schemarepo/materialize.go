package schemarepo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
)

// ErrVersionExists is wrapped when materializing would overwrite a version file whose document
// differs: a changed schema needs a new version in its $id.
var ErrVersionExists = errors.New("a different version file exists")

// Written is what materializing one current file did.
type Written struct {
	Source  string   // the current file
	Version string   // the version materialized
	Files   []string // version files and alias entries written (unchanged version files are not)
	Same    []string // version files already there with the same document
}

// MaterializeFile materializes one current file of repo, as "jsonschema-tools materialize" does:
// <version>.<type> for each content type, the extensionless <version> entry and the latest
// entries when this version is the latest. It refuses (ErrVersionExists) to overwrite a version
// file holding a different document. Alias entries are written as symlinks, or as files holding
// their target's name where the repository's entry already is such a file.
func MaterializeFile(repo *Repository, res *Resolver, current *File) (*Written, error) {
	cfg := &repo.Config
	doc, err := MaterializeDoc(current.Doc, cfg, res)
	if err != nil {
		return nil, fmt.Errorf("cannot materialize %s: %w", current.Rel, err)
	}
	dir := filepath.Dir(current.Path)
	w := &Written{Source: current.Rel, Version: current.Version}
	for _, ct := range cfg.ContentTypes {
		name := current.Version + "." + ct
		target := filepath.Join(dir, name)
		if _, isLink := readLink(target); !isLink {
			if old, err := readDoc(target); err == nil {
				if !deepEqual(old, doc) {
					d := diffDocs(old, doc, "", nil)
					var where []string
					for i, p := range d {
						if i == 3 {
							where = append(where, "...")
							break
						}
						where = append(where, p.String())
					}
					return nil, fmt.Errorf("%w: %s differs from what %s materializes to (%s); give the schema a new version in its $id", ErrVersionExists, relTo(repo.Base, target), current.Rel, strings.Join(where, "; "))
				}
				w.Same = append(w.Same, relTo(repo.Base, target))
			} else if !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
		if !contains(w.Same, relTo(repo.Base, target)) {
			data, err := Serialize(doc, ct)
			if err != nil {
				return nil, err
			}
			if err := writeFile(target, data); err != nil {
				return nil, err
			}
			w.Files = append(w.Files, relTo(repo.Base, target))
		}
		updateLatest := func(entry string) error {
			if !cfg.ShouldSymlinkLatest {
				return nil
			}
			if real, ok := realPath(entry); ok {
				if old, err := readDoc(real); err == nil {
					vf, _ := asMap(old)[cfg.SchemaVersionField].(string)
					if v, ok := coerceVersion(filepath.Base(vf)); ok && compareVersions(current.Version, v) < 0 {
						return nil
					}
				}
			}
			changed, err := writeLink(entry, name)
			if changed {
				w.Files = append(w.Files, relTo(repo.Base, entry))
			}
			return err
		}
		if err := updateLatest(filepath.Join(dir, "latest."+ct)); err != nil {
			return nil, err
		}
		if cfg.ShouldSymlinkExtensionless && ct == cfg.mainType() {
			entry := filepath.Join(dir, current.Version)
			changed, err := writeLink(entry, name)
			if err != nil {
				return nil, err
			}
			if changed {
				w.Files = append(w.Files, relTo(repo.Base, entry))
			}
			if err := updateLatest(filepath.Join(dir, "latest")); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

func relTo(base, p string) string {
	r, err := filepath.Rel(base, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

func writeFile(p string, data []byte) error {
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", p, err)
	}
	return nil
}

// writeLink points the alias entry at target: a symlink, unless the entry is already a file
// holding a name (a checkout without symlinks), which is then rewritten the same way.
func writeLink(entry, target string) (changed bool, err error) {
	if t, isLink := readLink(entry); isLink {
		if t == target {
			return false, nil
		}
		if st, err := os.Lstat(entry); err == nil && st.Mode().IsRegular() {
			return true, writeFile(entry, []byte(target))
		}
	}
	if err := os.Remove(entry); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("%s exists but cannot be replaced by a link to %s: %w", entry, target, err)
	}
	if err := os.Symlink(target, entry); err != nil {
		return false, fmt.Errorf("cannot link %s to %s: %w", entry, target, err)
	}
	return true, nil
}

// MaterializeAll materializes every current file of the repository. A current file whose $refs
// name a version not materialized yet is tried again after the others (jsonschema-tools runs
// them all at once and relies on the repository holding the fragments already).
func MaterializeAll(repo *Repository, res *Resolver) ([]*Written, error) {
	var pending []*File
	for _, f := range repo.Files {
		if f.Current {
			pending = append(pending, f)
		}
	}
	var out []*Written
	for len(pending) > 0 {
		var next []*File
		var errs []error
		for _, f := range pending {
			w, err := MaterializeFile(repo, res, f)
			if err != nil {
				if errors.Is(err, ErrVersionExists) {
					return out, err
				}
				next = append(next, f)
				errs = append(errs, err)
				continue
			}
			out = append(out, w)
		}
		if len(next) == len(pending) {
			return out, errors.Join(errs...)
		}
		res.forget()
		pending = next
	}
	return out, nil
}

// forget drops the documents read so far, which materializing may have changed.
func (r *Resolver) forget() { r.docs = map[string]any{} }

// Serialize writes a materialized schema as jsonschema-tools does: keys in its order (title,
// description, $id, $schema, type, additionalProperties, required, properties, allOf, examples,
// then the others sorted), as YAML or as JSON indented by two spaces.
func Serialize(doc any, contentType string) ([]byte, error) {
	switch contentType {
	case "yaml":
		b, err := yaml.MarshalWithOptions(toYAML(doc), yaml.IndentSequence(true), yaml.UseLiteralStyleIfMultiline(true))
		if err != nil {
			return nil, fmt.Errorf("cannot write YAML: %w", err)
		}
		return b, nil
	case "json":
		var b bytes.Buffer
		writeJSON(&b, doc, "")
		b.WriteByte('\n')
		return b.Bytes(), nil
	}
	return nil, fmt.Errorf("no serializer for content type %q; want yaml or json", contentType)
}

var keyOrder = map[string]int{"title": 0, "description": 1, "$id": 2, "$schema": 3, "type": 4,
	"additionalProperties": 5, "required": 6, "properties": 7, "allOf": 8, "examples": 9}

func schemaKeyLess(a, b string) bool {
	ia, oka := keyOrder[a]
	ib, okb := keyOrder[b]
	switch {
	case oka && okb:
		return ia < ib
	case oka:
		return true
	case okb:
		return false
	}
	return a < b
}

func schemaKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return schemaKeyLess(keys[i], keys[j]) })
	return keys
}

type yamlNumber string

func (n yamlNumber) MarshalYAML() ([]byte, error) { return []byte(n), nil }

// yamlQuoted is a string YAML readers would take for something else unquoted (a timestamp).
type yamlQuoted string

func (s yamlQuoted) MarshalYAML() ([]byte, error) {
	return []byte("'" + strings.ReplaceAll(string(s), "'", "''") + "'"), nil
}

var timestampLike = regexp.MustCompile(`^\d{4}-\d\d?-\d\d?([Tt ]|$)`)

func toYAML(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(yaml.MapSlice, 0, len(t))
		for _, k := range schemaKeys(t) {
			out = append(out, yaml.MapItem{Key: k, Value: toYAML(t[k])})
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = toYAML(x)
		}
		return out
	case json.Number:
		return yamlNumber(t)
	case string:
		if timestampLike.MatchString(t) {
			return yamlQuoted(t)
		}
		return t
	}
	return v
}

func writeJSON(b *bytes.Buffer, v any, indent string) {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, k := range schemaKeys(t) {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(indent + "  ")
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteString(": ")
			writeJSON(b, t[k], indent+"  ")
		}
		b.WriteString("\n" + indent + "}")
	case []any:
		if len(t) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, x := range t {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(indent + "  ")
			writeJSON(b, x, indent+"  ")
		}
		b.WriteString("\n" + indent + "]")
	default:
		enc, _ := json.Marshal(v)
		b.Write(enc)
	}
}
