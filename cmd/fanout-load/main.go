// Command fanout-load loads a fanout server with many web clients and
// checks, while it loads, that the server keeps the promises of the wire
// protocol (docs/protocol.md): per-topic order, no unmarked gap, no
// duplicate, a snapshot first, every epoch change announced by a reset,
// and resume without loss after a cut connection. It measures
// publish-to-receive latency when payloads carry their publish time in a
// top-level "ts" field (Unix nanoseconds).
//
//	fanout-load serve -rate 4 -topics 1 -size 128 &           # a server to measure, with a publisher
//	fanout-load -url http://localhost:8080 -clients 2000 -ramp 500 -duration 30s -transport ws,sse,poll
//
// It shows live progress, ends with a summary table, writes an HTML report
// with charts (-report), and exits with status 1 when it saw a violation,
// 2 when it could not run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
)

// Exit statuses.
const (
	exitOK         = 0
	exitViolations = 1
	exitError      = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := command(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command runs the command line args and returns the exit status.
func command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "serve" {
		return serveCommand(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("fanout-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: fanout-load [flags]        load a fanout server and check the protocol")
		fmt.Fprintln(stderr, "       fanout-load serve [flags]  run a fanout server with a publisher to load")
		fs.PrintDefaults()
	}
	cfg, err := parseLoad(args, fs)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		printError(stderr, "fanout-load", err)
		return exitError
	}
	stopProfile, err := startProfile(cfg.CPUProf)
	if err != nil {
		printError(stderr, "fanout-load", err)
		return exitError
	}
	r, err := run(ctx, cfg, stderr)
	err = errors.Join(err, stopProfile())
	if r != nil {
		if werr := writeSummary(stdout, r); werr != nil {
			err = errors.Join(err, werr)
		}
		if cfg.Report != "" {
			if rerr := saveReport(cfg.Report, r); rerr != nil {
				err = errors.Join(err, rerr)
			} else {
				fmt.Fprintf(stdout, "report: %s\n", cfg.Report)
			}
		}
	}
	switch {
	case r != nil && r.violations() > 0:
		if err != nil {
			printError(stderr, "fanout-load", err)
		}
		return exitViolations
	case err != nil:
		printError(stderr, "fanout-load", err)
		return exitError
	}
	return exitOK
}

// saveReport writes the HTML report to file.
func saveReport(file string, r *result) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	return errors.Join(writeReport(f, r), f.Close())
}

// serveCommand runs fanout-load serve.
func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fanout-load serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := parseServe(args, fs)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err == nil {
		err = serve(ctx, cfg, stdout, func(url string) {
			fmt.Fprintf(stdout, "fanout-load serve: %s (WebSocket /ws, SSE /events, long-poll /poll); "+
				"%g msg/s on each of %d topics (%s), %d-byte payloads\n",
				url, cfg.Rate, cfg.Topics, cfg.Pattern, cfg.Size)
		})
	}
	if err != nil {
		printError(stderr, "fanout-load serve", err)
		return exitError
	}
	return exitOK
}

// printError prints err, prefixed with the command's name unless it names
// it already.
func printError(w io.Writer, name string, err error) {
	if s := err.Error(); strings.HasPrefix(s, "fanout-load") {
		fmt.Fprintln(w, s)
		return
	}
	fmt.Fprintf(w, "%s: %v\n", name, err)
}

// startProfile starts a CPU profile to file, if one is named, and returns
// the function that stops it.
func startProfile(file string) (stop func() error, err error) {
	if file == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
