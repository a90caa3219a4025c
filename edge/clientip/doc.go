// Package clientip finds the client's address behind trusted proxies: the connection's remote
// address, or, when that is a trusted proxy, the address its forwarding headers (X-Forwarded-For,
// X-Client-IP) name. The edge uses it once per request and without allocating: From for rate
// limits, ForEvents for the events' http.client_ip (the two read the headers differently, each
// says why). Proxies is parsed once from --trusted-proxies.
//
// It imports edge/internal/httpval and no other package of the project.
package clientip
