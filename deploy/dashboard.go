// Package deploy holds the operations kit: the dashboard (grafana/), alert rules (prometheus/),
// the Helm chart, the systemd unit and the image tools (tools/, a module of its own). This file
// reads the dashboard for the tests that check it offline (here) and against Prometheus
// (test/monitoring).
package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// Dashboard is what the tests read of deploy/grafana/intake.json.
type Dashboard struct {
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

// ReadDashboard reads the dashboard of the project at root.
func ReadDashboard(root string) (Dashboard, error) {
	var d Dashboard
	b, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "intake.json"))
	if err != nil {
		return d, err
	}
	return d, json.Unmarshal(b, &d)
}

// Queries are the dashboard's PromQL expressions by "<panel title> <refId>", with Grafana's
// variables replaced (every instance and stream, rate windows of rateWindow), as Prometheus' query
// API takes them.
func (d Dashboard) Queries(rateWindow string) map[string]string {
	r := strings.NewReplacer("$__rate_interval", rateWindow, "$instance", ".*", "$stream", ".*")
	q := map[string]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			q[p.Title+" "+tg.RefID] = r.Replace(tg.Expr)
		}
	}
	return q
}
