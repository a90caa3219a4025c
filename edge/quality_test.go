package edge_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"intake.dev/intake/fastpath"
	"intake.dev/intake/internal/edgetest"
)

// qualityStreamConfig is the examples' click stream with data-quality rules of each action, one
// rule that does not compile, and the alarm stream.
const qualityStreamConfig = `{"streams": {
 "example.click": {
  "schema_title": "example/click", "destination_event_service": "intake", "topic_prefixes": ["dev."],
  "quality_rules": [
   {"name": "saves_name_their_page", "if": {"button": "save"}, "then": {"page.title": {"exists": true}}},
   {"name": "page_one_is_the_main_page", "action": "flag", "if": {"page.id": 1}, "then": {"page.title": "Main Page"}},
   {"name": "no_test_pages", "action": "reject", "then": {"page.title": {"not_in": ["Test", "Sandbox"]}}},
   {"name": "broken", "then": {"page.id": {"bigger_than": 1}}}
  ]},
 "intake.error": {"schema_title": "error", "destination_event_service": "intake", "topic_prefixes": ["dev."]},
 "intake.quality_alarm": {"schema_title": "intake/quality_alarm", "destination_event_service": "intake", "topic_prefixes": ["dev."]}
}}`

func clickEvent(page string, extra ...string) string {
	ev := `{"$schema":"/example/click/1.0.0","dt":"2026-11-23T12:00:00.000Z","meta":{"stream":"example.click"},"page":` + page + `,"button":"save"`
	for _, e := range extra {
		ev += "," + e
	}
	return ev + "}"
}

// Rules of every action, end to end: count (produced, counted), flag (produced, counted, an alarm
// event in the alarm stream with the rule, the values and the event), reject (400 naming the
// rule, an error event naming it); a rule that does not compile is left out, logged and shown by
// /v1/streams?all=true; dry runs show every rule's verdict.
func TestQualityRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "streams.json")
	if err := os.WriteFile(path, []byte(qualityStreamConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	h := edgetest.Start(t, edgetest.Options{StreamConfig: path})
	metric := h.Metric
	violations := func(rule, action string) float64 {
		return metric(`intake_quality_violations_total{stream="example.click",rule="` + rule + `",action="` + action + `"}`)
	}
	count0, flag0, reject0 := violations("saves_name_their_page", "count"), violations("page_one_is_the_main_page", "flag"), violations("no_test_pages", "reject")

	holds := clickEvent(`{"id":42,"title":"Main Page"}`)
	counted := clickEvent(`{"id":42}`)
	flagged := clickEvent(`{"id":1,"title":"Not Main"}`, `"count":3`)
	rejected := clickEvent(`{"id":7,"title":"Sandbox"}`)

	r := h.Post("/v1/events", []byte("["+holds+","+counted+","+flagged+","+rejected+"]"))
	if r.Code != 207 {
		t.Fatalf("got %d %s, want 207 (one event rejected by a rule)", r.Code, r.Body)
	}
	if body := string(r.Body); !strings.Contains(body, `should satisfy quality rule 'no_test_pages' of stream 'example.click': page.title not_in [\"Test\",\"Sandbox\"]`) {
		t.Fatalf("the answer does not name the rule: %s", body)
	}
	recs := h.Consume("dev.example.click", 3)
	if len(recs) != 3 {
		t.Fatalf("%d events produced, want the 3 the rules let through", len(recs))
	}
	if got := []float64{violations("saves_name_their_page", "count") - count0, violations("page_one_is_the_main_page", "flag") - flag0,
		violations("no_test_pages", "reject") - reject0}; got[0] != 1 || got[1] != 1 || got[2] != 1 {
		t.Fatalf("violations counted (count, flag, reject): %v, want one each", got)
	}
	if metric(`intake_quality_violations_total{stream="example.click",rule="broken",action="count"}`) != 0 {
		t.Fatal("a rule that does not compile has a violation counter")
	}

	// The flag's alarm: the rule, the values it read, the event as produced (with its meta.id).
	alarms := h.Consume("dev.intake.quality_alarm", 1)
	if len(alarms) != 1 {
		t.Fatalf("%d alarm events, want 1", len(alarms))
	}
	alarm := edgetest.MustJSON(t, alarms[0].Value)
	produced := edgetest.MustJSON(t, recs[2].Value)
	for field, want := range map[string]any{
		"$schema":     "/intake/quality_alarm/1.0.0",
		"meta.stream": "intake.quality_alarm",
		"rule":        "page_one_is_the_main_page",
		"action":      "flag",
		"rule_text":   `if page.id equals 1 then page.title equals "Main Page"`,
		"stream":      "example.click",
		"event_id":    edgetest.Field(produced, "meta.id"),
		"values":      map[string]any{"page.id": "1", "page.title": `"Not Main"`},
		"raw_event":   string(recs[2].Value),
	} {
		if got := edgetest.Field(alarm, field); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("alarm %s = %v, want %v", field, got, want)
		}
	}

	// The reject's error event names the rule.
	errs := h.Consume("dev.intake.error", 1)
	if len(errs) != 1 || !strings.Contains(string(errs[0].Value), "quality rule 'no_test_pages'") {
		t.Fatalf("error events: %d, %v", len(errs), errs)
	}

	// A dry run shows every compiled rule's verdict, per event.
	r = h.Post("/v1/events?dry_run=true", []byte("["+holds+","+counted+","+flagged+","+rejected+"]"))
	events, _ := edgetest.Field(edgetest.MustJSON(t, r.Body), "events").([]any)
	if len(events) != 4 {
		t.Fatalf("dry run: %s", r.Body)
	}
	for i, want := range []string{
		"holds not_applicable holds", "violated not_applicable holds", "holds violated holds", "holds not_applicable violated",
	} {
		var got []string
		verdicts, _ := events[i].(map[string]any)["quality"].([]any)
		for _, v := range verdicts {
			got = append(got, v.(map[string]any)["verdict"].(string))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("dry run event %d: verdicts %v, want %s", i, got, want)
		}
	}

	// The rule that does not compile: shown with the stream's whole configuration, and counted.
	all := h.Get("/v1/streams?all=true&streams=example.click").JSON(t)
	click, _ := edgetest.Field(all, "streams").(map[string]any)["example.click"].(map[string]any)
	errList, _ := click["quality_rules_errors"].([]any)
	if len(errList) != 1 || !strings.Contains(fmt.Sprint(errList[0]), `unknown operator "bigger_than"`) || !strings.Contains(fmt.Sprint(errList[0]), "broken") {
		t.Fatalf("/v1/streams?all=true quality_rules_errors: %v", errList)
	}
	if metric(`intake_quality_rules{state="invalid"}`) != 1 || metric(`intake_quality_rules{state="active"}`) != 3 {
		t.Errorf("intake_quality_rules: active %v, invalid %v", metric(`intake_quality_rules{state="active"}`), metric(`intake_quality_rules{state="invalid"}`))
	}
}

