package fleet

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"intake.dev/intake/internal/edgetest"
)

// root is the project's root, from this package's directory.
const root = "../.."

var (
	brokers   []string // INTAKE_KAFKA_BROKERS: none skips every test
	intakeBin string   // the intake binary, built by TestMain
	runID     = fmt.Sprintf("fl%d", time.Now().UnixNano()%1e10)
)

func TestMain(m *testing.M) {
	if s := os.Getenv("INTAKE_KAFKA_BROKERS"); s != "" {
		brokers = strings.Split(s, ",")
		dir, err := os.MkdirTemp("", "intake-fleettest")
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

// needKafka skips the test without a cluster (make test-fleet starts one).
func needKafka(t *testing.T) {
	t.Helper()
	if len(brokers) == 0 {
		t.Skip("no real Kafka: INTAKE_KAFKA_BROKERS is not set (make test-fleet starts one)")
	}
}

// haproxyBin finds HAProxy: $INTAKE_HAPROXY, then $PATH, then Debian's /usr/sbin/haproxy (not on
// every user's PATH).
func haproxyBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("INTAKE_HAPROXY"); p != "" {
		return p
	}
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy"
	}
	t.Fatal("no haproxy: run scripts/haproxy/install.sh (make test-fleet does), or set INTAKE_HAPROXY")
	return ""
}

// process is a child process whose output is kept for the test's log.
type process struct {
	name   string
	cmd    *exec.Cmd
	log    *edgetest.SyncBuffer
	done   chan struct{}
	exited error
}

func startProcess(t *testing.T, name string, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{name: name, cmd: cmd, log: &edgetest.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", name, err)
	}
	go func() { p.exited = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(30 * time.Second)
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.log)
		}
	})
	return p
}

func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits up to timeout for the exit, then SIGKILLs.
func (p *process) stop(timeout time.Duration) {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.kill()
	}
}

// kill SIGKILLs the process and waits until it is gone.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// edge is one intake serve of the fleet, on a fixed loopback port that survives its restarts.
type edge struct {
	name string
	port int
	args []string
	proc *process
}

func (e *edge) url() string { return fmt.Sprintf("http://127.0.0.1:%d", e.port) }

// start runs intake serve on e's port with the examples' config, producing to the cluster under
// topicPrefix; it returns once /readyz answers 200, and the time it first did.
func (e *edge) start(t *testing.T, topicPrefix string) time.Time {
	t.Helper()
	args := append([]string{"serve", "--config", "examples/config.yaml",
		"--listen", fmt.Sprintf("127.0.0.1:%d", e.port),
		"--kafka-brokers", strings.Join(brokers, ","),
		"--topic-prefix", topicPrefix,
		"--log-level", "warn"}, e.args...)
	cmd := exec.Command(intakeBin, args...)
	cmd.Dir = root
	e.proc = startProcess(t, e.name, cmd)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _, err := get(e.url() + "/readyz"); err == nil && code == 200 {
			return time.Now()
		}
		select {
		case <-e.proc.done:
			t.Fatalf("%s exited before /readyz answered 200 (%v):\n%s", e.name, e.proc.exited, e.proc.log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /readyz not 200 after 30s:\n%s", e.name, e.proc.log)
		}
	}
}

// eventRequests sums the edge's intake_http_requests_total of route events (every code) from
// its /metrics: the POSTs this process answered since it started.
func (e *edge) eventRequests(t *testing.T) int64 {
	t.Helper()
	code, body, err := get(e.url() + "/metrics")
	if err != nil || code != 200 {
		t.Fatalf("%s /metrics: %d %v", e.name, code, err)
	}
	var n int64
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, `intake_http_requests_total{route="events",`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("%s /metrics: %q: %v", e.name, line, err)
		}
		n += int64(v)
	}
	return n
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

