package middleware

import (
	"context"
	"math/rand/v2"

	"github.com/vigil-go/vigil/internal/ctxattrs"
)

// maxInboundIDLen bounds an inbound id: longer values are replaced, so a client cannot
// make every log line and span carry kilobytes it chose.
const maxInboundIDLen = 64

// validRequestID reports whether an inbound id is short and made of characters that are
// safe in logs, headers and Sentry tags: letters, digits and . _ - :.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > maxInboundIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '_', c == '-', c == ':':
		default:
			return false
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

// generateRequestID returns 128 random bits as 32 hex digits. math/rand/v2's global source is
// the runtime's per-thread ChaCha8, seeded from the OS: unique in practice, and no
// syscall or lock per request as crypto/rand would cost.
func generateRequestID() string {
	var b [32]byte
	for half := range 2 {
		v := rand.Uint64()
		for i := range 16 {
			b[half*16+i] = hexDigits[v>>60]
			v <<= 4
		}
	}
	return string(b[:])
}

// requestID returns inbound when it is acceptable, else a fresh id.
func requestID(inbound string) string {
	if validRequestID(inbound) {
		return inbound
	}
	return generateRequestID()
}

// RequestID returns the id the middleware gave the request whose context ctx is (or
// derives from), or "".
func RequestID(ctx context.Context) string {
	id, _ := ctxattrs.Lookup(ctx, attrRequestID)
	return id
}
