package schemarepo

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// structure runs jsonschema-tools' structure tests on one title.
func (t *tester) structure(title string, files []*File) {
	cfg := t.cfg
	main := cfg.mainType()
	group := "" // the version's describe block, inside the per-version tests
	add := func(caseName, test string, f *File, problems []Problem) *Result {
		r := Result{Suite: SuiteStructure, Case: caseName, Test: test, Title: title, Status: Pass, Problems: problems,
			FullTitle: fmt.Sprintf("Schema Repository Structure in %s Schema with title %s %s%s", cfg.SchemaBasePath, title, group, test)}
		if f != nil {
			r.File, r.Schema = f.Rel, f.ID
		}
		if len(problems) > 0 {
			r.Status = Fail
		}
		t.results = append(t.results, r)
		return &t.results[len(t.results)-1]
	}
	dirOf := func(f *File) string { return path.Dir(f.Rel) }

	var p []Problem
	for i := 1; i < len(files); i++ {
		if dirOf(files[i]) != dirOf(files[i-1]) {
			p = append(p, Problem{File: files[i].Rel, Message: fmt.Sprintf("not in the same directory as %s", files[i-1].Rel)})
		}
	}
	add("structure-same-directory", "all materialized files should be in the same directory", nil, p)

	p = nil
	for _, f := range files {
		if dirOf(f) != title {
			p = append(p, Problem{File: f.Rel, Message: fmt.Sprintf("schema title %q must match the schema's directory %q", title, dirOf(f))})
		}
	}
	if len(p) > 0 {
		add("structure-title-matches-directory", "all materialized files should be in directory that matches schema title", nil, p).only = true
		return
	}

	schemaDir := dirOf(files[0])
	abs := func(name string) string { return filepath.Join(t.repo.Base, filepath.FromSlash(schemaDir), name) }
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	displayDir := path.Join(filepath.ToSlash(trimDotSlash(t.cfg.SchemaBasePath)), schemaDir)

	p = nil
	if !exists(abs("current.yaml")) {
		p = []Problem{{File: path.Join(schemaDir, "current.yaml"), Message: "missing"}}
	}
	add("structure-current-exists", "must contain "+cfg.CurrentName+" schema file", nil, p)

	p = nil
	if exists(abs("current")) {
		p = []Problem{{File: path.Join(schemaDir, "current"), Message: "an extensionless current entry exists"}}
	}
	add("structure-no-extensionless-current", "must not contain extensionless current symlink", nil, p)

	var current *File
	for _, f := range files {
		if f.Current {
			current = f
			break
		}
	}
	if current == nil {
		add("structure-current-found", "must have a "+cfg.CurrentName+" file", nil,
			[]Problem{{Message: "could not find current schema file"}}).only = true
		return
	}
	var latest *File
	for _, f := range files {
		if !f.Current && f.ContentType == main && (latest == nil || compareVersions(f.Version, latest.Version) >= 0) {
			latest = f
		}
	}
	if latest == nil {
		add("structure-latest-found", "Must be able to find the latest schema version file", nil,
			[]Problem{{Message: "could not find latest schema version file"}}).only = true
		return
	}

	p = nil
	want := path.Join(schemaDir, current.Version+"."+main)
	if latest.Rel != want {
		p = []Problem{{File: latest.Rel, Message: fmt.Sprintf("the greatest version is %s, not %s, the version of %s", latest.Rel, want, current.Rel)}}
	} else if !exists(latest.Path) {
		p = []Problem{{File: latest.Rel, Message: "does not exist"}}
	}
	add("structure-current-materialized", fmt.Sprintf("must contain materialized current schema file as\u00a0the greatest %s version %s.%s", main, current.Version, main), current, p)

	add("structure-current-equals-latest", fmt.Sprintf("current version %s must be equal to materialized latest version %s", current.Version, latest.Version), current, t.currentMatches(current, latest))

	if cfg.ShouldSymlinkLatest {
		target := abs(latest.Version + "." + main)
		add("structure-latest-symlink", fmt.Sprintf("Should have latest.%s symlink pointing to latest version file %s", latest.ContentType, path.Join(displayDir, path.Base(latest.Rel))), nil,
			linkProblems(abs("latest."+latest.ContentType), path.Join(schemaDir, "latest."+latest.ContentType), target))
		if cfg.ShouldSymlinkExtensionless {
			add("structure-latest-extensionless-symlink", fmt.Sprintf("Should have extensionless latest symlink pointing to latest version file %s", path.Join(displayDir, path.Base(latest.Rel))), nil,
				linkProblems(abs("latest"), path.Join(schemaDir, "latest"), target))
		}
	}

	// Per version, the current file included (it has its version's number).
	var versions []string
	byVersion := map[string][]*File{}
	for _, f := range files {
		if _, ok := byVersion[f.Version]; !ok {
			versions = append(versions, f.Version)
		}
		byVersion[f.Version] = append(byVersion[f.Version], f)
	}
	for _, v := range versions {
		group = v + " "
		files := byVersion[v]
		for _, ct := range cfg.ContentTypes {
			var f *File
			for _, g := range files {
				if g.ContentType == ct {
					f = g
					break
				}
			}
			p = nil
			switch {
			case f == nil:
				p = []Problem{{Message: fmt.Sprintf("no %s file of version %s", ct, v)}}
			case dirOf(f) != schemaDir:
				p = []Problem{{File: f.Rel, Message: fmt.Sprintf("not in %s", schemaDir)}}
			case !exists(f.Path):
				p = []Problem{{File: f.Rel, Message: "does not exist"}}
			}
			add("structure-content-type-exists", fmt.Sprintf("must have %s version in %s", ct, displayDir), f, p)

			if cfg.ShouldSymlinkExtensionless && ct == main {
				p = nil
				entry := abs(v)
				switch target, isLink := readLink(entry); {
				case !exists(entry):
					p = []Problem{{File: path.Join(schemaDir, v), Message: "missing"}}
				case !isLink:
					p = []Problem{{File: path.Join(schemaDir, v), Message: "not a symlink (nor a file holding its target's name)"}}
				case target != v+"."+ct:
					p = []Problem{{File: path.Join(schemaDir, v), Message: fmt.Sprintf("points to %s, not %s", target, v+"."+ct)}}
				}
				add("structure-version-symlink", fmt.Sprintf("must have extensionless symlink version pointing to %s", ct), f, p)
			}

			p = nil
			if f == nil {
				p = []Problem{{Message: fmt.Sprintf("no %s file of version %s", ct, v)}}
			} else if f.Title != title {
				p = []Problem{{File: f.Rel, Path: "#/" + cfg.SchemaTitleField, Message: fmt.Sprintf("title %q is not %q", f.Title, title)}}
			}
			add("structure-title-correct", fmt.Sprintf("%s version must have correct %s", ct, cfg.SchemaTitleField), f, p)

			p = nil
			if f == nil {
				p = []Problem{{Message: fmt.Sprintf("no %s file of version %s", ct, v)}}
			} else if dirOf(f) != title {
				p = []Problem{{File: f.Rel, Message: fmt.Sprintf("directory %q does not match title %q", dirOf(f), title)}}
			}
			add("structure-version-in-title-directory", fmt.Sprintf("%s version must be in directory that matches title", ct), f, p)

			p = nil
			if f == nil {
				p = []Problem{{Message: fmt.Sprintf("no %s file of version %s", ct, v)}}
			} else if id := f.ID; len(id) == 0 || !strings.Contains(f.Rel, id[1:]) {
				p = []Problem{{File: f.Rel, Path: "#/$id", Message: fmt.Sprintf("schema $id %q must match relative schema directory", id)}}
			}
			add("structure-id-matches-directory", "$id must match directory", f, p)
		}
		p = nil
		var mats []*File
		for _, g := range files {
			if !g.Current {
				mats = append(mats, g)
			}
		}
		for i := 1; i < len(mats); i++ {
			if !deepEqual(mats[i].Doc, mats[i-1].Doc) {
				p = append(p, Problem{File: mats[i].Rel, Message: fmt.Sprintf("%s %s.%s does not equal %s.%s", title, v, mats[i].ContentType, v, mats[i-1].ContentType)})
			}
		}
		add("structure-content-types-equal", "all materialized content types must be equal", nil, p)
	}
}

