package fastpath

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// The hashed uniqueItems must find exactly what comparing every pair finds, Ajv's reported pair
// included, in both readings of numbers: random arrays of few distinct values (many duplicates),
// numbers written differently (1 and 1.0), numbers one double holds (12345678901234567890 and
// 12345678901234567891), objects with keys in other orders.
func TestUniqueItemsHashedMatchesPairwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	items := []string{`1`, `1.0`, `-0`, `0`, `"a"`, `"b"`, `true`, `null`, `[1,2]`, `[2,1]`,
		`{"x":1,"y":2}`, `{"y":2,"x":1}`, `{"x":1}`, `12345678901234567890`, `12345678901234567891`}
	for round := range 3000 {
		n := uniqueHashFrom + rng.IntN(40)
		if round%3 == 0 {
			n = 1 + rng.IntN(uniqueHashFrom) // the pairwise path too
		}
		var parts []string
		distinct := 1 + rng.IntN(len(items))
		for range n {
			parts = append(parts, items[rng.IntN(distinct)])
		}
		if round%2 == 0 { // mostly distinct numbers, maybe one duplicate
			parts = parts[:0]
			for k := range n {
				parts = append(parts, fmt.Sprint(k*7))
			}
			if rng.IntN(2) == 0 {
				parts[rng.IntN(n)] = parts[rng.IntN(n)]
			}
		}
		doc := "[" + strings.Join(parts, ",") + "]"
		a := fastjson.MustParse(doc).GetArray()
		for _, js := range []bool{false, true} {
			for _, scalar := range []bool{false, true} {
				u := uniqueRule{scalar: scalar, types: allTypesForTest(), js: js}
				gi, gj, gok := u.duplicate(a)
				wi, wj, wok := pairwiseDuplicate(a, scalar, u.types, js)
				if gi != wi || gj != wj || gok != wok {
					t.Fatalf("%s (scalar %t, js %t): hashed (%d,%d,%t), pairwise (%d,%d,%t)", doc, scalar, js, gi, gj, gok, wi, wj, wok)
				}
				if !scalar && len(a) >= uniqueHashFrom && hashedDuplicate(a, js) != wok {
					t.Fatalf("%s (js %t): hashedDuplicate %t, pairwise %t", doc, js, !wok, wok)
				}
			}
		}
	}
}

// A uniqueItems array of 20,000 distinct items, then with one duplicate: both decided in about
// linear time (the pairwise loops took seconds).
func TestUniqueItemsManyItems(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"tags":[`)
	for i := range 20000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"tag-%d"`, i)
	}
	p, err := Compile([]byte(`{"type":"object","properties":{"tags":{"type":"array","uniqueItems":true}}}`), CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var errs Errors
	if !p.Validate(fastjson.MustParse(b.String()+`]}`), &errs) {
		t.Fatalf("distinct items refused: %s", errs.Text())
	}
	errs = Errors{}
	if p.Validate(fastjson.MustParse(b.String()+`,"tag-7"]}`), &errs) {
		t.Fatal("a duplicate among 20,001 items passed")
	}
	if got := errs.Text(); !strings.Contains(got, "items ## 7 and 20000 are identical") {
		t.Fatalf("error %q does not name Ajv's pair", got)
	}
}

func pairwiseDuplicate(a []*fastjson.Value, scalar bool, ts typeSet, js bool) (int, int, bool) {
	if scalar {
		for i := len(a) - 1; i >= 0; i-- {
			if !scalarTypeOK(ts, a[i], js) {
				continue
			}
			for j := i + 1; j < len(a); j++ {
				if scalarTypeOK(ts, a[j], js) && jsonEqual(a[i], a[j], js, 0) {
					return i, j, true
				}
			}
		}
		return 0, 0, false
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := i - 1; j >= 0; j-- {
			if jsonEqual(a[i], a[j], js, 0) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

func allTypesForTest() typeSet { return tNull | tBoolean | tNumber | tString }
