package errors

import "time"

// Status is the state of a Reporter's delivery to Sentry, for a status page.
type Status struct {
	// Sending is false when there is nowhere to send (no DSN or Transport).
	Sending bool
	// LastOK is when an event was last delivered; LastError and LastErrorTime describe
	// the last failure (scrubbed), zero when none.
	LastOK        time.Time
	LastError     string
	LastErrorTime time.Time
}

// Status reports the Reporter's delivery state.
func (r *Reporter) Status() Status {
	if r == nil {
		return Status{}
	}
	st := Status{Sending: r.transport != nil}
	if ns := r.sender.lastOKAt.Load(); ns != 0 {
		st.LastOK = time.Unix(0, ns)
	}
	if ns := r.sender.lastErrAt.Load(); ns != 0 {
		st.LastErrorTime = time.Unix(0, ns)
		if e := r.sender.lastErr.Load(); e != nil {
			st.LastError = *e
		}
	}
	return st
}
