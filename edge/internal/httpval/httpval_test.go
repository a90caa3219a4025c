package httpval

import (
	"strings"
	"testing"
)

func TestNext(t *testing.T) {
	var got []string
	for list := []byte(" a ,\tb,, c\t,"); list != nil; {
		var e []byte
		e, list = Next(list)
		got = append(got, string(e))
	}
	if strings.Join(got, "|") != "a|b||c|" {
		t.Fatalf("elements %q", got)
	}
	if string(TrimOWS([]byte(" \t x y\t "))) != "x y" {
		t.Fatal("TrimOWS")
	}
	if !EqualFold([]byte("Content-Type"), "content-type") || EqualFold([]byte("content-typ"), "content-type") {
		t.Fatal("EqualFold")
	}
}
