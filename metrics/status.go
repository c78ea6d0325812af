package metrics

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-go/vigil/internal/limits"
)

// ExportStatus is the state of one backend that sends the registry somewhere: its last
// success and its last failure.
type ExportStatus struct {
	Name          string // statsd, pushgateway or graphite
	LastOK        time.Time
	LastError     string // scrubbed of secrets; "" when none
	LastErrorTime time.Time
}

// maxStatusError bounds a failure's text as ExportStatus keeps it (a Pushgateway's
// error quotes its response body).
const maxStatusError = 512

// exportState records a backend's last success and failure. Only the background
// flush and push paths write it; the clock is read once per flush or push.
type exportState struct {
	now       func() time.Time
	lastOK    atomic.Int64 // unix nanoseconds; 0: never
	lastErrAt atomic.Int64
	lastErr   atomic.Pointer[string]
}

func (s *exportState) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func (s *exportState) ok() { s.lastOK.Store(s.clock().UnixNano()) }

// failed records msg, which the caller has scrubbed.
func (s *exportState) failed(msg string) {
	msg = limits.Truncate(strings.TrimSpace(msg), maxStatusError)
	s.lastErr.Store(&msg)
	s.lastErrAt.Store(s.clock().UnixNano())
}

func (s *exportState) status(name string) ExportStatus {
	st := ExportStatus{Name: name}
	if ns := s.lastOK.Load(); ns != 0 {
		st.LastOK = time.Unix(0, ns)
	}
	if ns := s.lastErrAt.Load(); ns != 0 {
		st.LastErrorTime = time.Unix(0, ns)
		if m := s.lastErr.Load(); m != nil {
			st.LastError = *m
		}
	}
	return st
}

// ExportStatus reports, for each configured backend (StatsD, the Pushgateway,
// Graphite, in that order), the last flush or push that succeeded and the last that
// failed. A registry with none configured, or a nil one, reports nothing. For StatsD a
// flush succeeds when every packet was written and fails on a write or connection
// error; lines dropped for other reasons (oversize, non-finite, Shutdown's deadline)
// are counted in vigil_metrics_statsd_dropped_total, not here. Error texts have been
// through the registry's secret policy.
func (r *Registry) ExportStatus() []ExportStatus {
	if r == nil {
		return nil
	}
	var out []ExportStatus
	if r.statsd != nil {
		out = append(out, r.statsd.status.status("statsd"))
	}
	if r.pusher != nil {
		out = append(out, r.pusher.status.status(targetNames[targetPushgateway]))
	}
	if r.graphite != nil {
		out = append(out, r.graphite.status.status(targetNames[targetGraphite]))
	}
	return out
}
