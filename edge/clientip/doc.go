// Package clientip finds the client's address behind trusted proxies: the connection's remote
// address, or, when that is a trusted proxy, the hop its forwarding headers (X-Forwarded-For,
// X-Client-IP) name. The edge uses it for rate limits and access checks, once per request and
// without allocating. Proxies is parsed once from --trusted-proxies / the access config's
// trusted_proxies.
//
// It imports edge/internal/httpval and no other package of the project.
package clientip
