// Package cors answers CORS for the edge: a Matcher of allowed origins compiled once, a Table per
// configuration snapshot (the global list plus each stream's producers.<service>.allowed_origins),
// the preflight answer and the headers of actual responses, all from precomputed values and
// without allocation. It decides nothing about auth: CORS only tells browsers what a page may read.
//
// Origins: "scheme://host[:port]", scheme and port significant (default ports 80/443 dropped, as
// browsers do), compared byte for byte with the Origin header (browsers send it lower case).
// "https://*.example.org" matches one or more labels in front of example.org (a.example.org,
// a.b.example.org), never example.org itself, which must be listed on its own. "*" allows every
// origin except "null" (sandboxed frames, file: pages), which matches only when listed.
//
// Streams: a preflight does not say which stream the events are for, so it passes when the origin
// is allowed globally or by any stream (Table.Allowed), and so do the headers of the response
// (Table.Apply). Each event is then checked against its own stream (Table.AllowedFor: global list
// or that stream's list) where the events are processed; an event refused there is an invalid event
// of the response, not a CORS failure. A request without Origin is not a cross-origin browser
// request and passes AllowedFor.
//
// Integration: build a Table with NewTable(global, perStream, Options) when a config snapshot is
// built (perStream indexed like the snapshot's streams); for OPTIONS call Preflight with Origin,
// Access-Control-Request-Method and Access-Control-Request-Headers and answer 204 either way (the
// missing headers are the refusal); for every other response call Apply, including text/plain
// beacons, which need no preflight; per event call AllowedFor with the event's stream index.
//
// It imports edge/internal/httpval (header value lists) and no other package of the project.
package cors
