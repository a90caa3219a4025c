package schemarepo

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies a repository; with links, alias entries laid out as files become symlinks.
func copyTree(t testing.TB, src, dst string, links bool) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		if target, ok := readLink(p); ok && (links || d.Type()&fs.ModeSymlink != 0) {
			return os.Symlink(target, out)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Materializing every current.yaml into a scratch copy whose latest versions (and their alias
// entries) were removed writes the committed latest versions again, as parsed documents, and
// alias entries that resolve to them; in a copy with alias files and in one with symlinks.
func TestMaterializeReproducesRepositories(t *testing.T) {
	opts := realRepoOptions(t)
	f := func(src string, links bool) {
		t.Helper()
		dst := filepath.Join(t.TempDir(), filepath.Base(src))
		copyTree(t, src, dst, links)
		orig, _, err := Open(src, opts)
		if err != nil {
			t.Fatal(err)
		}
		// Remove each title's latest version and the entries pointing at it.
		type removed struct{ rel, version string }
		var gone []removed
		for _, title := range orig.Titles {
			var latest *File
			for _, f := range orig.ByTitle[title] {
				if !f.Current && (latest == nil || compareVersions(f.Version, latest.Version) > 0) {
					latest = f
				}
			}
			dir := filepath.Join(dst, "jsonschema", filepath.FromSlash(filepath.Dir(latest.Rel)))
			for _, name := range []string{latest.Version + ".yaml", latest.Version, "latest", "latest.yaml"} {
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
			gone = append(gone, removed{latest.Rel, latest.Version})
		}
		repo, res, err := Open(dst, opts)
		if err != nil {
			t.Fatal(err)
		}
		written, err := MaterializeAll(repo, res)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if len(written) != len(orig.Titles) {
			t.Errorf("%s: %d current files materialized, want %d", src, len(written), len(orig.Titles))
		}
		for _, g := range gone {
			want, err := readDoc(filepath.Join(orig.Base, filepath.FromSlash(g.rel)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := readDoc(filepath.Join(repo.Base, filepath.FromSlash(g.rel)))
			if err != nil {
				t.Errorf("%s: not written: %v", g.rel, err)
				continue
			}
			if d := diffDocs(want, got, "", nil); len(d) > 0 {
				t.Errorf("%s: materialized differs from the committed version: %v", g.rel, d)
			}
			dir := filepath.Dir(filepath.Join(repo.Base, filepath.FromSlash(g.rel)))
			wantPath, _ := realPath(filepath.Join(dir, g.version+".yaml"))
			for _, entry := range []string{g.version, "latest", "latest.yaml"} {
				if got, ok := realPath(filepath.Join(dir, entry)); !ok || got != wantPath {
					t.Errorf("%s: %s resolves to %q, want %q", g.rel, entry, got, wantPath)
				}
			}
		}
		// The repository passes its own tests again.
		rep, err := Test(dst, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			var b strings.Builder
			rep.WriteText(&b, false)
			t.Errorf("%s rematerialized: %s", src, b.String())
		}
		// Materializing again changes no version file.
		repo, res, err = Open(dst, opts)
		if err != nil {
			t.Fatal(err)
		}
		again, err := MaterializeAll(repo, res)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range again {
			if len(w.Files) > 0 {
				t.Errorf("%s: materializing again wrote %v", w.Source, w.Files)
			}
		}
	}
	f(primaryRepo, false)
	f(secondaryRepo, true)
}

// A current.yaml changed without a new version in its $id is refused, not written over the
// committed version.
func TestMaterializeRefusesToOverwrite(t *testing.T) {
	opts := realRepoOptions(t)
	dst := filepath.Join(t.TempDir(), "primary")
	copyTree(t, primaryRepo, dst, false)
	cur := filepath.Join(dst, "jsonschema", "test", "event", "current.yaml")
	data, err := os.ReadFile(cur)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "  - properties:\n", "  - properties:\n      added_field:\n        type: string\n", 1))
	if err := os.WriteFile(cur, data, 0o644); err != nil {
		t.Fatal(err)
	}
	repo, res, err := Open(dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	var current *File
	for _, f := range repo.ByTitle["test/event"] {
		if f.Current {
			current = f
		}
	}
	before, _ := os.ReadFile(filepath.Join(dst, "jsonschema", "test", "event", current.Version+".yaml"))
	_, err = MaterializeFile(repo, res, current)
	if !errors.Is(err, ErrVersionExists) || !strings.Contains(err.Error(), "added_field") {
		t.Fatalf("got %v, want ErrVersionExists naming added_field", err)
	}
	after, _ := os.ReadFile(filepath.Join(dst, "jsonschema", "test", "event", current.Version+".yaml"))
	if string(before) != string(after) {
		t.Fatal("the committed version was overwritten")
	}
}

// With contentTypes [yaml, json], materialize writes both, the same document, and links the
// extensionless entry to the first type.
func TestMaterializeJSON(t *testing.T) {
	opts := realRepoOptions(t)
	dst := filepath.Join(t.TempDir(), "primary")
	copyTree(t, primaryRepo, dst, false)
	cfg, err := ReadConfig(filepath.Join(dst, ConfigFile), false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ContentTypes = []string{"yaml", "json"}
	opts.Config = &cfg
	repo, res, err := Open(dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	var current *File
	for _, f := range repo.ByTitle["mediawiki/revision/create"] {
		if f.Current {
			current = f
		}
	}
	w, err := MaterializeFile(repo, res, current)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(current.Path)
	y, err := readDoc(filepath.Join(dir, current.Version+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := readDoc(filepath.Join(dir, current.Version+".json"))
	if err != nil {
		t.Fatalf("%v (wrote %v)", err, w.Files)
	}
	if !deepEqual(y, j) {
		t.Errorf("the JSON version differs from the YAML one: %v", diffDocs(y, j, "", nil))
	}
	if target, _ := readLink(filepath.Join(dir, "latest.json")); target != current.Version+".json" {
		t.Errorf("latest.json -> %q", target)
	}
	if target, _ := readLink(filepath.Join(dir, current.Version)); target != current.Version+".yaml" {
		t.Errorf("%s -> %q", current.Version, target)
	}
}
