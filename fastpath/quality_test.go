package fastpath

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fastjson"
)

// mustRules compiles a quality_rules list and fails on any rule error.
func mustRules(t testing.TB, stream, doc string) []Rule {
	t.Helper()
	rules, errs := CompileRules(stream, fastjson.MustParse(doc), CompileOptions{})
	if len(errs) > 0 {
		t.Fatalf("%s: %v", doc, errs)
	}
	return rules
}

// The revision-create example event of the production schemas, shortened.
const revisionEvent = `{"$schema":"/mediawiki/revision/create/2.0.0","meta":{"stream":"mediawiki.revision-create","domain":"en.wikipedia.org"},
 "page_namespace":0,"page_title":"TestPage10","rev_is_revert":false,"rev_len":3,"rev_content_model":"wikitext",
 "performer":{"user_edit_count":1,"user_groups":["*","user","autoconfirmed"],"user_is_bot":false,"user_text":"Example"},
 "rev_slots":{"main":{"rev_slot_size":20}}}`

func TestRuleOperators(t *testing.T) {
	ev := fastjson.MustParse(revisionEvent)
	for _, c := range []struct {
		cond string
		want bool
	}{
		{`{"page_namespace": {"equals": 0}}`, true},
		{`{"page_namespace": 0}`, true}, // a bare value: equals
		{`{"page_namespace": {"equals": 1}}`, false},
		{`{"page_namespace": {"equals": "0"}}`, false}, // types differ
		{`{"page_namespace": {"not_equals": 1}}`, true},
		{`{"page_namespace": {"not_equals": 0}}`, false},
		{`{"rev_len": {"greater_than": 2}}`, true},
		{`{"rev_len": {"greater_than": 3}}`, false},
		{`{"rev_len": {"greater_than_or_equals": 3}}`, true},
		{`{"rev_len": {"less_than": 3}}`, false},
		{`{"rev_len": {"less_than_or_equals": 3}}`, true},
		{`{"page_title": {"greater_than": 2}}`, false}, // not a number
		{`{"rev_content_model": {"in": ["wikitext", "css"]}}`, true},
		{`{"rev_content_model": {"in": ["css"]}}`, false},
		{`{"rev_content_model": {"not_in": ["css"]}}`, true},
		{`{"rev_content_model": {"not_in": ["wikitext"]}}`, false},
		{`{"performer.user_groups": {"contains": "user"}}`, true},
		{`{"performer.user_groups": {"contains": "bot"}}`, false},
		{`{"performer.user_text": {"contains": "xamp"}}`, true}, // a string holding it
		{`{"performer.user_text": {"contains": "x.mp"}}`, false},
		{`{"performer.user_groups": {"contains_all": ["user", "autoconfirmed"]}}`, true},
		{`{"performer.user_groups": {"contains_all": ["user", "sysop"]}}`, false},
		{`{"performer.user_groups": {"contains_any": ["sysop", "user"]}}`, true},
		{`{"performer.user_groups": {"contains_any": ["sysop", "bot"]}}`, false},
		{`{"performer.user_text": {"matches": "^Ex"}}`, true},
		{`{"performer.user_text": {"matches": "^x"}}`, false},
		{`{"rev_slots.main.rev_slot_size": {"greater_than": 10, "less_than": 30}}`, true}, // nested, two operators
		{`{"rev_slots.main.rev_slot_size": {"greater_than": 10, "less_than": 15}}`, false},
		{`{"rev_slots.main.rev_slot_size": {"exists": true}}`, true},
		{`{"rev_slots.other.rev_slot_size": {"exists": false}}`, true},
		{`{"rev_slots.main": {"exists": false}}`, false},
		// A missing field: only the negative operators hold.
		{`{"performer.user_edit_count_x": {"equals": 1}}`, false},
		{`{"performer.user_edit_count_x": {"less_than": 1}}`, false},
		{`{"performer.user_edit_count_x": {"not_equals": 1}}`, true},
		{`{"performer.user_edit_count_x": {"not_in": [1]}}`, true},
		{`{"page_title.x": {"equals": 1}}`, false}, // under a string
		{`{"page_title.x": {"not_equals": 1}}`, true},
		// Combinations.
		{`{"page_namespace": 0, "rev_len": {"greater_than": 5}}`, false},
		{`{"any": [{"page_namespace": 1}, {"rev_len": 3}]}`, true},
		{`{"all": [{"page_namespace": 0}, {"rev_len": 4}]}`, false},
		{`{"not": {"page_namespace": 1}}`, true},
		{`{"not": {"any": [{"page_namespace": 0}, {"rev_len": 4}]}}`, false},
	} {
		rules := mustRules(t, "s", `[{"name":"r","then":`+c.cond+`}]`)
		if got := rules[0].Holds(ev); got != c.want {
			t.Errorf("%s: holds %v, want %v", c.cond, got, c.want)
		}
	}
}

