// Command spoolhandover is the Go side of the JVM client's spool hand-over test
// (SpoolHandoverTest): the Go client (package client, WithSpool) writes a spool that the JVM
// client sends, and sends one the JVM client wrote.
//
//	spoolhandover write DIR URL N SEG   enqueues N example/click events into the spool DIR (segments
//	                                    of SEG bytes) for an edge at URL that is down, prints each
//	                                    meta.id once Enqueue returned, then "ENQUEUED", and exits
//	                                    without delivering any of them
//	spoolhandover send DIR URL          sends what the spool DIR holds to the edge at URL, then prints
//	                                    "recovered R accepted A failed F left L"
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"intake.dev/intake/client"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: spoolhandover write DIR URL N SEG | send DIR URL")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "write":
		var n, seg int
		if len(os.Args) < 6 {
			err = fmt.Errorf("write: want DIR URL N SEG")
		} else if n, err = strconv.Atoi(os.Args[4]); err == nil {
			if seg, err = strconv.Atoi(os.Args[5]); err == nil {
				err = write(os.Args[2], os.Args[3], n, int64(seg))
			}
		}
	case "send":
		err = send(os.Args[2], os.Args[3])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "spoolhandover:", err)
		os.Exit(1)
	}
}

func newID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func write(dir, url string, n int, seg int64) error {
	// The edge is down: the stream configuration never loads, so every record carries its unit
	// ids, and no batch is ever acknowledged.
	c, err := client.New(url, client.WithSpool(dir), client.WithSpoolFsync(-1),
		client.WithSpoolLimits(1<<30, seg),
		client.WithBackoff(50*time.Millisecond, 200*time.Millisecond),
		client.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		id := newID()
		ev := map[string]any{
			"$schema": "/example/click/1.0.0",
			"meta":    map[string]any{"stream": "example.click", "id": id},
			"page":    map[string]any{"id": i + 1, "title": "Main Page"},
			"button":  "save",
		}
		if err := c.Enqueue(ev); err != nil {
			return err
		}
		fmt.Println(id)
	}
	fmt.Println("ENQUEUED")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c.Close(ctx) // gives up at once: the events stay in the spool for the next client
	return nil
}

func send(dir, url string) error {
	c, err := client.New(url, client.WithSpool(dir),
		client.WithBackoff(50*time.Millisecond, 200*time.Millisecond),
		client.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		return err
	}
	recovered := c.Stats().Recovered
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ferr := c.Flush(ctx)
	s := c.Stats()
	cerr := c.Close(ctx)
	fmt.Printf("recovered %d accepted %d failed %d left %d\n", recovered, s.Accepted, s.Failed, s.Queued)
	if ferr != nil {
		return ferr
	}
	return cerr
}
