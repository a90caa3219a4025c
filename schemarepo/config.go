package schemarepo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ConfigFile is the name of a repository's jsonschema-tools configuration, at its root.
const ConfigFile = ".jsonschema-tools.yaml"

// Config is a repository's .jsonschema-tools.yaml with jsonschema-tools 1.3.0's defaults for what
// it leaves out. Only the keys the repository checks and materialization use are read; the others
// (logLevel, gitStaged, shouldGitAdd, dryRun...) are accepted and ignored.
type Config struct {
	// SchemaBasePath is the directory of the schemas, relative to the repository root
	// ("./jsonschema/"); the root itself by default.
	SchemaBasePath string `json:"schemaBasePath"`
	// SchemaBaseURIs are the bases a "$ref" path is looked up under, in order: directories
	// (relative to the repository root) or URLs. Default: [SchemaBasePath].
	SchemaBaseURIs []string `json:"schemaBaseUris"`
	// ContentTypes are the file types of materialized versions ("yaml", "json"); the first is
	// the one compared, linked and tested. Default [yaml, json].
	ContentTypes []string `json:"contentTypes"`
	// CurrentName is the source file's name, "current" (given the first content type's
	// extension when it has none).
	CurrentName        string `json:"currentName"`
	SchemaVersionField string `json:"schemaVersionField"` // "$id"
	SchemaTitleField   string `json:"schemaTitleField"`   // "title"

	ShouldSymlinkExtensionless bool `json:"shouldSymlinkExtensionless"`
	ShouldSymlinkLatest        bool `json:"shouldSymlinkLatest"`
	ShouldDereference          bool `json:"shouldDereference"`
	ShouldGenerateExample      bool `json:"shouldGenerateExample"`

	// IgnoreSchemas are $id patterns (JavaScript regular expressions, unanchored) of files left
	// out of everything.
	IgnoreSchemas []string `json:"ignoreSchemas"`
	// SkipSchemaTestCases maps a $id pattern to the test cases (jsonschema-tools' names, such as
	// "schema-version-compatibility") skipped for the files whose $id it matches.
	SkipSchemaTestCases map[string][]string `json:"skipSchemaTestCases"`
	// EnforcedNumericBounds is [minimum, maximum] every number and integer must stay within
	// (materialize fills in missing bounds); nil disables it. Default: JavaScript's safe
	// integers, ±(2^53-1).
	EnforcedNumericBounds []float64 `json:"enforcedNumericBounds"`

	ignore []*regexp.Regexp
	skip   []skipRule
}

type skipRule struct {
	pattern *regexp.Regexp
	cases   []string
}

const maxSafeInteger = 1<<53 - 1

// DefaultConfig is jsonschema-tools' defaultOptions.
func DefaultConfig() Config {
	return Config{
		SchemaBasePath:             ".",
		ContentTypes:               []string{"yaml", "json"},
		CurrentName:                "current",
		SchemaVersionField:         "$id",
		SchemaTitleField:           "title",
		ShouldSymlinkExtensionless: true,
		ShouldSymlinkLatest:        true,
		ShouldDereference:          true,
		EnforcedNumericBounds:      []float64{-maxSafeInteger, maxSafeInteger},
	}
}

// ReadConfig reads a jsonschema-tools configuration file over DefaultConfig. A missing file is
// not an error when optional is true (jsonschema-tools reads its default path only if it exists).
func ReadConfig(path string, optional bool) (Config, error) {
	c := DefaultConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return c, c.compile()
		}
		return c, fmt.Errorf("cannot read the jsonschema-tools config (--config): %w", err)
	}
	doc, err := decodeDoc(data)
	if err != nil {
		return c, fmt.Errorf("cannot read the jsonschema-tools config %s (--config): %w", path, err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return c, fmt.Errorf("the jsonschema-tools config %s (--config) is not a mapping", path)
	}
	// enforcedNumericBounds may be set to null or false to turn the bounds off.
	if v, ok := m["enforcedNumericBounds"]; ok && !truthy(v) {
		delete(m, "enforcedNumericBounds")
		c.EnforcedNumericBounds = nil
	}
	if err := json.Unmarshal(jsonBytes(m), &c); err != nil {
		return c, fmt.Errorf("cannot read the jsonschema-tools config %s (--config): %w", path, err)
	}
	if c.EnforcedNumericBounds != nil && len(c.EnforcedNumericBounds) != 2 {
		return c, fmt.Errorf("the jsonschema-tools config %s (--config): enforcedNumericBounds must be [minimum, maximum]", path)
	}
	return c, c.compile()
}

// compile fills derived defaults and compiles the patterns.
func (c *Config) compile() error {
	if len(c.ContentTypes) == 0 {
		return errors.New("the jsonschema-tools config: contentTypes is empty")
	}
	for _, t := range c.ContentTypes {
		if t != "yaml" && t != "json" {
			return fmt.Errorf("the jsonschema-tools config: contentTypes: %q is neither yaml nor json", t)
		}
	}
	if c.CurrentName == "" {
		c.CurrentName = "current"
	}
	if filepath.Ext(c.CurrentName) == "" {
		c.CurrentName += "." + c.ContentTypes[0]
	}
	if c.SchemaBasePath == "" {
		c.SchemaBasePath = "."
	}
	if len(c.SchemaBaseURIs) == 0 {
		c.SchemaBaseURIs = []string{c.SchemaBasePath}
	}
	if c.SchemaVersionField == "" {
		c.SchemaVersionField = "$id"
	}
	if c.SchemaTitleField == "" {
		c.SchemaTitleField = "title"
	}
	c.ignore = nil
	for _, p := range c.IgnoreSchemas {
		re, err := compileJSRegexp(p)
		if err != nil {
			return fmt.Errorf("the jsonschema-tools config: ignoreSchemas: %w", err)
		}
		c.ignore = append(c.ignore, re)
	}
	c.skip = nil
	for _, p := range sortedKeysOf(c.SkipSchemaTestCases) {
		re, err := compileJSRegexp(p)
		if err != nil {
			return fmt.Errorf("the jsonschema-tools config: skipSchemaTestCases: %w", err)
		}
		c.skip = append(c.skip, skipRule{pattern: re, cases: c.SkipSchemaTestCases[p]})
	}
	return nil
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// compileJSRegexp compiles a pattern that jsonschema-tools matches with String.prototype.match:
// a JavaScript regular expression, unanchored. The patterns configurations use are also RE2.
func compileJSRegexp(p string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", p, err)
	}
	return re, nil
}

// skipped reports whether test case name is skipped for a file with this $id.
func (c *Config) skipped(id, name string) bool {
	for _, r := range c.skip {
		if !r.pattern.MatchString(id) {
			continue
		}
		for _, n := range r.cases {
			if n == name {
				return true
			}
		}
	}
	return false
}

// ignored reports whether a file with this $id is left out (ignoreSchemas).
func (c *Config) ignored(id string) bool {
	for _, re := range c.ignore {
		if re.MatchString(id) {
			return true
		}
	}
	return false
}

func (c *Config) mainType() string { return c.ContentTypes[0] }

func trimDotSlash(p string) string { return strings.TrimPrefix(p, "./") }
