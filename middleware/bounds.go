package middleware

import "github.com/vigil-go/vigil/internal/limits"

// bound limits a value a client (or a server, for the client side) controls before it
// goes on a span or an access line: see internal/limits.AttrValue. It returns s itself,
// without allocating, when s is short enough.
func bound(s string) string { return limits.Truncate(s, limits.AttrValue) }
