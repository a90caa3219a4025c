package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `intake: an EventGate-compatible event intake service.

Usage:
  intake serve    [--config FILE] [flags]    run the HTTP edge
  intake tail     [flags] TOPIC              print a topic's events, one JSON line each
  intake validate [flags] [FILE|-]           check events as the edge would, without producing
  intake broker   [flags]                    run the development broker on its own
  intake canary   [flags]                    post a canary event to every canary-enabled stream
  intake schema   test|check|materialize ... schema repositories: CI checks, compatibility, build
  intake version

Run "intake COMMAND --help" for a command's flags.`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:])
	case "tail":
		err = tail(args[1:])
	case "validate":
		var code int
		code, err = validate(args[1:], os.Stdin, os.Stdout)
		if err == nil {
			return code
		}
	case "broker":
		err = broker(args[1:])
	case "canary":
		var code int
		code, err = canaryCmd(args[1:], os.Stdout)
		if err == nil {
			return code
		}
	case "schema":
		var code int
		code, err = schemaCommand(args[1:], os.Stdout)
		if err == nil {
			return code
		}
	case "version", "--version", "-version":
		fmt.Println("intake", version)
		return 0
	case "help", "-h", "--help", "-help":
		fmt.Println(usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "intake: unknown command %q\n\n%s\n", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintln(os.Stderr, "intake:", err)
	return 2
}
