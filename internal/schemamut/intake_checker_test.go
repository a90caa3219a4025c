package schemamut_test

import (
	"fmt"
	"strings"

	"intake.dev/intake/schemarepo"
)

// The intake side of the differential test: schemarepo.Test, the engine of `intake schema test`,
// its failed tests named as the reference's verdicts are (Verdict.Key).
func init() {
	intakeChecker = func(dir string) (map[string]bool, error) {
		rep, err := schemarepo.Test(dir, schemarepo.Options{})
		if err != nil {
			return nil, err
		}
		failed := map[string]bool{}
		for _, r := range rep.Results {
			if r.Status == schemarepo.Fail {
				failed[verdictKey(r)] = true
			}
		}
		return failed, nil
	}
}

// verdictKey is a result's Key as scripts/schema/verdicts-reporter.js makes it from mocha's title
// path: robustness "<case> <title>/<file>", compatibility "<case> <title>/<new version>",
// structure "<case> <title>" or "<case> <title>/<version>" inside a version's block.
func verdictKey(r schemarepo.Result) string {
	switch r.Suite {
	case schemarepo.SuiteRobustness:
		file, _, _ := strings.Cut(r.Test, " ")
		return r.Case + " " + r.Title + "/" + file
	case schemarepo.SuiteCompatibility:
		version, _, _ := strings.Cut(r.Test, " ")
		return r.Case + " " + r.Title + "/" + version
	}
	// The version's describe block sits between "Schema with title <title> " and the test.
	rest := r.FullTitle[strings.Index(r.FullTitle, "Schema with title "+r.Title+" ")+len("Schema with title "+r.Title+" "):]
	if group := strings.TrimSuffix(strings.TrimSuffix(rest, r.Test), " "); group != "" {
		return fmt.Sprintf("%s %s/%s", r.Case, r.Title, group)
	}
	return r.Case + " " + r.Title
}
