package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/internal/edgetest"
)

// root is the project's root, from this package's directory.
const root = "../.."

var (
	brokers   []string // INTAKE_KAFKA_BROKERS: none skips every test
	intakeBin string   // the intake binary, built by TestMain
	runID     = fmt.Sprintf("it%d", time.Now().UnixNano()%1e10)
)

func TestMain(m *testing.M) {
	if s := os.Getenv("INTAKE_KAFKA_BROKERS"); s != "" {
		brokers = strings.Split(s, ",")
		dir, err := os.MkdirTemp("", "intake-kafkatest")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if intakeBin, err = edgetest.BuildIntake(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// needKafka skips the test without a cluster (make test-kafka and make test-faults start one).
func needKafka(t *testing.T) {
	t.Helper()
	if len(brokers) == 0 {
		t.Skip("no real Kafka: INTAKE_KAFKA_BROKERS is not set (make test-kafka starts one)")
	}
}

// prefix is a topic prefix of this run and test, so that runs against a reused cluster never read
// each other's records.
func prefix(t *testing.T) string {
	name := strings.ToLower(strings.NewReplacer("/", ".", "_", "-", " ", "-").Replace(t.Name()))
	return runID + "." + name + "."
}

// edge is an intake serve process.
type edge struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string // http://127.0.0.1:port
	log    *edgetest.SyncBuffer
	done   chan struct{}
	exited error
}

// startEdge runs intake serve on a free loopback port with the examples' config, producing to the
// cluster under topicPrefix, plus args; it returns once /readyz answers 200.
func startEdge(t *testing.T, topicPrefix string, args ...string) *edge {
	t.Helper()
	return launchEdge(t, edgeRun{bin: intakeBin, brokers: strings.Join(brokers, ","), topicPrefix: topicPrefix,
		waitFor: "/readyz", args: args})
}

// edgeRun is how launchEdge starts intake serve.
type edgeRun struct {
	bin, brokers, topicPrefix string
	env                       []string // added to the environment
	waitFor                   string   // the path that must answer 200 before launchEdge returns
	args                      []string
}

func launchEdge(t *testing.T, r edgeRun) *edge {
	t.Helper()
	port := freePort(t)
	all := append([]string{"serve", "--config", "examples/config.yaml",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--kafka-brokers", r.brokers,
		"--topic-prefix", r.topicPrefix,
		"--log-level", "warn"}, r.args...)
	cmd := exec.Command(r.bin, all...)
	cmd.Dir = root
	if r.env != nil {
		cmd.Env = append(os.Environ(), r.env...)
	}
	e := &edge{t: t, cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port), log: &edgetest.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = e.log, e.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { e.exited = cmd.Wait(); close(e.done) }()
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("edge log:\n%s", e.log)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, err := httpDo("GET", e.url+r.waitFor, nil, nil)
		if err == nil && code == 200 {
			return e
		}
		select {
		case <-e.done:
			t.Fatalf("intake serve exited before %s answered 200 (%v):\n%s", r.waitFor, e.exited, e.log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("intake serve: %s not 200 after 30s:\n%s", r.waitFor, e.log)
		}
	}
}

// stop sends SIGTERM and waits for the exit (the edge flushes what it accepted first).
func (e *edge) stop() error {
	select {
	case <-e.done:
		return e.exited
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(60 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
		return errors.New("intake serve did not exit within 60s of SIGTERM")
	}
	return e.exited
}

func freePort(t *testing.T) int { return edgetest.FreePort(t) }

var httpClient = &http.Client{Timeout: 30 * time.Second}

// httpDo sends one request; hdr is name, value pairs.
func httpDo(method, url string, body []byte, hdr []string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// post posts body to /v1/events (query: "" or "?hasty=true"...) and fails unless the answer is want.
func (e *edge) post(query string, body []byte, want int, hdr ...string) []byte {
	e.t.Helper()
	code, b, err := httpDo("POST", e.url+"/v1/events"+query, body, hdr)
	if err != nil {
		e.t.Fatal(err)
	}
	if code != want {
		e.t.Fatalf("POST /v1/events%s: got %d %s, want %d", query, code, b, want)
	}
	return b
}

// consume reads n records of topics from the start (waiting up to timeout for them, or until none
// came for 10 s), and then a little longer, so that a duplicate or stray record is seen too.
func consume(t *testing.T, n int, timeout time.Duration, topics ...string) []*kgo.Record {
	t.Helper()
	return consumeWith(t, []kgo.Opt{kgo.SeedBrokers(brokers...)}, n, timeout, topics...)
}

// consumeWith is consume with the client options conn (brokers, TLS, SASL).
func consumeWith(t *testing.T, conn []kgo.Opt, n int, timeout time.Duration, topics ...string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(append(conn, kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	deadline := time.Now().Add(timeout)
	extra := time.Time{}
	lastNew := time.Now()
	const idle = 10 * time.Second
	for {
		now := time.Now()
		if len(recs) >= n && extra.IsZero() {
			extra = now.Add(time.Second)
		}
		if (!extra.IsZero() && now.After(extra)) || now.After(deadline) || now.Sub(lastNew) > idle {
			return recs
		}
		end := deadline
		if !extra.IsZero() {
			end = extra
		}
		if idleEnd := lastNew.Add(idle + time.Millisecond); idleEnd.Before(end) {
			end = idleEnd
		}
		ctx, cancel := context.WithDeadline(context.Background(), end)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				t.Logf("fetch %s/%d: %v", topic, p, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r); lastNew = time.Now() })
	}
}

// kafkaScript runs scripts/kafka/kafka.sh with args and returns its stdout.
func kafkaScript(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"scripts/kafka/kafka.sh"}, args...)...)
	cmd.Dir = root
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("kafka.sh %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// click is the examples' click event on page id with the page title given ("": "Main Page"); the
// schema allows no other field, so tests tell events apart by their titles.
func click(stream string, page int, title string) string {
	if title == "" {
		title = "Main Page"
	}
	return fmt.Sprintf(`{"$schema":"/example/click/1.0.0","dt":"2026-11-23T12:00:00.000Z","meta":{"stream":%q},"page":{"id":%d,"title":%q},"button":"save"}`,
		stream, page, title)
}

func batchOf(events []string) []byte {
	return []byte("[" + strings.Join(events, ",") + "]")
}
