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
	st.LastOK, st.LastError, st.LastErrorTime = r.sender.status.Read()
	return st
}
