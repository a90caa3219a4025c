package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"intake.dev/intake/internal/edgetest"
)

func readDashboard(t *testing.T) Dashboard {
	t.Helper()
	d, err := ReadDashboard(edgetest.Root())
	if err != nil {
		t.Fatalf("grafana/intake.json: %v", err)
	}
	return d
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
	for title, q := range readDashboard(t).Queries("1m") {
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
	path := edgetest.MonitoredStreamConfig(t, t.TempDir())
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
