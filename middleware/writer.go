package middleware

import (
	"bufio"
	"io"
	"math"
	"net"
	"net/http"
)

// responseWriter records the status and the bytes of a response. It keeps the optional
// interfaces handlers rely on: http.Flusher (and FlushError), http.Hijacker, io.ReaderFrom
// (sendfile), and Unwrap for http.ResponseController (deadlines, full duplex). When the
// underlying writer lacks one of them, the method returns http.ErrNotSupported (through
// ResponseController) instead of the type assertion failing, as net/http's own wrappers do.
type responseWriter struct {
	rw          http.ResponseWriter
	written     int64
	status      int32 // beside the flags: one word for the three
	wroteHeader bool
	hijacked    bool
}

func (w *responseWriter) reset(rw http.ResponseWriter) {
	*w = responseWriter{rw: rw}
}

// started reports whether bytes may have reached the client: then a panic can no longer
// be turned into a clean 500.
func (w *responseWriter) started() bool { return w.wroteHeader || w.hijacked }

// code is the status to record: 200 when the handler returned without writing, as
// net/http then sends.
func (w *responseWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return int(w.status)
}

func (w *responseWriter) Header() http.Header { return w.rw.Header() }

func (w *responseWriter) WriteHeader(code int) {
	// The underlying call comes first: it panics on an invalid code, and then the
	// recorded status stays unset and the failure is recorded as a 500.
	w.rw.WriteHeader(code)
	if w.wroteHeader || w.hijacked {
		return // superfluous; net/http logs it
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		return // informational (103 Early Hints): the final status is still to come
	}
	w.status = statusInt32(code)
	w.wroteHeader = true
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	n, err := w.rw.Write(p)
	w.written += int64(n)
	return n, err
}

// WriteString keeps io.WriteString from converting to []byte when the underlying
// writer (net/http's) can take a string.
func (w *responseWriter) WriteString(s string) (int, error) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	n, err := io.WriteString(w.rw, s)
	w.written += int64(n)
	return n, err
}

// ReadFrom lets io.Copy reach net/http's sendfile path through the wrapper.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	var n int64
	var err error
	if rf, ok := w.rw.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{w.rw}, src)
	}
	w.written += n
	return n, err
}

// statusInt32 saturates code to int32. net/http refuses codes outside 100-999, but a
// writer of the handler's own may pass anything on; the label is _OTHER either way.
func statusInt32(code int) int32 {
	return int32(min(max(code, math.MinInt32), math.MaxInt32))
}

// writerOnly hides ReadFrom so io.Copy does not call back into the wrapper.
type writerOnly struct{ io.Writer }

// FlushError flushes the underlying writer; ResponseController.Flush prefers it.
func (w *responseWriter) FlushError() error {
	err := http.NewResponseController(w.rw).Flush()
	if err == nil && !w.wroteHeader {
		// Flushing sends the header, with 200 unless one was set.
		w.status, w.wroteHeader = http.StatusOK, true
	}
	return err
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// Hijack implements http.Hijacker. A hijacked response that set no status is recorded as
// 101 Switching Protocols: WebSocket libraries write that line on the raw connection.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.hijacked = true
		if !w.wroteHeader {
			w.status = http.StatusSwitchingProtocols
		}
	}
	return conn, brw, err
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.rw }

// countingBody counts the request bytes a handler reads when the length is not known
// in advance (chunked uploads).
type countingBody struct {
	rc io.ReadCloser
	n  int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }
