package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"intake.dev/intake/schemarepo"
)

const schemaUsage = `Usage:
  intake schema test        [flags] DIR          run a schema repository's checks (jsonschema-tools')
  intake schema check       [flags] OLD NEW      check that NEW is a compatible version of OLD
  intake schema materialize [flags] FILE...      write the versions current.yaml files describe
  intake schema materialize [flags] --all [DIR]

Run "intake schema COMMAND --help" for a command's flags.`

// schemaCommand runs "intake schema ...". Exit status: 0 all passed, 1 some check failed, 2 usage
// or configuration error (returned as err).
func schemaCommand(args []string, stdout io.Writer) (int, error) {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, schemaUsage)
		return 2, errors.New("schema needs a command: test, check or materialize")
	}
	switch args[0] {
	case "test":
		return schemaTest(args[1:], stdout)
	case "check":
		return schemaCheck(args[1:], stdout)
	case "materialize":
		return schemaMaterialize(args[1:], stdout)
	case "help", "-h", "--help", "-help":
		fmt.Fprintln(stdout, schemaUsage)
		return 0, nil
	}
	fmt.Fprintln(os.Stderr, schemaUsage)
	return 2, fmt.Errorf("unknown schema command %q", args[0])
}

type schemaRepoConfig struct {
	Config     string
	BaseURIMap []string
	Format     string
	Verbose    bool
	All        bool
}

func repoSettings(c *schemaRepoConfig) []setting {
	return []setting{
		str("config", &c.Config, "the repository's jsonschema-tools configuration (default: .jsonschema-tools.yaml at the repository's root)"),
		list("base-uri-map", &c.BaseURIMap, "URI=DIR: read the $refs under schema base URI URI (a URL in the configuration's schemaBaseUris) from directory DIR; nothing is fetched from the network"),
	}
}

func (c *schemaRepoConfig) options() (schemarepo.Options, error) {
	o := schemarepo.Options{ConfigPath: c.Config, BaseURIMap: map[string]string{}}
	for _, m := range c.BaseURIMap {
		uri, dir, ok := strings.Cut(m, "=")
		if !ok || uri == "" || dir == "" {
			return o, fmt.Errorf("cannot use --base-uri-map %q: want URI=DIR", m)
		}
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			return o, fmt.Errorf("cannot use --base-uri-map %q: %s is not a directory", m, dir)
		}
		o.BaseURIMap[uri] = dir
	}
	return o, nil
}

func checkFormat(f string) error {
	if f != "text" && f != "json" {
		return fmt.Errorf("cannot use --format %q: want text or json", f)
	}
	return nil
}

func schemaTestOptions() (*options, *schemaRepoConfig) {
	c := &schemaRepoConfig{Format: "text"}
	o := newOptions("schema test", "Usage: intake schema test [flags] DIR\n\n"+
		"Runs the repository tests of Wikimedia's jsonschema-tools 1.3.0 (structure, robustness,\n"+
		"compatibility) on the schema repository at DIR (its root, where .jsonschema-tools.yaml is),\n"+
		"with its skip lists; examples are validated as the edge validates events. Exit status: 0 all\n"+
		"pass, 1 some fail, 2 usage or configuration error.", "")
	o.add(repoSettings(c)...)
	o.add(
		str("format", &c.Format, "text (failures, then a count) or json (every test)"),
		boolean("verbose", &c.Verbose, "text: list the passing and skipped tests too"),
	)
	return o, c
}

func schemaTest(args []string, stdout io.Writer) (int, error) {
	o, c := schemaTestOptions()
	if err := o.parse(args); err != nil {
		return 2, err
	}
	if o.fs.NArg() != 1 {
		o.fs.Usage()
		return 2, errors.New("schema test needs one repository DIR")
	}
	if err := checkFormat(c.Format); err != nil {
		return 2, err
	}
	opts, err := c.options()
	if err != nil {
		return 2, err
	}
	rep, err := schemarepo.Test(o.fs.Arg(0), opts)
	if err != nil {
		return 2, err
	}
	if c.Format == "json" {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout, c.Verbose)
	}
	if err != nil {
		return 2, err
	}
	if !rep.OK() {
		return 1, nil
	}
	return 0, nil
}

type schemaCheckConfig struct {
	Mode     string
	Format   string
	BaseURIs []string
}

func schemaCheckOptions() (*options, *schemaCheckConfig) {
	c := &schemaCheckConfig{Mode: string(schemarepo.ModeJSONSchemaTools), Format: "text"}
	o := newOptions("schema check", "Usage: intake schema check [flags] OLD NEW\n\n"+
		"Checks that schema NEW is a compatible version of schema OLD (files, or URIs such as\n"+
		"/test/event/1.0.0 under --schema-base-uri). Modes: jsonschema-tools (the rule schema\n"+
		"repositories' CI applies between versions), backward (readers of NEW read OLD's events),\n"+
		"forward (readers of OLD read NEW's events), full (both), none. Exit status: 0 compatible,\n"+
		"1 not, 2 usage error.", "")
	o.add(
		str("mode", &c.Mode, "jsonschema-tools, backward, forward, full or none"),
		str("format", &c.Format, "text or json"),
		list("schema-base-uri", &c.BaseURIs, "schema repository directory that OLD and NEW given as URIs are read from; tried in order"),
	)
	return o, c
}

