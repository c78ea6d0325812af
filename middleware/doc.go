// Package middleware records HTTP and gRPC traffic: spans, metrics, access logs and
// error scopes, in one pass per request.
package middleware
