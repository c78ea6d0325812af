package metrics

import (
	"time"

	"github.com/vigil-go/vigil/internal/exportstatus"
)

// ExportStatus is the state of one backend that sends the registry somewhere: its last
// success and its last failure.
type ExportStatus struct {
	Name          string // statsd, pushgateway or graphite
	LastOK        time.Time
	LastError     string // scrubbed of secrets; "" when none
	LastErrorTime time.Time
}

// exportState records a backend's last success and failure. Only the background
// flush and push paths write it; the clock is read once per flush or push.
type exportState struct {
	now func() time.Time // nil: time.Now; tests set it
	exportstatus.Tracker
}

func (s *exportState) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func (s *exportState) ok() { s.OK(s.clock()) }

// failed records msg, which the caller has scrubbed.
func (s *exportState) failed(msg string) { s.Failed(s.clock(), msg) }

func (s *exportState) status(name string) ExportStatus {
	st := ExportStatus{Name: name}
	st.LastOK, st.LastError, st.LastErrorTime = s.Read()
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