func schemaCheck(args []string, stdout io.Writer) (int, error) {
	o, c := schemaCheckOptions()
	if err := o.parse(args); err != nil {
		return 2, err
	}
	if o.fs.NArg() != 2 {
		o.fs.Usage()
		return 2, errors.New("schema check needs OLD and NEW")
	}
	if err := checkFormat(c.Format); err != nil {
		return 2, err
	}
	mode := schemarepo.Mode(c.Mode)
	if _, err := schemarepo.CheckCompatible(nil, nil, mode); err != nil {
		return 2, fmt.Errorf("cannot use --mode: %w", err)
	}
	var docs [2]any
	for i, arg := range []string{o.fs.Arg(0), o.fs.Arg(1)} {
		d, err := schemarepo.ReadSchema(arg, c.BaseURIs)
		if err != nil {
			return 2, err
		}
		docs[i] = d
	}
	problems, err := schemarepo.CheckCompatible(docs[0], docs[1], mode)
	if err != nil {
		return 2, err
	}
	if c.Format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if problems == nil {
			problems = []schemarepo.Problem{}
		}
		err = enc.Encode(map[string]any{"old": o.fs.Arg(0), "new": o.fs.Arg(1), "mode": mode, "compatible": len(problems) == 0, "problems": problems})
	} else {
		var b strings.Builder
		if len(problems) == 0 {
			fmt.Fprintf(&b, "compatible (%s): %s -> %s\n", mode, o.fs.Arg(0), o.fs.Arg(1))
		} else {
			fmt.Fprintf(&b, "NOT compatible (%s): %s -> %s\n", mode, o.fs.Arg(0), o.fs.Arg(1))
			for _, p := range problems {
				fmt.Fprintf(&b, "    %s\n", p)
			}
		}
		_, err = io.WriteString(stdout, b.String())
	}
	if err != nil {
		return 2, err
	}
	if len(problems) > 0 {
		return 1, nil
	}
	return 0, nil
}

func schemaMaterializeOptions() (*options, *schemaRepoConfig) {
	c := &schemaRepoConfig{}
	o := newOptions("schema materialize", "Usage: intake schema materialize [flags] FILE...\n"+
		"       intake schema materialize [flags] --all [DIR]\n\n"+
		"Materializes each current.yaml FILE (or, with --all, every one of the repository at DIR, the\n"+
		"working directory by default) as jsonschema-tools materialize does: $refs resolved and\n"+
		"allOf merged, <version>.yaml (and .json if configured) written with the extensionless and\n"+
		"latest alias entries. A version file that exists with another content is not overwritten\n"+
		"(exit status 1): a changed schema needs a new version in its $id.", "")
	o.add(repoSettings(c)...)
	o.add(boolean("all", &c.All, "materialize every current file of the repository DIR"))
	return o, c
}

func schemaMaterialize(args []string, stdout io.Writer) (int, error) {
	o, c := schemaMaterializeOptions()
	if err := o.parse(args); err != nil {
		return 2, err
	}
	opts, err := c.options()
	if err != nil {
		return 2, err
	}
	report := func(ws []*schemarepo.Written) {
		for _, w := range ws {
			for _, f := range w.Files {
				fmt.Fprintf(stdout, "wrote %s\n", f)
			}
			for _, f := range w.Same {
				fmt.Fprintf(stdout, "unchanged %s\n", f)
			}
		}
	}
	failed := func(err error) (int, error) {
		fmt.Fprintln(os.Stderr, "intake schema materialize:", err)
		return 1, nil
	}
	if c.All {
		if o.fs.NArg() > 1 {
			return 2, errors.New("schema materialize --all takes one repository DIR")
		}
		dir := "."
		if o.fs.NArg() == 1 {
			dir = o.fs.Arg(0)
		}
		repo, res, err := schemarepo.Open(dir, opts)
		if err != nil {
			return 2, err
		}
		ws, err := schemarepo.MaterializeAll(repo, res)
		report(ws)
		if err != nil {
			return failed(err)
		}
		return 0, nil
	}
	if o.fs.NArg() == 0 {
		o.fs.Usage()
		return 2, errors.New("schema materialize needs current FILEs, or --all")
	}
	code := 0
	for _, file := range o.fs.Args() {
		root, err := repoRoot(file)
		if err != nil {
			return 2, err
		}
		repo, res, err := schemarepo.Open(root, opts)
		if err != nil {
			return 2, err
		}
		cur := repo.File(file)
		if cur == nil || !cur.Current {
			return 2, fmt.Errorf("%s is not a current schema file of the repository at %s", file, root)
		}
		w, err := schemarepo.MaterializeFile(repo, res, cur)
		if err != nil {
			code, _ = failed(err)
			continue
		}
		report([]*schemarepo.Written{w})
	}
	return code, nil
}

// repoRoot is the nearest directory above file holding .jsonschema-tools.yaml.
func repoRoot(file string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, schemarepo.ConfigFile)); err == nil {
			return dir, nil
		}
		if dir == filepath.Dir(dir) {
			return "", fmt.Errorf("no %s in a directory above %s: run in a schema repository", schemarepo.ConfigFile, file)
		}
	}
}
