// Package exportstatus records when a backend last accepted what vigil sent and when,
// and why, it last refused: the one record behind every part's status report (span
// and OTLP exporters, StatsD, pushes, Sentry delivery) on the dev console.
package exportstatus

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-go/vigil/internal/limits"
)

// MaxError bounds a failure's text as a Tracker keeps it (a push error quotes its
// response body).
const MaxError = 512

// Tracker is written by a background send path and read by a status page, without
// locks. The zero Tracker has seen nothing.
type Tracker struct {
	okAt  atomic.Int64 // unix nanoseconds; 0: never
	errAt atomic.Int64
	err   atomic.Pointer[string]
}

// OK records a success at t.
func (k *Tracker) OK(t time.Time) { k.okAt.Store(t.UnixNano()) }

// Failed records a failure at t. msg must already be scrubbed; it is trimmed and
// bounded to MaxError bytes.
func (k *Tracker) Failed(t time.Time, msg string) {
	msg = limits.Truncate(strings.TrimSpace(msg), MaxError)
	k.err.Store(&msg)
	k.errAt.Store(t.UnixNano())
}

// LastError is the last failure's text ("" when none).
func (k *Tracker) LastError() string {
	if m := k.err.Load(); m != nil {
		return *m
	}
	return ""
}

// Read returns the last success and the last failure (zero times when none).
func (k *Tracker) Read() (lastOK time.Time, lastErr string, lastErrAt time.Time) {
	if ns := k.okAt.Load(); ns != 0 {
		lastOK = time.Unix(0, ns)
	}
	if ns := k.errAt.Load(); ns != 0 {
		lastErrAt = time.Unix(0, ns)
		lastErr = k.LastError()
	}
	return lastOK, lastErr, lastErrAt
}