// The story's form: "if field A has value X, then field B has to be > 200".
func TestRuleIfThen(t *testing.T) {
	rules := mustRules(t, "mediawiki.revision-create", `[
	 {"name": "article_editors_are_experienced",
	  "if":   {"page_namespace": {"equals": 0}},
	  "then": {"performer.user_edit_count": {"greater_than": 200}}},
	 {"name": "same_as_schema", "action": "reject",
	  "schema": {"if": {"properties": {"page_namespace": {"const": 0}}, "required": ["page_namespace"]},
	             "then": {"properties": {"performer": {"properties": {"user_edit_count": {"exclusiveMinimum": 200}}}}}}},
	 {"name": "whole_schema", "action": "flag", "schema": {"required": ["page_title"]}}]`)
	ru, schema, whole := &rules[0], &rules[1], &rules[2]
	if ru.Action != RuleCount || schema.Action != RuleReject || whole.Action != RuleFlag {
		t.Fatalf("actions %v %v %v", ru.Action, schema.Action, whole.Action)
	}
	if want := "if page_namespace equals 0 then performer.user_edit_count greater_than 200"; ru.Text != want {
		t.Errorf("text %q, want %q", ru.Text, want)
	}
	if strings.Join(ru.Fields, ",") != "page_namespace,performer.user_edit_count" {
		t.Errorf("fields %q", ru.Fields)
	}
	for _, c := range []struct {
		ev      string
		verdict string
	}{
		{revisionEvent, "violated"},
		{strings.Replace(revisionEvent, `"user_edit_count":1`, `"user_edit_count":201`, 1), "holds"},
		{strings.Replace(revisionEvent, `"page_namespace":0`, `"page_namespace":2`, 1), "not_applicable"},
	} {
		ev := fastjson.MustParse(c.ev)
		for _, r := range []*Rule{ru, schema} {
			if got := r.Verdict(ev); got != c.verdict {
				t.Errorf("%s on %.80s: %s, want %s", r.Name, c.ev, got, c.verdict)
			}
			if r.Holds(ev) != (c.verdict != "violated") {
				t.Errorf("%s: Holds and Verdict disagree", r.Name)
			}
		}
		if whole.Verdict(ev) != "holds" {
			t.Errorf("whole_schema: %s", whole.Verdict(ev))
		}
	}
	got := string(ru.AppendValues(nil, fastjson.MustParse(revisionEvent)))
	if want := `{"page_namespace":"0","performer.user_edit_count":"1"}`; got != want {
		t.Errorf("values %s, want %s", got, want)
	}
	got = string(AppendRuleVerdicts(nil, rules, fastjson.MustParse(revisionEvent)))
	if want := `[{"rule":"article_editors_are_experienced","action":"count","verdict":"violated"},` +
		`{"rule":"same_as_schema","action":"reject","verdict":"violated"},` +
		`{"rule":"whole_schema","action":"flag","verdict":"holds"}]`; got != want {
		t.Errorf("verdicts\n%s, want\n%s", got, want)
	}
}

