// Package httpval reads HTTP header values as RFC 9110 writes them: optional white space around
// values, comma-separated lists, ASCII case-insensitive tokens. Shared by edge (If-None-Match),
// edge/auth, edge/cors and edge/clientip; nothing here allocates.
//
// It imports no other package of the project.
package httpval
