package configerr

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is a Config field whose value a package cannot use. It names the field as Go spells it;
// a program that fills the Config from settings of its own (flags, a file) words the message with
// its setting's name through Message.
type Error struct {
	Pkg     string // the package refusing it, e.g. "kafkaout"
	Field   string // the field, e.g. "RingSize"
	Value   any    // the value as shown; nil shows none (a password is never shown)
	Without string // another field that must be set with this one, if that is what is wrong
	Reason  string // what is wrong, or what would do
	Err     error  // the underlying error, if any
}

func (e *Error) Error() string {
	return e.Pkg + ": " + e.Message(func(field string) string { return "Config." + field })
}

func (e *Error) Unwrap() error { return e.Err }

// Message is the error's text with each field named by name: "cannot use <name> <value>[ without
// <name>]: <reason>[: <underlying error>]".
func (e *Error) Message(name func(field string) string) string {
	var b strings.Builder
	b.WriteString("cannot use ")
	b.WriteString(name(e.Field))
	switch v := e.Value.(type) {
	case nil:
	case string:
		b.WriteString(" " + strconv.Quote(v))
	default:
		fmt.Fprintf(&b, " %v", v)
	}
	if e.Without != "" {
		b.WriteString(" without " + name(e.Without))
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}