// linkProblems checks an alias entry: it exists, is a symlink (or a file holding its target's
// name, as a checkout without symlinks has it) and resolves to the file target resolves to.
func linkProblems(entry, rel, target string) []Problem {
	if _, err := os.Stat(entry); err != nil {
		return []Problem{{File: rel, Message: "missing"}}
	}
	if _, isLink := readLink(entry); !isLink {
		return []Problem{{File: rel, Message: "not a symlink (nor a file holding its target's name)"}}
	}
	got, ok1 := realPath(entry)
	want, ok2 := realPath(target)
	if !ok1 || !ok2 || got != want {
		return []Problem{{File: rel, Message: fmt.Sprintf("resolves to %s, not %s", got, want)}}
	}
	return nil
}

// currentMatches materializes current and compares it with the latest version.
func (t *tester) currentMatches(current, latest *File) []Problem {
	if latest.Version != current.Version {
		return []Problem{{File: current.Rel, Message: fmt.Sprintf("current and latest schema versions read from %s do not match: %s and %s", t.cfg.SchemaVersionField, current.Version, latest.Version)}}
	}
	got, err := MaterializeDoc(current.Doc, t.cfg, t.res)
	if err != nil {
		return []Problem{{File: current.Rel, Message: err.Error()}}
	}
	diffs := diffDocs(latest.Doc, got, "", nil)
	if len(diffs) == 0 {
		return nil
	}
	for i := range diffs {
		diffs[i].File = latest.Rel
		diffs[i].Message = "dereferenced current schema does not equal latest schema version " + latest.Version + ": " + diffs[i].Message
	}
	return diffs
}

// diffDocs lists where two documents differ (at most 20 places).
func diffDocs(want, got any, at string, out []Problem) []Problem {
	if len(out) >= 20 {
		return out
	}
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if wok && gok {
		for _, k := range sortedKeys(wm) {
			kp := at + "/" + pointerToken(k)
			if g, ok := gm[k]; ok {
				out = diffDocs(wm[k], g, kp, out)
			} else {
				out = append(out, Problem{Path: "#" + kp, Message: "missing from the materialized current", Old: wm[k]})
			}
		}
		for _, k := range sortedKeys(gm) {
			if _, ok := wm[k]; !ok {
				out = append(out, Problem{Path: "#" + at + "/" + pointerToken(k), Message: "not in the committed version", New: gm[k]})
			}
		}
		return out
	}
	if !deepEqual(want, got) {
		out = append(out, Problem{Path: "#" + at, Message: "differs", Old: want, New: got})
	}
	return out
}
