package bench

import (
	"bufio"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Result is what one benchmark of the suite measured, over every run of it in the output (-count).
type Result struct {
	Name string // as in the budget: without "Benchmark" and the -GOMAXPROCS suffix
	// NsPerEvent is the median over the runs of the process's CPU time per event.
	NsPerEvent float64
	// AllocsPerEvent is the largest over the runs of heap allocations per event.
	AllocsPerEvent float64
	// EventsPerSec is the median over the runs of events per second of wall time.
	EventsPerSec float64
	Runs         int
}

// EventsPerSecPerCore is the capacity one core gives at this cost: 1e9 / ns/event.
func (r Result) EventsPerSecPerCore() float64 {
	if r.NsPerEvent <= 0 {
		return 0
	}
	return 1e9 / r.NsPerEvent
}

// Env is the header go test prints before the results.
type Env struct {
	GOOS, GOARCH, CPU string
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// BenchName turns a name as go test prints it ("BenchmarkParse/revision-create/fastjson-2") into
// the budget's form ("Parse/revision-create/fastjson").
func BenchName(printed string) string {
	return procsSuffix.ReplaceAllString(strings.TrimPrefix(printed, "Benchmark"), "")
}

// ParseResults reads go test -bench output and returns the results of benchmarks that reported
// ns/event and allocs/event (the suite's), in the order they first appear. Other lines are ignored.
func ParseResults(r io.Reader) ([]Result, Env, error) {
	type acc struct {
		ns, allocs, rate []float64
	}
	var env Env
	var order []string
	runs := map[string]*acc{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "goos: "):
			env.GOOS = strings.TrimPrefix(line, "goos: ")
			continue
		case strings.HasPrefix(line, "goarch: "):
			env.GOARCH = strings.TrimPrefix(line, "goarch: ")
			continue
		case strings.HasPrefix(line, "cpu: "):
			env.CPU = strings.TrimPrefix(line, "cpu: ")
			continue
		case !strings.HasPrefix(line, "Benchmark"):
			continue
		}
		f := strings.Fields(line)
		// name, iterations, then value-unit pairs.
		if len(f) < 4 || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		metrics := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			metrics[f[i+1]] = v
		}
		ns, okNS := metrics["ns/event"]
		allocs, okAllocs := metrics["allocs/event"]
		if !okNS || !okAllocs {
			continue
		}
		name := BenchName(f[0])
		a := runs[name]
		if a == nil {
			a = &acc{}
			runs[name] = a
			order = append(order, name)
		}
		a.ns = append(a.ns, ns)
		a.allocs = append(a.allocs, allocs)
		a.rate = append(a.rate, metrics["events/s"])
	}
	if err := sc.Err(); err != nil {
		return nil, env, err
	}
	out := make([]Result, 0, len(order))
	for _, name := range order {
		a := runs[name]
		out = append(out, Result{
			Name:           name,
			NsPerEvent:     median(a.ns),
			AllocsPerEvent: slices.Max(a.allocs),
			EventsPerSec:   median(a.rate),
			Runs:           len(a.ns),
		})
	}
	return out, env, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
