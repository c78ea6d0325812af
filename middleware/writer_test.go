package middleware_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-go/vigil/middleware"
)

// serve runs handler behind the middleware on a real server, so Flush, Hijack and
// connection aborts behave as in production.
func serve(t *testing.T, s *stack, pattern string, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc(pattern, handler)
	srv := httptest.NewServer(s.h.Handler(mux))
	t.Cleanup(srv.Close)
	return srv
}

func TestFlushStreams(t *testing.T) {
	s := newStack(t, nil)
	release := make(chan struct{})
	srv := serve(t, s, "GET /stream", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		if _, ok := w.(http.Flusher); !ok {
			t.Error("wrapper lost http.Flusher")
		}
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "second\n")
	})
	resp, err := srv.Client().Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n') // arrives before the handler returns
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk = %q, %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if string(rest) != "second\n" {
		t.Fatalf("rest = %q", rest)
	}
	waitFor(t, func() bool { return len(accessLines(t, s.logs)) == 1 })
	if l := accessLines(t, s.logs)[0]; l["http.response.body.size"] != float64(len("first\nsecond\n")) || l["http.response.status_code"] != float64(200) {
		t.Errorf("access line = %v", l)
	}
}

func TestResponseController(t *testing.T) {
	s := newStack(t, nil)
	srv := serve(t, s, "POST /duplex", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through the wrapper: %v", err)
		}
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex through the wrapper: %v", err)
		}
		w.WriteHeader(http.StatusAccepted)
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		_, _ = io.Copy(w, r.Body) // echo while reading
	})
	resp, err := srv.Client().Post(srv.URL+"/duplex", "text/plain", strings.NewReader("ping"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || string(body) != "ping" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

func TestHijackRecords101(t *testing.T) {
	s := newStack(t, nil)
	srv := serve(t, s, "GET /ws", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		// What a WebSocket library does: the 101 goes out on the raw connection.
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
	})
	req, _ := http.NewRequest("GET", srv.URL+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	waitFor(t, func() bool { return len(gather(t, s.reg, middleware.MetricServerDuration)) == 1 })
	if _, ok := find(gather(t, s.reg, middleware.MetricServerDuration), serverLabels("GET", "/ws", "101")); !ok {
		t.Errorf("hijacked upgrade not recorded as 101: %v", gather(t, s.reg, middleware.MetricServerDuration))
	}
}

// readerFromRecorder is a ResponseWriter with io.ReaderFrom, as net/http's is.
type readerFromRecorder struct {
	*httptest.ResponseRecorder
	used bool
}

func (r *readerFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.used = true
	return io.Copy(r.ResponseRecorder, src)
}

func TestReaderFromReachesUnderlyingWriter(t *testing.T) {
	s := newStack(t, nil)
	rec := &readerFromRecorder{ResponseRecorder: httptest.NewRecorder()}
	s.h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, struct{ io.Reader }{strings.NewReader("file contents")}) // net/http uses sendfile here
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/file", nil))
	if !rec.used || rec.Body.String() != "file contents" {
		t.Errorf("ReadFrom used %v, body %q", rec.used, rec.Body.String())
	}
	if l := accessLines(t, s.logs)[0]; l["http.response.body.size"] != float64(13) {
		t.Errorf("http.response.body.size = %v", l["http.response.body.size"])
	}
}

func TestPanics(t *testing.T) {
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		wantCapture bool
		wantAbort   bool // the client sees a broken response, not a clean 500
	}{
		{"before writing: clean 500", func(w http.ResponseWriter, r *http.Request) { panic("boom") }, true, false},
		{"after a partial write: abort", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			_, _ = io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic("boom")
		}, true, true},
		{"ErrAbortHandler: not reported", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			_, _ = io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, nil)
			srv := serve(t, s, "GET /p", tt.handler)
			resp, err := srv.Client().Get(srv.URL + "/p")
			aborted := err != nil
			if err == nil {
				_, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				aborted = rerr != nil
				if !tt.wantAbort && resp.StatusCode != 500 {
					t.Errorf("status = %d, want 500", resp.StatusCode)
				}
			}
			if aborted != tt.wantAbort {
				t.Errorf("aborted = %v (err %v), want %v", aborted, err, tt.wantAbort)
			}
			waitFor(t, func() bool { return len(accessLines(t, s.logs)) == 1 })
			if got := s.cap.count(); (got == 1) != tt.wantCapture {
				t.Errorf("captures = %d, want %v", got, tt.wantCapture)
			}
			if _, ok := find(gather(t, s.reg, middleware.MetricServerDuration), serverLabels("GET", "/p", "500")); !ok {
				t.Errorf("failure not recorded as 500: %v", gather(t, s.reg, middleware.MetricServerDuration))
			}
			l := accessLines(t, s.logs)[0]
			if l["http.response.status_code"] != float64(500) || l["level"] != "ERROR" || (l["aborted"] == true) != tt.wantAbort {
				t.Errorf("access line = %v", l)
			}
			if st := s.exp.GetSpans().Snapshots()[0].Status(); st.Code.String() != "Error" {
				t.Errorf("span status = %v", st)
			}
		})
	}
}

// waitFor polls cond: the server records a request after the client saw its end.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
