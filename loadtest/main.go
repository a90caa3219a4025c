package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"intake.dev/intake/loadtest/gen"
)

const usage = `intake-loadtest: drive an intake edge with generated traffic and report throughput and latency.

Usage:
  go run ./loadtest [--scenario NAME] [flags]      (or bin/intake-loadtest, built by make loadtest)

Closed loop by default (--connections N, each sending its next request when the last one
answered); --rate R switches to the open loop (fixed intended send times, latency counted from
them). Only loopback targets unless --allow-remote. Flags:
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: exit status 0 done, 1 the run failed, 2 a usage error
// (including a --url that is not loopback).
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("intake-loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	cfg, list, err := gen.ParseArgs(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "intake-loadtest:", err)
		return 2
	case list:
		gen.ListScenarios(stdout)
		return 0
	}
	if err := cfg.Check(); err != nil {
		fmt.Fprintln(stderr, "intake-loadtest:", err)
		return 2
	}
	r, err := gen.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "intake-loadtest:", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var progress io.Writer
	tty := false
	if !cfg.Quiet {
		progress = stderr
		if f, ok := stderr.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				tty = true
			}
		}
	}
	rep, err := r.Run(ctx, progress, tty)
	if cfg.JSON {
		rep.WriteText(stderr)
		enc := json.NewEncoder(stdout)
		if jerr := enc.Encode(rep); jerr != nil && err == nil {
			err = jerr
		}
	} else {
		rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "intake-loadtest:", err)
		return 1
	}
	return 0
}
