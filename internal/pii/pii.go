// Package pii holds the rule for personal data that vigil sends to an error tracker only
// when the user opted in (errors.Config.SendDefaultPII): the one list of headers that
// reveal a client's address. The errors package applies it to HTTP request headers and
// the middleware to gRPC metadata, so the two transports cannot disagree.
package pii

import "strings"

// ipHeaders name the headers (and gRPC metadata keys, which are the same names in lower
// case) that carry a client's IP address, set by proxies, load balancers and CDNs.
var ipHeaders = [...]string{
	"X-Forwarded-For",
	"X-Real-Ip",
	"Forwarded",
	"True-Client-Ip",
	"Cf-Connecting-Ip",
	"X-Client-Ip",
	"X-Cluster-Client-Ip",
	"Fastly-Client-Ip",
	"X-Original-Forwarded-For",
	"X-Envoy-External-Address",
	"X-Envoy-Original-Ip",
	"X-Azure-Clientip",
	"X-Appengine-User-Ip",
}

// IPHeader reports whether a header or metadata key, in any case, reveals the client's
// IP address; such values are sent only when PII sending is on. It does not allocate.
func IPHeader(name string) bool {
	for _, h := range ipHeaders {
		if len(h) == len(name) && strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}
