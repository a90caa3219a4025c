package schemacache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// A schema repository keeps alias entries beside its documents: <version> -> <version>.yaml,
// latest and latest.yaml -> the newest <version>.yaml. A git checkout has them as symlinks; where
// symlinks are not kept (the shared data beside the project, core.symlinks=false, an archive of
// git's blobs) each is a file holding its target's name. Tests that read a repository run on both
// layouts, built from the shared data whichever way it is stored.
type aliasLayout int

const (
	aliasFiles aliasLayout = iota
	aliasSymlinks
)

var aliasLayouts = []aliasLayout{aliasFiles, aliasSymlinks}

func (l aliasLayout) String() string {
	if l == aliasSymlinks {
		return "symlinks"
	}
	return "alias-files"
}

// maxAliasFileBytes bounds what is read to tell an alias file: a name no longer than a file name.
const maxAliasFileBytes = 255

// readAliasEntry returns the target of the alias entry at p: a symlink's target, or the name held
// by a small file whose whole content (bar a trailing newline) names another entry of the same
// directory, as git writes a symlink it does not check out as one. ok is false for documents and
// directories.
func readAliasEntry(p string) (target string, ok bool, err error) {
	st, err := os.Lstat(p)
	if err != nil {
		return "", false, err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(p)
		if err != nil {
			return "", false, err
		}
		return filepath.ToSlash(target), true, nil
	}
	if !st.Mode().IsRegular() || st.Size() > maxAliasFileBytes {
		return "", false, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return "", false, err
	}
	name, ok := aliasTarget(data)
	if !ok || name == filepath.Base(p) {
		return "", false, nil
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(p), name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, nil
		}
		return "", false, err
	}
	return name, true, nil
}

// writeAlias makes p an alias entry for target in the given layout.
func writeAlias(t testing.TB, p, target string, layout aliasLayout) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	if layout == aliasSymlinks {
		err = os.Symlink(filepath.FromSlash(target), p)
	} else {
		err = os.WriteFile(p, []byte(target), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// copyRepoAs copies the schema repository at src into a new temporary directory with its alias
// entries laid out as layout, and returns the copy's path and how many alias entries it has.
func copyRepoAs(t testing.TB, src string, layout aliasLayout) (dir string, aliases int) {
	t.Helper()
	dir = t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		target, alias, err := readAliasEntry(p)
		if err != nil {
			return err
		}
		if alias {
			aliases++
			writeAlias(t, dst, target, layout)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir, aliases
}

// realReposAs returns copies of the two real repositories (primary, secondary) in the given
// layout.
func realReposAs(t testing.TB, layout aliasLayout) []string {
	t.Helper()
	var dirs []string
	total := 0
	for _, src := range []string{primaryRepo, secondaryRepo} {
		dir, n := copyRepoAs(t, src, layout)
		dirs = append(dirs, dir)
		total += n
	}
	// The data README: 510 versions, each with its <version> alias, and 202 titles with latest
	// and latest.yaml.
	if want := 510 + 2*202; total != want {
		t.Fatalf("the real repositories have %d alias entries, want %d", total, want)
	}
	return dirs
}

// A copy has the original's alias entries, with the same targets, in the layout asked for.
func TestCopyRepoAs(t *testing.T) {
	for _, layout := range aliasLayouts {
		t.Run(layout.String(), func(t *testing.T) {
			dir, n := copyRepoAs(t, primaryRepo, layout)
			links, files := 0, 0
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				target, alias, err := readAliasEntry(p)
				if err != nil || !alias {
					return err
				}
				if d.Type()&fs.ModeSymlink != 0 {
					links++
				} else {
					files++
				}
				rel, _ := filepath.Rel(dir, p)
				orig, ok, err := readAliasEntry(filepath.Join(primaryRepo, rel))
				if err != nil || !ok || orig != target {
					t.Errorf("%s: alias of %q in the copy, of %q (%v, %v) in the original", rel, target, orig, ok, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if layout == aliasSymlinks && (links != n || files != 0) || layout == aliasFiles && (files != n || links != 0) {
				t.Fatalf("%d alias entries copied; %d symlinks and %d alias files in the copy", n, links, files)
			}
		})
	}
}
