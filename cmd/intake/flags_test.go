package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"intake.dev/intake/kafkaout"
)

// commands are the options of every command, freshly bound.
func commands() map[string]*options {
	serveO, _ := serveOptions()
	tailO, _ := tailOptions()
	validateO, _ := validateOptions()
	brokerO, _ := brokerOptions()
	canaryO, _ := canaryOptions()
	schemaTestO, _ := schemaTestOptions()
	schemaCheckO, _ := schemaCheckOptions()
	schemaMaterializeO, _ := schemaMaterializeOptions()
	return map[string]*options{"serve": serveO, "tail": tailO, "validate": validateO, "broker": brokerO, "canary": canaryO,
		"schema-test": schemaTestO, "schema-check": schemaCheckO, "schema-materialize": schemaMaterializeO}
}

// The flags, environment variables, YAML keys and defaults of every command are those of
// testdata/flags.txt, written down from the definitions before the flags were bound to their
// fields: binding them changed none.
func TestFlagNamesUnchanged(t *testing.T) {
	f, err := os.Open("testdata/flags.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			want[line] = true
		}
	}
	got := map[string]bool{}
	for cmd, o := range commands() {
		o.fs.VisitAll(func(fl *flag.Flag) {
			key := "-"
			if o.configFlag != "" && fl.Name != o.configFlag {
				key = yamlKey(fl.Name)
			}
			got[fmt.Sprintf("%s %s %s %s %q", cmd, fl.Name, envName(fl.Name), key, fl.DefValue)] = true
		})
	}
	for line := range want {
		if !got[line] {
			t.Errorf("gone or changed: %s", line)
		}
	}
	for line := range got {
		if !want[line] {
			t.Errorf("new or changed: %s", line)
		}
	}
}

// readmeTable returns the rows of the first Markdown table after heading in README.md, each as
// its cells.
func readmeTable(t *testing.T, heading string) [][]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	var rows [][]string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		rows = append(rows, cells)
	}
	if len(rows) < 2 {
		t.Fatalf("README.md has no table under %q", heading)
	}
	return rows[1:] // without the header
}

var firstCode = regexp.MustCompile("^`([^`]*)`")

// sameDefault reports whether a README default cell shows the flag's default: the cell's first
// code span (durations compared as durations: `1m` is 1m0s), or no code span for an empty default.
func sameDefault(cell string, fl *flag.Flag, isDuration bool) bool {
	m := firstCode.FindStringSubmatch(cell)
	if m == nil {
		return fl.DefValue == ""
	}
	if isDuration {
		a, errA := time.ParseDuration(m[1])
		b, errB := time.ParseDuration(fl.DefValue)
		return errA == nil && errB == nil && a == b
	}
	return m[1] == fl.DefValue
}

// README's configuration reference lists every flag of serve, one row each, with its environment
// variable, its YAML key and its default, and nothing else; its limits table shows every limit
// serve checks, with the default: the README cannot drift from the binding.
func TestREADMEListsEveryFlag(t *testing.T) {
	o, _ := serveOptions()
	checkFlagTable(t, o, "serve", "## Configuration reference", true)

	limits := map[string]bool{}
	for _, row := range readmeTable(t, "## Limits") {
		m := regexp.MustCompile("^`--([a-z0-9-]+)`$").FindStringSubmatch(row[1])
		if m == nil {
			continue // a limit of the access config
		}
		s := o.setting(m[1])
		if s == nil {
			t.Errorf("README's limits name %s, which is no flag of serve", row[1])
			continue
		}
		limits[s.name] = true
		if fl := o.fs.Lookup(s.name); !sameDefault(row[2], fl, s.arg == "duration") {
			t.Errorf("--%s: README's limits say the default is %q, want %q", s.name, row[2], fl.DefValue)
		}
	}
	for _, s := range o.settings {
		if s.limit != nil && !limits[s.name] {
			t.Errorf("README's limits do not list --%s", s.name)
		}
	}
}