func get(url string) (int, []byte, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func freePort(t *testing.T) int { return edgetest.FreePort(t) }

// checks are HAProxy's health-check settings of the edges: a check every inter, a server DOWN
// after fall failed checks in a row, UP again after rise good ones.
type checks struct {
	inter      time.Duration
	fall, rise int
	timeout    time.Duration // timeout check
}

// haproxy is an HAProxy process balancing round robin over the edges, with a stats socket.
type haproxy struct {
	port   int    // the frontend, where clients post
	socket string // the stats socket (show stat)
	proc   *process
}

func (h *haproxy) url() string { return fmt.Sprintf("http://127.0.0.1:%d", h.port) }

// haproxyConfig is the configuration the test runs HAProxy with: the one an operator would start
// from (README "Scale out"). Health checks GET /readyz, which turns 503 when an edge drains on
// SIGTERM or has no broker, so an edge leaves the rotation before it stops taking requests.
// retries with redispatch move a request whose connection was refused (the edge is dead and not
// yet marked DOWN) to another edge: safe, nothing was sent. A request already sent to an edge
// that dies is answered 502, and the client retries it.
func haproxyConfig(port int, socket string, c checks, edges []*edge) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
    stats socket %s mode 600 level user
    log stderr format raw local0 notice

defaults
    mode http
    log global
    option dontlognull
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout check %dms
    retries 3
    option redispatch 1

frontend intake
    bind 127.0.0.1:%d
    option forwardfor
    default_backend edges

backend edges
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter %dms fall %d rise %d
`, socket, c.timeout.Milliseconds(), port, c.inter.Milliseconds(), c.fall, c.rise)
	for _, e := range edges {
		fmt.Fprintf(&b, "    server %s 127.0.0.1:%d check\n", e.name, e.port)
	}
	return b.String()
}

// startHAProxy writes the configuration into dir and runs haproxy in the foreground (-db); it
// returns once the stats socket answers and every edge is UP.
func startHAProxy(t *testing.T, dir string, c checks, edges []*edge) *haproxy {
	t.Helper()
	h := &haproxy{port: freePort(t), socket: filepath.Join(dir, "haproxy.sock")}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(h.port, h.socket, c, edges)), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := haproxyBin(t)
	if out, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	h.proc = startProcess(t, "haproxy", exec.Command(bin, "-db", "-f", cfg))
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := h.stats()
		if err == nil {
			up := 0
			for _, e := range edges {
				if st[e.name].up() {
					up++
				}
			}
			if up == len(edges) {
				return h
			}
		}
		if !h.proc.running() || time.Now().After(deadline) {
			t.Fatalf("haproxy: not every edge UP after 15s (last: %v, err %v):\n%s", st, err, h.proc.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serverStat is one server's line of HAProxy's show stat.
type serverStat struct {
	Status   string // UP, DOWN, "UP 1/2" (going down), "DOWN 1/2" (going up), MAINT, ...
	Requests int64  // req_tot: HTTP requests it answered
	Resp2xx  int64  // hrsp_2xx: its 2xx answers
	Resp5xx  int64  // hrsp_5xx: 5xx answers, HAProxy's own 502s and 503s included
	Eresp    int64  // eresp: requests whose answer never came (the connection cut: the client's request fails)
	Wredis   int64  // wredis: requests redispatched to another server (connection refused: nothing sent)
	ChkDown  int64  // chkdown: UP -> DOWN transitions
}

func (s serverStat) up() bool { return s.Status == "UP" }

// stats asks the stats socket for show stat and returns the edges backend's servers by name, the
// backend as a whole as "BACKEND", and the frontend (what clients were answered) as "FRONTEND".
func (h *haproxy) stats() (map[string]serverStat, error) {
	conn, err := net.DialTimeout("unix", h.socket, time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return nil, err
	}
	r := csv.NewReader(bufio.NewReader(conn))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("show stat: %w", err)
	}
	if len(rows) == 0 || len(rows[0]) == 0 {
		return nil, fmt.Errorf("show stat: no header")
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[strings.TrimPrefix(name, "# ")] = i
	}
	num := func(row []string, name string) int64 {
		i, ok := col[name]
		if !ok || i >= len(row) {
			return 0
		}
		n, _ := strconv.ParseInt(row[i], 10, 64)
		return n
	}
	out := map[string]serverStat{}
	for _, row := range rows[1:] {
		if len(row) <= col["status"] {
			continue
		}
		name := row[col["svname"]]
		if px := row[col["pxname"]]; px != "edges" && !(px == "intake" && name == "FRONTEND") {
			continue
		}
		out[name] = serverStat{Status: row[col["status"]], Requests: num(row, "req_tot"), Resp2xx: num(row, "hrsp_2xx"), Resp5xx: num(row, "hrsp_5xx"),
			Eresp: num(row, "eresp"), Wredis: num(row, "wredis"), ChkDown: num(row, "chkdown")}
	}
	return out, nil
}

// waitStatus polls the stats socket every 20 ms until server name is in state want (UP or DOWN)
// or timeout passes; it returns when it first saw it.
func (h *haproxy) waitStatus(t *testing.T, name, want string, timeout time.Duration) (time.Time, serverStat) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last serverStat
	for {
		st, err := h.stats()
		if err != nil {
			t.Fatalf("haproxy stats: %v", err)
		}
		last = st[name]
		if last.Status == want {
			return time.Now(), last
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy: %s is %q, not %s, after %s", name, last.Status, want, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