// A rule that does not compile is reported with its index and name and left out; the others work.
func TestRuleErrors(t *testing.T) {
	for _, c := range []struct{ rule, reason string }{
		{`{"then": {"a": 1}}`, "needs a name"},
		{`{"name": "", "then": {"a": 1}}`, "needs a name"},
		{`{"name": "x\"y", "then": {"a": 1}}`, "without quotes"},
		{`{"name": "x", "action": "drop", "then": {"a": 1}}`, `unknown action "drop"`},
		{`{"name": "x", "if": {"a": 1}}`, "needs then"},
		{`{"name": "x", "then": {"a": 1}, "schema": {}}`, "not both"},
		{`{"name": "x", "then": {"a": 1}, "when": {}}`, `unknown key "when"`},
		{`{"name": "x", "then": {"a": {"bigger_than": 1}}}`, `unknown operator "bigger_than"`},
		{`{"name": "x", "then": {"a": {"greater_than": "1"}}}`, "greater_than takes a number, not a string"},
		{`{"name": "x", "then": {"a": {"in": []}}}`, "in takes a non-empty list"},
		{`{"name": "x", "then": {"a": {"exists": 1}}}`, "exists takes true or false"},
		{`{"name": "x", "then": {"a": {"matches": "("}}}`, "then:"},
		{`{"name": "x", "then": {"a..b": 1}}`, "not a field path"},
		{`{"name": "x", "then": {"any": []}}`, "any takes a non-empty list"},
		{`{"name": "x", "then": {}}`, "a condition is an object"},
		{`{"name": "x", "then": [1]}`, "a condition is an object"},
		{`{"name": "x", "schema": {"type": "nope"}}`, "then:"},
		{`{"name": "x", "schema": "string"}`, "schema must be a JSON Schema"},
		{`"x"`, "a rule must be an object"},
	} {
		rules, errs := CompileRules("s", fastjson.MustParse(`[{"name":"ok","then":{"a":1}},`+c.rule+`]`), CompileOptions{})
		if len(rules) != 1 || rules[0].Name != "ok" {
			t.Errorf("%s: the good rule beside it: %v", c.rule, rules)
		}
		if len(errs) != 1 || errs[0].Index != 1 || !strings.Contains(errs[0].Reason, c.reason) {
			t.Errorf("%s: errors %v, want one at index 1 saying %q", c.rule, errs, c.reason)
		}
	}
	_, errs := CompileRules("s", fastjson.MustParse(`[{"name":"a","then":{"a":1}},{"name":"a","then":{"b":1}}]`), CompileOptions{})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `quality_rules[1] "a": another rule of the stream has the name "a"`) {
		t.Errorf("duplicate names: %v", errs)
	}
	_, errs = CompileRules("s", fastjson.MustParse(`{"name":"a"}`), CompileOptions{})
	if len(errs) != 1 || !strings.Contains(errs[0].Reason, "must be a list") {
		t.Errorf("not a list: %v", errs)
	}
}

// Process runs the stream's rules on valid events: count and flag let the event through (flag
// noted in Flagged), reject makes it invalid naming the rule; violations are counted.
func TestProcessRunsRules(t *testing.T) {
	l := newFakeLookup(t, AcceptAll)
	st := *l.streams["test.event"]
	st.Name = "ruled"
	st.Rules = mustRules(t, "ruled", `[
	  {"name": "counted", "if": {"test": "x"}, "then": {"nested.inner": {"greater_than": 7}}},
	  {"name": "flagged", "action": "flag", "then": {"wiki_id": {"exists": true}}},
	  {"name": "rejected", "action": "reject", "then": {"test": {"not_equals": "bad"}}}]`)
	set := metrics.NewSet()
	for i := range st.Rules {
		st.Rules[i].Violations = set.NewCounter(`v{rule="` + st.Rules[i].Name + `"}`)
	}
	l.streams["ruled"] = &st
	o := DefaultOptions()
	req := AcquireRequest()
	defer ReleaseRequest(req)
	req.Start(time.Now(), nil, nil)
	var r Result
	process := func(ev string) {
		t.Helper()
		Process(l, &o, fastjson.MustParse(ev), req, &r)
	}

	process(`{"$schema":"/test/event/1.0.0","meta":{"stream":"ruled"},"test":"x","wiki_id":"enwiki"}`)
	if r.Outcome != Accepted || len(r.Flagged) != 0 {
		t.Fatalf("counted violated (inner defaults to 7): %v %v %s", r.Outcome, r.Flagged, r.Errors.Text())
	}
	process(`{"$schema":"/test/event/1.0.0","meta":{"stream":"ruled"},"test":"y"}`)
	if r.Outcome != Accepted || len(r.Flagged) != 1 || r.Flagged[0].Name != "flagged" {
		t.Fatalf("flagged: %v %v", r.Outcome, r.Flagged)
	}
	process(`{"$schema":"/test/event/1.0.0","meta":{"stream":"ruled"},"test":"bad","wiki_id":"x"}`)
	if r.Outcome != Invalid || r.Errors.Len() != 1 || r.Errors.List[0].Keyword != "qualityRule" {
		t.Fatalf("rejected: %v %s", r.Outcome, r.Errors.Text())
	}
	e := r.Errors.List[0]
	if want := `should satisfy quality rule 'rejected' of stream 'ruled': test not_equals "bad"`; e.Message != want ||
		e.Params != `{"rule":"rejected"}` || e.SchemaPath != "#/quality_rules/2" {
		t.Fatalf("the reject's error: %+v", e)
	}
	for name, want := range map[string]uint64{"counted": 1, "flagged": 1, "rejected": 1} {
		for _, ru := range st.Rules {
			if ru.Name == name && ru.Violations.Get() != want {
				t.Errorf("%s counted %d violations, want %d", name, ru.Violations.Get(), want)
			}
		}
	}
	process(`{"$schema":"/test/event/1.0.0","meta":{"stream":"ruled","domain":"canary"},"test":"y","wiki_id":"x","nested":{"inner":8}}`)
	if r.Outcome != Accepted || !r.Canary || len(r.Flagged) != 0 {
		t.Fatalf("a canary event holding every rule: %v canary %v %v", r.Outcome, r.Canary, r.Flagged)
	}
}

