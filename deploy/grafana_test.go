// Package deploy holds the operations kit's files (dashboard, alert rules, manifests); its tests
// check them offline.
package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"intake.dev/intake/internal/edgetest"
)

type dashboard struct {
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Type    string                   `json:"type"`
		Title   string                   `json:"title"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("grafana", "intake.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("grafana/intake.json: %v", err)
	}
	return d
}

// DashboardQueries are the dashboard's PromQL expressions with Grafana's variables replaced
// (every instance and stream, a 1m rate window), as a Prometheus query API would take them.
func dashboardQueries(t *testing.T) map[string]string {
	d := readDashboard(t)
	q := map[string]string{}
	r := strings.NewReplacer("$__rate_interval", "1m", "$instance", ".*", "$stream", ".*")
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			q[p.Title+" "+tg.RefID] = r.Replace(tg.Expr)
		}
	}
	return q
}

var metricName = regexp.MustCompile(`\b((?:intake|go|process)_[a-z0-9_]+)`)

// The dashboard is importable (every panel placed on the 24-column grid without overlaps, with
// queries) and names only metrics an edge exports.
func TestDashboard(t *testing.T) {
	d := readDashboard(t)
	if d.UID == "" || len(d.Panels) < 20 {
		t.Fatalf("uid %q, %d panels", d.UID, len(d.Panels))
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	if !slices.Equal(vars, []string{"datasource", "instance", "stream"}) {
		t.Errorf("variables %v", vars)
	}
	type cell struct{ x, y int }
	taken := map[cell]string{}
	for _, p := range d.Panels {
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("%q: gridPos %+v outside the 24-column grid", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[cell{x, y}]; ok {
					t.Fatalf("%q overlaps %q at column %d, row %d", p.Title, other, x, y)
				}
				taken[cell{x, y}] = p.Title
			}
		}
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("%q has no query", p.Title)
		}
	}

	h := monitoredEdge(t)
	exported := map[string]bool{}
	for _, line := range strings.Split(string(h.Get("/metrics").Body), "\n") {
		if name := metricName.FindString(line); name != "" && strings.HasPrefix(line, name) {
			exported[name] = true
		}
	}
	for title, q := range dashboardQueries(t) {
		for _, name := range metricName.FindAllString(q, -1) {
			if !exported[name] {
				t.Errorf("%s: %s names %s, which the edge does not export", title, q, name)
			}
		}
	}
}

// monitoredEdge is an edge exporting every series the dashboard and the alerts read: a spool, a
// quality rule on example.click (which takes canaries), and an event posted (histograms appear with their first value).
func monitoredEdge(t *testing.T) *edgetest.Edge {
	t.Helper()
	var cfg map[string]map[string]map[string]any
	b, err := os.ReadFile(edgetest.Example("stream-config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["streams"]["example.click"]["canary_events_enabled"] = true
	cfg["streams"]["example.click"]["quality_rules"] = []any{map[string]any{
		"name": "saves_name_their_page", "if": map[string]any{"button": "save"}, "then": map[string]any{"page.title": map[string]any{"exists": true}}}}
	b, _ = json.Marshal(cfg)
	path := filepath.Join(t.TempDir(), "stream-config.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	h := edgetest.Start(t, edgetest.Options{SpoolDir: t.TempDir(), StreamConfig: path})
	ev := `{"$schema":"/example/click/1.0.0","dt":"2026-11-23T12:00:00.000Z","meta":{"stream":"example.click"},"page":{"id":42},"button":"save"}`
	if r := h.Post("/v1/events", []byte(ev)); r.Code != 201 {
		t.Fatalf("POST: %d %s", r.Code, r.Body)
	}
	return h
}

// canaryService are the metrics of intake canary's service, not the edges'.
var canaryService = map[string]bool{
	"intake_canary_last_success_timestamp_seconds": true,
	"intake_canary_posts_total":                    true,
	"intake_canary_failures_total":                 true,
}

// The alert rules name only metrics an edge (or the canary service) exports (promtool checks their syntax and behaviour:
// make test-alerts).
func TestAlertRulesNameExportedMetrics(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("prometheus", "intake-*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no alert rules: %v", err)
	}
	h := monitoredEdge(t)
	exported := map[string]bool{}
	for _, line := range strings.Split(string(h.Get("/metrics").Body), "\n") {
		if name := metricName.FindString(line); name != "" && strings.HasPrefix(line, name) {
			exported[name] = true
		}
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".test.yaml") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "description:") || strings.Contains(line, "summary:") || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			for _, name := range metricName.FindAllString(line, -1) {
				if !exported[name] && !canaryService[name] {
					t.Errorf("%s: %s names %s, which the edge does not export", f, strings.TrimSpace(line), name)
				}
			}
		}
	}
}
