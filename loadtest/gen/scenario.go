package gen

import (
	"fmt"
	"io"
	"strings"
)

// Scenario is a named preset of flags: traffic shaped like one kind of producer.
type Scenario struct {
	Name  string
	About string
	Flags []string // as on the command line, for --list-scenarios
	Apply func(cfg *Config)
}

// Scenarios are the presets of --scenario.
var Scenarios = []Scenario{
	{
		Name:  "browser-beacons",
		About: "browsers' sendBeacon: single events, hasty, text/plain, many connections, a few % invalid",
		Flags: []string{"--batch 1", "--hasty", "--content-type text/plain", "--connections 256", "--invalid-ratio 0.03"},
		Apply: func(c *Config) {
			c.Batch, c.Hasty, c.ContentType, c.Connections, c.InvalidRatio = 1, true, "text/plain", 256, 0.03
		},
	},
	{
		Name:  "backend-sync",
		About: "backend services: batches of 10, sync (201 after Kafka acknowledged), application/json",
		Flags: []string{"--batch 10", "--content-type application/json", "--connections 32"},
		Apply: func(c *Config) {
			c.Batch, c.Hasty, c.ContentType, c.Connections = 10, false, "application/json", 32
		},
	},
	{
		Name:  "mobile-batches",
		About: "apps flushing queued events: batches of 100, gzip, sync, bursty arrivals (open loop)",
		Flags: []string{"--batch 100", "--gzip", "--rate 200", "--burst 20", "--connections 64"},
		Apply: func(c *Config) {
			c.Batch, c.Gzip, c.Hasty, c.Rate, c.Burst, c.Connections = 100, true, false, 200, 20, 64
		},
	},
	{
		Name:  "big-batches",
		About: "bulk producers: 1000-event batches, sync",
		Flags: []string{"--batch 1000", "--connections 8"},
		Apply: func(c *Config) {
			c.Batch, c.Hasty, c.Connections = 1000, false, 8
		},
	},
	{
		Name:  "invalid-flood",
		About: "every event invalid (400s): a flood of bad events must stay cheap",
		Flags: []string{"--batch 10", "--invalid-ratio 1", "--connections 32"},
		Apply: func(c *Config) {
			c.Batch, c.Hasty, c.InvalidRatio, c.Connections = 10, false, 1, 32
		},
	},
}

// ScenarioByName finds a preset.
func ScenarioByName(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// ListScenarios prints the presets with their settings.
func ListScenarios(w io.Writer) {
	for _, s := range Scenarios {
		fmt.Fprintf(w, "%-16s %s\n%-16s %s\n", s.Name, s.About, "", strings.Join(s.Flags, " "))
	}
}
