package bench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Verdicts of a row.
const (
	VerdictOK       = "ok"
	VerdictAllocs   = "FAIL allocs" // allocs/event above the ceiling
	VerdictSlow     = "FAIL slow"   // ns/event above the ceiling plus tolerance
	VerdictBaseline = "baseline"    // measured, not held to a budget
	VerdictMissing  = "FAIL missing"
	VerdictUnknown  = "FAIL no budget line"
)

// Row is one benchmark's line of the summary.
type Row struct {
	Name    string
	Result  *Result // nil when the benchmark did not report
	Line    *Line   // nil when the budget has no line for it
	Ratio   float64 // baseline's ns/event / this ns/event (how many times cheaper), 0 when none
	Verdict string
	Failed  bool
}

// Check holds results against the budget. With allocsOnly, ns/event is not checked (timing on a
// shared CI machine is noise) and baselines are not expected to have run.
func Check(b *Budget, results []Result, allocsOnly bool) []Row {
	byName := map[string]*Result{}
	for i := range results {
		byName[results[i].Name] = &results[i]
	}
	var rows []Row
	for i := range b.Lines {
		l := &b.Lines[i]
		res := byName[l.Name]
		row := Row{Name: l.Name, Result: res, Line: l}
		switch {
		case res == nil && l.Baseline:
			if allocsOnly {
				continue
			}
			row.Verdict = VerdictBaseline + " (not run)"
		case res == nil:
			row.Verdict, row.Failed = VerdictMissing, true
		case l.Baseline:
			row.Verdict = VerdictBaseline
		case res.AllocsPerEvent >= l.Allocs+AllocsPrecision-1e-9:
			row.Verdict, row.Failed = VerdictAllocs, true
		case !allocsOnly && res.NsPerEvent > l.NS*(1+b.toleranceOf(l)):
			row.Verdict, row.Failed = VerdictSlow, true
		default:
			row.Verdict = VerdictOK
		}
		if res != nil && l.Vs != "" {
			if base := byName[l.Vs]; base != nil && res.NsPerEvent > 0 {
				row.Ratio = base.NsPerEvent / res.NsPerEvent
			}
		}
		rows = append(rows, row)
	}
	for i := range results {
		if b.Line(results[i].Name) == nil {
			rows = append(rows, Row{Name: results[i].Name, Result: &results[i], Verdict: VerdictUnknown, Failed: true})
		}
	}
	return rows
}

// Failed reports whether any row failed.
func Failed(rows []Row) bool {
	for _, r := range rows {
		if r.Failed {
			return true
		}
	}
	return false
}

// WriteTable prints the one-screen summary.
func WriteTable(w io.Writer, b *Budget, rows []Row, allocsOnly bool) {
	width := len("stage")
	for _, r := range rows {
		width = max(width, len(r.Name))
	}
	fmt.Fprintf(w, "%-*s %10s %14s %12s %18s %9s  %s\n", width, "stage", "ns/event", "events/s/core", "allocs/event", "budget allocs/ns", "vs base", "verdict")
	for _, r := range rows {
		ns, rate, allocs := "-", "-", "-"
		if r.Result != nil {
			ns = group(r.Result.NsPerEvent)
			rate = group(r.Result.EventsPerSecPerCore())
			allocs = strconv.FormatFloat(r.Result.AllocsPerEvent, 'f', 3, 64)
		}
		budget := ""
		if r.Line != nil && !r.Line.Baseline {
			nsBudget := group(r.Line.NS)
			if allocsOnly {
				nsBudget = "(" + nsBudget + ")"
			} else if t := b.toleranceOf(r.Line); t != b.Tolerance {
				nsBudget += "+" + strconv.FormatFloat(t*100, 'f', -1, 64) + "%"
			}
			budget = strconv.FormatFloat(r.Line.Allocs, 'f', -1, 64) + " / " + nsBudget
		}
		ratio := ""
		switch {
		case r.Ratio >= 1:
			ratio = strconv.FormatFloat(r.Ratio, 'f', 1, 64) + "x"
		case r.Ratio > 0:
			ratio = strconv.FormatFloat(r.Ratio, 'g', 2, 64) + "x"
		}
		fmt.Fprintf(w, "%-*s %10s %14s %12s %18s %9s  %s\n", width, r.Name, ns, rate, allocs, budget, ratio, r.Verdict)
	}
}

// group formats a non-negative number rounded to an integer with thousands separators.
func group(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
