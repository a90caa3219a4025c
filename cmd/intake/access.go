package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/goccy/go-yaml"

	"intake.dev/intake/edge"
)

// loadAccessConfig reads --access-config: unknown keys are errors, so a misspelt setting does not
// silently leave a stream open.
func loadAccessConfig(path string, log *slog.Logger) (edge.AccessConfig, error) {
	var cfg edge.AccessConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("cannot read --access-config: %w", err)
	}
	if err := yaml.UnmarshalWithOptions(b, &cfg, yaml.Strict()); err != nil {
		return cfg, fmt.Errorf("--access-config %s: %s", path, yaml.FormatError(err, false, true))
	}
	cfg.Auth.Logger = log
	return cfg, nil
}

// reloadAccess re-reads the access config when its file changes and applies its rate limits
// (keys, tokens and origins need a restart).
func reloadAccess(acc *edge.Access, path string, every time.Duration, log *slog.Logger, stop <-chan struct{}) {
	var last time.Time
	if fi, err := os.Stat(path); err == nil {
		last = fi.ModTime()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		fi, err := os.Stat(path)
		if err != nil || fi.ModTime().Equal(last) {
			continue
		}
		last = fi.ModTime()
		cfg, err := loadAccessConfig(path, log)
		if err == nil {
			err = acc.Reload(cfg)
		}
		if err != nil {
			log.Warn("cannot reload the rate limits of --access-config; keeping the previous ones", "err", err)
			continue
		}
		log.Info("reloaded the rate limits of --access-config")
	}
}