// An invalid value of any setting the commands or the stage packages check is an error naming the
// flag, never a Go field.
func TestErrorsNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "Config.") {
			t.Errorf("%s: got %v, want an error with %q naming no Go field", what, err, want)
		}
	}
	// serve, to its first error: past it, serve would serve. The sources and a broker that is
	// never dialled are given unless the case gives its own (a list flag given twice holds both).
	sources := []string{"--schema-base-uri", "../../examples/schemas", "--stream-config", "../../examples/stream-config.json"}
	run := func(want string, args []string) {
		t.Helper()
		errc := make(chan error, 1)
		go func() { errc <- serve(append([]string{"--listen", "127.0.0.1:0"}, args...)) }()
		select {
		case err := <-errc:
			check(fmt.Sprint("serve ", args), err, want)
		case <-time.After(30 * time.Second):
			t.Fatalf("serve %v started, want an error with %q", args, want)
		}
	}
	f := func(want string, args ...string) {
		t.Helper()
		run(want, append(append(sources, "--kafka-brokers", "127.0.0.1:1"), args...))
	}
	o, _ := serveOptions()
	for _, s := range o.settings {
		if s.limit != nil {
			f(fmt.Sprintf("cannot use --%s -1: a limit is 0 or more", s.name), "--"+s.name, "-1")
		}
	}
	f("cannot use --max-depth 0 with --max-members", "--max-depth", "0")
	f("--log-level", "--log-level", "loud")
	f("--log-format", "--log-format", "xml")
	run("set --schema-base-uri", []string{"--stream-config", "../../examples/stream-config.json"})
	f(`cannot use --schema-base-uri "ftp://x/y": only directories`, "--schema-base-uri", "ftp://x/y")
	f(`cannot use --schema-base-uri "`+notDir+`": not a directory`, "--schema-base-uri", notDir)
	run("set --stream-config", []string{"--schema-base-uri", "../../examples/schemas"})
	f(`cannot use --stream-config: cannot read stream config "/nonexistent/streams.json"`, "--stream-config", "/nonexistent/streams.json")
	f(`cannot use --format-mode "slow"`, "--format-mode", "slow")
	f("--access-config", "--access-config", "/nonexistent/access.yaml")
	f(`cannot use --trusted-proxies "10.0.0.0/8,proxy.example.org": cannot parse trusted proxy "proxy.example.org"`,
		"--trusted-proxies", "10.0.0.0/8", "--trusted-proxies", "proxy.example.org")
	f(`cannot use --stream-query-param "hasty": intake reads that query parameter itself`, "--stream-query-param", "hasty")
	f(`cannot use --schema-uri-query-param "s": the stream's query parameter has that name`,
		"--stream-query-param", "s", "--schema-uri-query-param", "s")
	// The trusted proxies have one source: an access config that still lists them is refused.
	oldAccess := filepath.Join(dir, "access.yaml")
	if err := os.WriteFile(oldAccess, []byte("trusted_proxies: [10.0.0.0/8]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f("access config trusted_proxies is no longer read: the trusted proxies are set once, by --trusted-proxies", "--access-config", oldAccess)
	f("cannot use --kafka-shards -1", "--kafka-shards", "-1")
	f("cannot use --kafka-ring-size -1", "--kafka-ring-size", "-1")
	f("cannot use --kafka-clients -1", "--kafka-clients", "-1")
	f("cannot use --kafka-batch-max-bytes 100", "--kafka-batch-max-bytes", "100")
	f("flag -kafka-batch-max-bytes: value out of range", "--kafka-batch-max-bytes", "3000000000") // beyond int32
	f("cannot use --kafka-linger 2m0s", "--kafka-linger", "2m")
	f(`cannot use --kafka-linger-policy "sometimes"`, "--kafka-linger-policy", "sometimes")
	f("cannot use --kafka-delivery-timeout 500ms", "--kafka-delivery-timeout", "500ms")
	f(`cannot use --kafka-compression "brotli"`, "--kafka-compression", "brotli")
	f(`cannot use --kafka-acks "some"`, "--kafka-acks", "some")
	f(`cannot use --spool-dir "`+notDir+`"`, "--spool-dir", notDir)
	f(`cannot use --spool-fsync "sometimes"`, "--spool-fsync", "sometimes", "--spool-dir", filepath.Join(dir, "spool-fsync"))
	f(`cannot use --spool-max-bytes 100`, "--spool-max-bytes", "100", "--spool-dir", filepath.Join(dir, "spool-max"))
	// A spool directory in use by another edge (here a producer of this process) is refused.
	locked := filepath.Join(dir, "spool-locked")
	holder, err := kafkaout.New(kafkaout.Config{Discard: true, SpoolDir: locked})
	if err != nil {
		t.Fatal(err)
	}
	f(`cannot use --spool-dir "`+locked+`"`, "--spool-dir", locked)
	_ = holder.Close(context.Background())
	f(`cannot use --kafka-tls-cert-file "c.pem" without --kafka-tls-key-file`, "--kafka-tls-cert-file", "c.pem")
	f(`cannot use --kafka-tls-key-file "k.pem" without --kafka-tls-cert-file`, "--kafka-tls-key-file", "k.pem")
	f(`cannot use --kafka-tls-ca-file "/nonexistent/ca.pem"`, "--kafka-tls-ca-file", "/nonexistent/ca.pem")
	f(`cannot use --kafka-tls-ca-file "`+notDir+`": holds no PEM certificate`, "--kafka-tls-ca-file", notDir)
	f(`cannot use --kafka-sasl-mechanism "gssapi"`, "--kafka-sasl-mechanism", "gssapi")
	f(`cannot use --kafka-sasl-mechanism "": a SASL user or password is set`, "--kafka-sasl-user", "u")
	f(`cannot use --kafka-sasl-user "": SASL plain needs a user`, "--kafka-sasl-mechanism", "plain")
	f("cannot use --kafka-sasl-password: SASL plain needs a password", "--kafka-sasl-mechanism", "plain", "--kafka-sasl-user", "u")
	run("need --kafka-brokers", append(sources, "--kafka-tls"))
	run(`cannot use --embedded-broker-addr "nonsense": want host:port`, append(sources, "--embedded-broker-addr", "nonsense"))
	f("(--listen)", "--listen", "nonsense")
	// Values that do not parse, on the command line, in the environment and in the file.
	f("-max-events", "--max-events", "many")
	t.Setenv("INTAKE_KAFKA_LINGER", "soon")
	f("INTAKE_KAFKA_LINGER", "--max-events", "5")
	os.Unsetenv("INTAKE_KAFKA_LINGER")
	file := filepath.Join(dir, "intake.yaml")
	if err := os.WriteFile(file, []byte("kafka_ring_size: big\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f("kafka_ring_size", "--config", file)

	// The other commands.
	_, err = validate([]string{"--schema-base-uri", "../../examples/schemas", "--format-mode", "slow"}, strings.NewReader("{}"), new(strings.Builder))
	check("validate", err, `cannot use --format-mode "slow"`)
	_, err = validate([]string{"--schema-base-uri", "ftp://x/y"}, strings.NewReader("{}"), new(strings.Builder))
	check("validate", err, `cannot use --schema-base-uri "ftp://x/y"`)
	check("tail", tail([]string{"--kafka-sasl-mechanism", "gssapi", "topic"}), `cannot use --kafka-sasl-mechanism "gssapi"`)
	check("tail", tail([]string{"--kafka-tls-cert-file", "c.pem", "topic"}), "cannot use --kafka-tls-cert-file \"c.pem\" without --kafka-tls-key-file")
	check("broker", broker([]string{"--addr", "nonsense"}), `cannot use --addr "nonsense"`)
	check("broker", broker([]string{"--addr", "127.0.0.1:99999"}), `cannot use --addr "127.0.0.1:99999"`)
}

// README's table of intake canary's flags lists each one, with its environment variable and
// default, and nothing else.
func TestREADMEListsEveryCanaryFlag(t *testing.T) {
	o, _ := canaryOptions()
	checkFlagTable(t, o, "canary", "### `intake canary`", false)
}

// checkFlagTable holds README's table of a command's flags under heading to the binding: one row
// per flag, its environment variable, its YAML key when withYAML (the config flag has none), its
// default; no flag missing, none twice, none that is not the command's.
func checkFlagTable(t *testing.T, o *options, cmd, heading string, withYAML bool) {
	t.Helper()
	cells := 4
	if withYAML {
		cells = 5
	}
	seen := map[string]bool{}
	for _, row := range readmeTable(t, heading) {
		if len(row) != cells {
			t.Errorf("row %q: want %d cells: flag, environment variable, (YAML key,) default, what", row, cells)
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(row[0], "`--"), "`")
		s := o.setting(name)
		if s == nil {
			t.Errorf("README lists %s, which is no flag of %s", row[0], cmd)
			continue
		}
		if seen[name] {
			t.Errorf("README lists --%s twice", name)
		}
		seen[name] = true
		if want := "`" + envName(name) + "`"; row[1] != want {
			t.Errorf("--%s: README says the variable is %s, want %s", name, row[1], want)
		}
		def := row[2]
		if withYAML {
			wantKey := "`" + yamlKey(name) + "`"
			if name == o.configFlag {
				wantKey = ""
			}
			if row[2] != wantKey {
				t.Errorf("--%s: README says the YAML key is %q, want %q", name, row[2], wantKey)
			}
			def = row[3]
		}
		if fl := o.fs.Lookup(name); !sameDefault(def, fl, s.arg == "duration") {
			t.Errorf("--%s: README says the default is %q, want %q", name, def, fl.DefValue)
		}
	}
	for _, s := range o.settings {
		if !seen[s.name] {
			t.Errorf("README's %s table (%s) does not list --%s", cmd, heading, s.name)
		}
	}
}
