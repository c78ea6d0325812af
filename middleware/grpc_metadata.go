package middleware

import (
	"context"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/vigil-go/vigil/internal/limits"
	piirule "github.com/vigil-go/vigil/internal/pii"
	"github.com/vigil-go/vigil/internal/scrub"
)

// requestIDKey is the metadata key that carries the request id both ways.
const requestIDKey = "x-request-id"

// grpcRequestID returns the caller's id when it is acceptable (requestid.go's rule,
// shared with HTTP), else a new one.
func grpcRequestID(ctx context.Context) string {
	var inbound string
	if vs := metadata.ValueFromIncomingContext(ctx, requestIDKey); len(vs) > 0 {
		inbound = vs[0]
	}
	return requestID(inbound)
}

// incomingCarrier reads the trace context from a server call's incoming metadata: md,
// when the InHeader event gave it (keys in lower case), else the context's, without
// copying the whole metadata map.
type incomingCarrier struct {
	ctx context.Context
	md  metadata.MD
}

func (c *incomingCarrier) Get(key string) string {
	if c.md == nil {
		if vs := metadata.ValueFromIncomingContext(c.ctx, key); len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	vs, ok := c.md[key]
	if !ok && hasUpper(key) {
		vs = c.md[strings.ToLower(key)]
	}
	if len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func (c *incomingCarrier) Set(string, string) {}

func (c *incomingCarrier) Keys() []string {
	md := c.md
	if md == nil {
		md, _ = metadata.FromIncomingContext(c.ctx)
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	return keys
}

// hasUpper reports whether s has an ASCII upper-case letter.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// outgoingCarrier collects the pairs a propagator writes, to be appended to the
// outgoing metadata in one step.
type outgoingCarrier struct{ kv []string }

func (c *outgoingCarrier) Get(key string) string {
	for i := 0; i+1 < len(c.kv); i += 2 {
		if c.kv[i] == key {
			return c.kv[i+1]
		}
	}
	return ""
}

func (c *outgoingCarrier) Set(key, value string) { c.kv = append(c.kv, key, value) }

func (c *outgoingCarrier) Keys() []string {
	keys := make([]string, 0, len(c.kv)/2)
	for i := 0; i < len(c.kv); i += 2 {
		keys = append(keys, c.kv[i])
	}
	return keys
}

// maxReportedKeys bounds the metadata keys a report lists; a client can send thousands.
const maxReportedKeys = 64

// scrubbedMetadata returns md as a group attribute for a panic report, under the rules
// the errors package applies to an HTTP request's headers: values of secret-named keys
// replaced (the secret policy), keys that reveal the client's address left out unless
// pii (internal/pii, shared with errors), binary values summarized. Values are bounded
// (limits.AttrValue), as are the number of keys; keys are sorted so reports are stable.
func scrubbedMetadata(m *scrub.Matcher, md metadata.MD, pii bool) slog.Attr {
	keys := make([]string, 0, len(md))
	for k := range md {
		if strings.HasPrefix(k, ":") || (!pii && piirule.IPHeader(k)) {
			continue // pseudo-headers (:authority) are not metadata
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	omitted := 0
	if len(keys) > maxReportedKeys {
		keys, omitted = keys[:maxReportedKeys], len(keys)-maxReportedKeys
	}
	attrs := make([]slog.Attr, 0, len(keys)+1)
	for _, k := range keys {
		var v string
		switch {
		case m.Sensitive(k):
			v = scrub.Redacted
		case strings.HasSuffix(k, "-bin"):
			n := 0
			for _, s := range md[k] {
				n += len(s)
			}
			v = "[" + strconv.Itoa(n) + " bytes]"
		default:
			v = bound(m.Text(strings.Join(md[k], ", ")))
		}
		attrs = append(attrs, slog.String(limits.Truncate(k, limits.LabelValue), v))
	}
	if omitted > 0 {
		attrs = append(attrs, slog.Int("_omitted_keys", omitted))
	}
	return slog.Attr{Key: "metadata", Value: slog.GroupValue(attrs...)}
}
