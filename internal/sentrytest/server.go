package sentrytest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
)

// PublicKey is the key in the DSN the server hands out.
const PublicKey = "0123456789abcdef0123456789abcdef"

// Envelope is one decoded request.
type Envelope struct {
	Header map[string]any
	Items  []Item
}

// Item is one envelope item.
type Item struct {
	Header  map[string]any
	Type    string
	Payload []byte
}

// Server is a local Sentry endpoint. Its zero value is not usable; call NewServer.
type Server struct {
	srv     *httptest.Server
	closing chan struct{}

	mu        sync.Mutex
	events    []*sentry.Event
	envelopes []*Envelope
	bodies    [][]byte
	requests  int
	errs      []error
	hook      func(http.ResponseWriter, *http.Request) bool
	changed   chan struct{} // closed and replaced whenever an event arrives
}

// NewServer starts a server that t's cleanup closes (unblocking any hung request first).
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{closing: make(chan struct{}), changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.closing)
		s.srv.CloseClientConnections()
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, err := range s.errs {
			t.Errorf("sentrytest: %v", err)
		}
	})
	return s
}

// DSN returns a DSN pointing at the server (project 42).
func (s *Server) DSN() string {
	return strings.Replace(s.srv.URL, "http://", "http://"+PublicKey+"@", 1) + "/42"
}

// URL returns the server's base URL.
func (s *Server) URL() string { return s.srv.URL }

// SetHandlerHook installs h in front of the decoder: when h returns true it has answered
// the request itself and nothing is recorded. Nil removes the hook.
func (s *Server) SetHandlerHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	s.hook = h
	s.mu.Unlock()
}

// Hang makes every later request hang: the server accepts it and never answers, until
// the client gives up or the server is closed.
func (s *Server) Hang() {
	s.SetHandlerHook(func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return true
	})
}

// RateLimit answers every later request with 429 and the given headers, for example
// {"Retry-After": "60"} or {"X-Sentry-Rate-Limits": "60:error:organization"}.
func (s *Server) RateLimit(headers map[string]string) {
	s.SetHandlerHook(func(w http.ResponseWriter, r *http.Request) bool {
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	})
}

// Requests counts every request received, hooked or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Events returns the events decoded so far.
func (s *Server) Events() []*sentry.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*sentry.Event(nil), s.events...)
}

// Envelopes returns the envelopes decoded so far.
func (s *Server) Envelopes() []*Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Envelope(nil), s.envelopes...)
}

// RawBodies returns the body of every recorded request, as received (after gunzip).
func (s *Server) RawBodies() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.bodies...)
}

// WaitForEvents waits until at least n events arrived and returns them all; it fails t
// after timeout.
func (s *Server) WaitForEvents(t testing.TB, n int, timeout time.Duration) []*sentry.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.events), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Events()
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("sentrytest: got %d events after %v, want %d", got, timeout, n)
			return nil
		}
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	hook := s.hook
	s.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/envelope/") {
		s.fail(w, fmt.Errorf("unexpected %s %s", r.Method, r.URL.Path))
		return
	}
	if auth := r.Header.Get("X-Sentry-Auth"); !strings.Contains(auth, "sentry_key="+PublicKey) {
		s.fail(w, fmt.Errorf("X-Sentry-Auth %q lacks the DSN's key", auth))
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			s.fail(w, err)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		s.fail(w, err)
		return
	}
	env, err := Decode(raw)
	if err != nil {
		s.fail(w, err)
		return
	}
	var evs []*sentry.Event
	for _, it := range env.Items {
		if it.Type != "event" {
			continue
		}
		ev := new(sentry.Event)
		if err := json.Unmarshal(bareExceptions(it.Payload), ev); err != nil {
			s.fail(w, fmt.Errorf("event item: %w", err))
			return
		}
		evs = append(evs, ev)
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, raw)
	s.envelopes = append(s.envelopes, env)
	if len(evs) > 0 {
		s.events = append(s.events, evs...)
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	id, _ := env.Header["event_id"].(string)
	_, _ = fmt.Fprintf(w, `{"id":%q}`, id)
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// Decode parses an envelope: a header line, then items, each a header line followed by a
// payload of "length" bytes or, when the header has no length, of one line.
func Decode(raw []byte) (*Envelope, error) {
	br := bufio.NewReader(bytes.NewReader(raw))
	line, err := readLine(br)
	if err != nil {
		return nil, fmt.Errorf("envelope header: %w", err)
	}
	env := &Envelope{}
	if err := json.Unmarshal(line, &env.Header); err != nil {
		return nil, fmt.Errorf("envelope header: %w", err)
	}
	for {
		line, err := readLine(br)
		if err == io.EOF {
			return env, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue // blank line between items or at the end
		}
		var it Item
		if err := json.Unmarshal(line, &it.Header); err != nil {
			return nil, fmt.Errorf("item %d header %q: %w", len(env.Items), line, err)
		}
		it.Type, _ = it.Header["type"].(string)
		if l, ok := it.Header["length"]; ok {
			n, err := toLength(l)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", len(env.Items), err)
			}
			it.Payload = make([]byte, n)
			if _, err := io.ReadFull(br, it.Payload); err != nil {
				return nil, fmt.Errorf("item %d: payload shorter than length %d: %w", len(env.Items), n, err)
			}
			// An optional newline ends the payload.
			if b, err := br.Peek(1); err == nil && b[0] == '\n' {
				_, _ = br.ReadByte()
			}
		} else {
			p, err := readLine(br)
			if err != nil && err != io.EOF {
				return nil, err
			}
			it.Payload = p
		}
		env.Items = append(env.Items, it)
	}
}

func toLength(v any) (int, error) {
	f, ok := v.(float64)
	if !ok || f < 0 || f != float64(int(f)) {
		return 0, fmt.Errorf("bad length %v", v)
	}
	return int(f), nil
}

// readLine returns the next line without its newline; io.EOF only when nothing is left.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadBytes('\n')
	if err == io.EOF && len(line) > 0 {
		return line, nil
	}
	if err != nil {
		return nil, err
	}
	return line[:len(line)-1], nil
}

// bareExceptions turns the protocol's {"exception": {"values": [...]}} into the bare list
// sentry.Event decodes; a payload already in that form is returned as it is.
func bareExceptions(payload []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil {
		return payload
	}
	var wrapped struct {
		Values json.RawMessage `json:"values"`
	}
	ex := bytes.TrimSpace(m["exception"])
	if len(ex) == 0 || ex[0] != '{' || json.Unmarshal(ex, &wrapped) != nil {
		return payload
	}
	m["exception"] = wrapped.Values
	out, err := json.Marshal(m)
	if err != nil {
		return payload
	}
	return out
}
