package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"intake.dev/intake/fastpath"
)

// A setting is one flag bound to the field it sets, with its help. Everything else derives from
// it: the environment variable INTAKE_<NAME> (envName), the YAML key of serve's --config file
// (yamlKey), the default (the field's value when the setting is added: the field's package's
// DefaultConfig, or the command's own literal), --help, the limits serve checks, and the flag
// named in a stage package's *ConfigError about the field (options.flagError).
type setting struct {
	name  string
	help  string
	arg   string     // what --help calls the value: "string", "int", "duration", "VALUE"; "" for a bool
	value flag.Value // reads into the field
	field any        // the field's address
	limit *int       // set for a request limit: 0 or more (checkLimits)
}

func str(name string, p *string, help string) setting {
	return setting{name: name, help: help, arg: "string", value: (*stringValue)(p), field: p}
}

func num(name string, p *int, help string) setting {
	return setting{name: name, help: help, arg: "int", value: intValue[int]{p}, field: p}
}

func num32(name string, p *int32, help string) setting {
	return setting{name: name, help: help, arg: "int", value: intValue[int32]{p}, field: p}
}

func num64(name string, p *int64, help string) setting {
	return setting{name: name, help: help, arg: "int", value: intValue[int64]{p}, field: p}
}

// limit is a request limit of the edge: an int that may not be negative, listed by checkLimits.
func limit(name string, p *int, help string) setting {
	s := num(name, p, help)
	s.limit = p
	return s
}

func dur(name string, p *time.Duration, help string) setting {
	return setting{name: name, help: help, arg: "duration", value: (*durationValue)(p), field: p}
}

func boolean(name string, p *bool, help string) setting {
	return setting{name: name, help: help, value: (*boolValue)(p), field: p}
}

// list is a repeatable flag; the environment variable holds a comma-separated list, the YAML file
// a YAML list.
func list(name string, p *[]string, help string) setting {
	return setting{name: name, help: help + " (repeatable; comma-separated in the environment)", arg: "VALUE",
		value: &listValue{p: p}, field: p}
}

// path is a dotted event field path ("meta.stream") read into its segments.
func path(name string, p *[]string, help string) setting {
	return setting{name: name, help: help, arg: "string", value: pathValue{p}, field: p}
}

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

type intValue[T int | int32 | int64] struct{ p *T }

func (v intValue[T]) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, 64)
	if err == nil && int64(T(n)) != n {
		err = strconv.ErrRange
	}
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok {
			err = ne.Err // the flag or variable is named by the caller
		}
		return err
	}
	*v.p = T(n)
	return nil
}

func (v intValue[T]) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatInt(int64(*v.p), 10)
}

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 500ms, 30s or 2m")
	}
	*v = durationValue(d)
	return nil
}

func (v *durationValue) String() string { return time.Duration(*v).String() }

type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	*v = boolValue(b)
	return nil
}

func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

type listValue struct {
	p   *[]string
	set bool // the first Set replaces the default
}

func (l *listValue) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}

func (l *listValue) Set(v string) error {
	if !l.set {
		*l.p = nil
		l.set = true
	}
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l.p = append(*l.p, s)
		}
	}
	return nil
}

type pathValue struct{ p *[]string }

func (v pathValue) Set(s string) error { *v.p = fastpath.SplitPath(s); return nil }

func (v pathValue) String() string {
	if v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ".")
}

func envName(flagName string) string {
	return "INTAKE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func yamlKey(flagName string) string { return strings.ReplaceAll(flagName, "-", "_") }

// options are one command's settings. Every flag also reads the environment variable
// INTAKE_<NAME> (upper case, dashes as underscores) and, for a command with a config flag (serve's
// --config), the YAML key <name> (dashes as underscores) of that file. Precedence: command line,
// then environment, then file, then the default.
type options struct {
	fs         *flag.FlagSet
	settings   []setting
	configFlag string // the setting naming the YAML file; "" for none
}

func newOptions(name, usage, configFlag string) *options {
	o := &options{fs: flag.NewFlagSet(name, flag.ContinueOnError), configFlag: configFlag}
	o.fs.SetOutput(io.Discard)
	o.fs.Usage = func() { o.printUsage(os.Stderr, usage) }
	return o
}

// add registers settings; each one's default is its field's value now.
func (o *options) add(settings ...setting) {
	for _, s := range settings {
		o.fs.Var(s.value, s.name, s.help)
		o.settings = append(o.settings, s)
	}
}

func (o *options) setting(name string) *setting {
	for i := range o.settings {
		if o.settings[i].name == name {
			return &o.settings[i]
		}
	}
	return nil
}

// parse reads the command line, then fills each flag not given there from the environment or from
// the YAML file named by the config flag (when the command has one).
func (o *options) parse(args []string) error {
	if err := o.fs.Parse(args); err != nil {
		return err // on -h the flag package has printed the usage already
	}
	onCommandLine := map[string]bool{}
	o.fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })

	var file map[string]any
	if o.configFlag != "" {
		path := o.fs.Lookup(o.configFlag).Value.String()
		if v, ok := os.LookupEnv(envName(o.configFlag)); ok && !onCommandLine[o.configFlag] {
			path = v
		}
		if path != "" {
			var err error
			if file, err = o.readConfigFile(path); err != nil {
				return err
			}
		}
	}
	var errs []error
	o.fs.VisitAll(func(f *flag.Flag) {
		if onCommandLine[f.Name] || f.Name == o.configFlag {
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

func (o *options) readConfigFile(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the config file (--%s): %w", o.configFlag, err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("cannot parse the config file %s as YAML: %w", path, err)
	}
	var unknown []string
	for k := range m {
		if o.fs.Lookup(strings.ReplaceAll(k, "_", "-")) == nil {
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
		s := o.setting(f.Name)
		arg := s.arg
		if arg != "" {
			arg = " " + arg
		}
		from := "env " + envName(f.Name)
		if o.configFlag != "" && f.Name != o.configFlag {
			from += ", YAML key " + yamlKey(f.Name)
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s\n    \t[%s] (default %q)\n", f.Name, arg, s.help, from, f.DefValue)
	})
}

// checkLimits refuses a negative limit, naming the flag.
func (o *options) checkLimits() error {
	for _, s := range o.settings {
		if s.limit != nil && *s.limit < 0 {
			return fmt.Errorf("cannot use --%s %d: a limit is 0 or more", s.name, *s.limit)
		}
	}
	return nil
}

// flagError words err with the flags of this command when it is a stage package's *ConfigError
// (kafkaout's, schemacache's) about a field of cfg, the config that was handed to the package (a
// pointer to it): the package names its Go field, the operator needs the flag bound to it. Any
// other error is returned as it is.
func (o *options) flagError(err error, cfg any) error {
	var ce interface {
		Message(name func(field string) string) string
	}
	if !errors.As(err, &ce) {
		return err
	}
	return errors.New(ce.Message(func(field string) string { return o.flagFor(cfg, field) }))
}

// flagFor is "--<flag>" of the setting bound to cfg's field, found by the field's address, or the
// field's Go name when no flag sets it.
func (o *options) flagFor(cfg any, field string) string {
	c := reflect.ValueOf(cfg).Elem()
	if f := c.FieldByName(field); f.IsValid() {
		addr := f.Addr()
		for _, s := range o.settings {
			if p := reflect.ValueOf(s.field); p.Type() == addr.Type() && p.Pointer() == addr.Pointer() {
				return "--" + s.name
			}
		}
	}
	return c.Type().String() + "." + field
}