// Canary events (meta.domain "canary") are counted apart from real traffic.
func TestCanaryEventsAreCountedApart(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	metric := h.Metric
	accepted := `intake_events_total{stream="example.click",outcome="accepted"}`
	canaries := `intake_canary_events_total{stream="example.click"}`
	a0, c0 := metric(accepted), metric(canaries)
	canary := `{"$schema":"/example/click/1.0.0","dt":"2026-11-23T12:00:00.000Z","meta":{"stream":"example.click","domain":"canary"},"page":{"id":1},"button":"save"}`
	if r := h.Post("/v1/events", []byte("["+canary+","+click("example.click")+"]")); r.Code != 201 {
		t.Fatalf("got %d %s", r.Code, r.Body)
	}
	if r := h.Post("/v1/events?hasty=true", []byte(canary)); r.Code != 202 {
		t.Fatalf("hasty: got %d %s", r.Code, r.Body)
	}
	h.Consume("dev.example.click", 3)
	if a, c := metric(accepted)-a0, metric(canaries)-c0; a != 1 || c != 2 {
		t.Fatalf("accepted +%v, canaries +%v; want +1 and +2", a, c)
	}
	if metric(`intake_canary_last_seen_timestamp_seconds{stream="example.click"}`) < 1e9 {
		t.Fatal("intake_canary_last_seen_timestamp_seconds not set")
	}
}

