package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// options is one command's flags. Every flag also reads the environment variable INTAKE_<NAME>
// (upper case, dashes as underscores) and, for serve, the YAML key <name> (dashes as underscores)
// of --config. Precedence: command line, then environment, then file, then the default.
type options struct {
	fs    *flag.FlagSet
	lists map[string]*stringList
}

func newOptions(name, usage string) *options {
	o := &options{fs: flag.NewFlagSet(name, flag.ContinueOnError), lists: map[string]*stringList{}}
	o.fs.SetOutput(io.Discard)
	o.fs.Usage = func() { o.printUsage(os.Stderr, usage) }
	return o
}

func (o *options) String(name, def, usage string) *string { return o.fs.String(name, def, usage) }
func (o *options) Int(name string, def int, usage string) *int {
	return o.fs.Int(name, def, usage)
}
func (o *options) Int64(name string, def int64, usage string) *int64 {
	return o.fs.Int64(name, def, usage)
}
func (o *options) Bool(name string, def bool, usage string) *bool { return o.fs.Bool(name, def, usage) }
func (o *options) Duration(name string, def time.Duration, usage string) *time.Duration {
	return o.fs.Duration(name, def, usage)
}

// List is a repeatable flag; the environment variable holds a comma-separated list.
func (o *options) List(name string, def []string, usage string) *[]string {
	l := &stringList{values: append([]string(nil), def...)}
	o.lists[name] = l
	o.fs.Var(l, name, usage)
	return &l.values
}

type stringList struct {
	values []string
	set    bool // the first Set replaces the default
}

func (l *stringList) String() string { return strings.Join(l.values, ",") }

func (l *stringList) Set(v string) error {
	if !l.set {
		l.values = nil
		l.set = true
	}
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			l.values = append(l.values, s)
		}
	}
	return nil
}

func envName(flagName string) string {
	return "INTAKE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func yamlKey(flagName string) string { return strings.ReplaceAll(flagName, "-", "_") }

// parse reads the command line, then fills each flag not given there from the environment or from
// the YAML file named by the flag configFlag (when the command has one).
func (o *options) parse(args []string, configFlag string) error {
	if err := o.fs.Parse(args); err != nil {
		return err // on -h the flag package has printed the usage already
	}
	onCommandLine := map[string]bool{}
	o.fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })

	var file map[string]any
	if configFlag != "" {
		path := o.fs.Lookup(configFlag).Value.String()
		if v, ok := os.LookupEnv(envName(configFlag)); ok && !onCommandLine[configFlag] {
			path = v
		}
		if path != "" {
			var err error
			if file, err = readConfigFile(path, o.fs); err != nil {
				return err
			}
		}
	}
	var errs []error
	o.fs.VisitAll(func(f *flag.Flag) {
		if onCommandLine[f.Name] || f.Name == configFlag {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("cannot use %s=%q: %w", envName(f.Name), v, err))
			}
			return
		}
		v, ok := file[yamlKey(f.Name)]
		if !ok {
			return
		}
		values, isList := v.([]any)
		if !isList {
			values = []any{v}
		}
		for _, item := range values {
			if err := f.Value.Set(fmt.Sprint(item)); err != nil {
				errs = append(errs, fmt.Errorf("cannot use %s: %v in the config file: %w", yamlKey(f.Name), item, err))
			}
		}
	})
	return errors.Join(errs...)
}

func readConfigFile(path string, fs *flag.FlagSet) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the config file (--config): %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("cannot parse the config file %s as YAML: %w", path, err)
	}
	var unknown []string
	for k := range m {
		if fs.Lookup(strings.ReplaceAll(k, "_", "-")) == nil {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("the config file %s has unknown keys %s (see --help for the keys: flag names with _ for -)",
			path, strings.Join(unknown, ", "))
	}
	return m, nil
}

func (o *options) printUsage(w io.Writer, usage string) {
	fmt.Fprintf(w, "%s\n\nFlags (each also read from the environment variable shown):\n", usage)
	o.fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + name
		}
		def := f.DefValue
		if _, isList := o.lists[f.Name]; isList {
			name = " VALUE"
			help += " (repeatable; comma-separated in the environment)"
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s\n    \t[env %s] (default %q)\n", f.Name, name, help, envName(f.Name), def)
	})
}
