// Package configerr holds the error the stage packages (kafkaout, schemacache, edge) return for a
// Config field they cannot use: it names the Go field, and cmd/intake words it with the flag bound
// to that field (options.flagError), so the packages never learn the flags' names and an operator
// never reads a Go field.
//
// It imports no other package of the project.
package configerr