// The conditions notation runs through condNodes; their verdicts must be the JSON Schema's the
// conditions compile to, on every real example event and on variants of each (fields missing,
// of another type, under a value that is not an object).
func TestConditionsAgreeWithTheirSchema(t *testing.T) {
	conds := []string{
		`{"page_namespace": 0}`, `{"page_namespace": {"not_equals": 0}}`, `{"meta.domain": {"in": ["canary", "en.wikipedia.org"]}}`,
		`{"meta.domain": {"not_in": ["canary"]}}`, `{"performer.user_edit_count": {"greater_than": 10, "less_than_or_equals": 1000}}`,
		`{"performer.user_groups": {"contains": "user"}}`, `{"performer.user_groups": {"contains_all": ["user", "*"]}}`,
		`{"performer.user_groups": {"contains_any": ["bot", "sysop"]}}`, `{"performer.user_text": {"contains": "e"}}`,
		`{"rev_slots.main.rev_slot_size": {"exists": true}}`, `{"rev_slots.main.x": {"exists": false}}`,
		`{"meta.dt": {"matches": "^2020"}}`, `{"http.method": "POST"}`, `{"event.isOversample": false}`,
		`{"any": [{"page_namespace": 1}, {"not": {"rev_len": {"less_than": 10}}}]}`,
		`{"all": [{"meta.stream": {"exists": true}}, {"dt": {"matches": "Z$"}}], "webHost": {"not_equals": "x"}}`,
		`{"event.navigationStart": {"greater_than_or_equals": 0}, "event.mobileMode": {"not_in": ["beta"]}}`,
		`{"meta.stream.x": {"not_equals": 1}}`, `{"meta.stream.x": {"equals": 1}}`, `{"$schema": {"contains": "/"}}`,
	}
	var rules []Rule
	for i, c := range conds {
		rules = append(rules, mustRules(t, "s", `[{"name":"if","if":`+c+`,"then":`+conds[(i+1)%len(conds)]+`},{"name":"then","then":`+c+`}]`)...)
	}
	files, err := filepath.Glob(filepath.Join(realDataDir, "examples", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no real examples in %s: %v", realDataDir, err)
	}
	variants := func(ev string) []string {
		return []string{ev,
			strings.Replace(ev, `"meta":{`, `"meta_":{`, 1),
			strings.Replace(ev, `"performer":{`, `"performer":"x","performer_":{`, 1),
			strings.Replace(ev, `"page_namespace":0`, `"page_namespace":"0"`, 1),
			strings.Replace(ev, `"user_groups":[`, `"user_groups":["bot",`, 1),
		}
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range fastjson.MustParseBytes(b).GetArray() {
			for _, ev := range variants(string(e.MarshalTo(nil))) {
				v := fastjson.MustParse(ev)
				for i := range rules {
					if got, want := rules[i].Holds(v), rules[i].schemaHolds(v); got != want {
						t.Fatalf("rule %+v on %s: conditions say %v, the schema %v", rules[i].Text, ev, got, want)
					}
					checked++
				}
			}
		}
	}
	t.Logf("%d verdicts agree", checked)
}