// The README's example rules for mediawiki.revision-create compile, and on the real example event
// (an edit by a registered editor, not a revert, not a bot) each holds or does not apply.
func TestREADMEQualityRules(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)[strings.Index(string(readme), "### Quality rules"):]
	start := strings.Index(section, "```json\n") + len("```json\n")
	block := section[start : start+strings.Index(section[start:], "```")]
	cfg := `{"streams": {` + block + `}}`
	var doc map[string]map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(cfg), &doc); err != nil {
		t.Fatalf("the README's rules are not JSON: %v\n%s", err, cfg)
	}
	rules, errs := fastpath.CompileRules("mediawiki.revision-create", fastjson.MustParseBytes(doc["streams"]["mediawiki.revision-create"]["quality_rules"]), fastpath.CompileOptions{})
	if len(errs) > 0 || len(rules) != 4 {
		t.Fatalf("%d rules, errors %v", len(rules), errs)
	}
	examples, err := os.ReadFile(edgetest.SharedData("examples", "mediawiki.revision.create", "2.0.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	ev := fastjson.MustParseBytes(examples).GetArray()[0]
	var got []string
	for i := range rules {
		got = append(got, rules[i].Name+"="+rules[i].Verdict(ev))
	}
	want := "bots_are_in_the_bot_group=not_applicable reverts_have_a_parent=not_applicable wikitext_is_wikitext=holds registered_editors_have_a_registration=holds"
	if strings.Join(got, " ") != want {
		t.Fatalf("verdicts %s\nwant %s", strings.Join(got, " "), want)
	}
}

// On the production stream config, with the README's rules added to mediawiki.revision-create and
// a flag rule the real example event violates: the example goes through the edge into Kafka, its
// alarm into the alarm stream; an event breaking the reject rule is refused naming it.
func TestQualityRulesOnProductionConfig(t *testing.T) {
	raw, err := os.ReadFile(edgetest.SharedData("streamconfig.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]map[string]map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	var rules []any
	if err := json.Unmarshal([]byte(`[
	  {"name": "wikitext_is_wikitext", "action": "reject", "if": {"rev_content_model": "wikitext"}, "then": {"rev_content_format": {"in": ["text/x-wiki"]}}},
	  {"name": "new_editors_edit_articles", "action": "flag", "if": {"performer.user_edit_count": {"less_than": 10}}, "then": {"page_namespace": {"not_equals": 0}}}
	]`), &rules); err != nil {
		t.Fatal(err)
	}
	cfg["streams"]["mediawiki.revision-create"]["quality_rules"] = rules
	cfg["streams"]["intake.quality_alarm"] = map[string]any{"schema_title": "intake/quality_alarm"}
	b, _ := json.Marshal(cfg)
	path := filepath.Join(t.TempDir(), "streamconfig.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	o := edgetest.RealData()
	o.StreamConfig = path
	h := edgetest.Start(t, o)

	examples, err := os.ReadFile(edgetest.SharedData("examples", "mediawiki.revision.create", "2.0.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	ev := fastjson.MustParseBytes(examples).GetArray()[0]
	good := string(ev.MarshalTo(nil))
	bad := strings.Replace(good, `"rev_content_format":"text/x-wiki"`, `"rev_content_format":"text/css"`, 1)
	if bad == good {
		t.Fatal("the example has no rev_content_format text/x-wiki")
	}
	r := h.Post("/v1/events", []byte("["+good+","+bad+"]"))
	if r.Code != 207 || !strings.Contains(string(r.Body), "quality rule 'wikitext_is_wikitext'") {
		t.Fatalf("got %d %s, want 207 naming the reject rule", r.Code, r.Body)
	}
	recs := h.Consume("eqiad.mediawiki.revision-create", 1)
	if len(recs) != 1 {
		t.Fatalf("%d records, want the example's", len(recs))
	}
	alarms := h.Consume("eqiad.intake.quality_alarm", 1)
	if len(alarms) != 1 {
		t.Fatalf("%d alarms, want 1", len(alarms))
	}
	a := edgetest.MustJSON(t, alarms[0].Value)
	if edgetest.Field(a, "rule") != "new_editors_edit_articles" || edgetest.Field(a, "stream") != "mediawiki.revision-create" ||
		fmt.Sprint(edgetest.Field(a, "values")) != `map[page_namespace:0 performer.user_edit_count:1]` ||
		edgetest.Field(a, "raw_event") != string(recs[0].Value) {
		t.Fatalf("alarm: %s", alarms[0].Value)
	}
}
