//go:build integration

package integration

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/vigil-go/vigil/health"
	"github.com/vigil-go/vigil/internal/logtest"
	"github.com/vigil-go/vigil/observe"
)

// TestHealthPostgres: a readiness check on the real PostgreSQL, reached through a proxy
// this test can cut, turns /readyz to 503 when the database becomes unreachable and back
// to 200 when it returns; the error shows no password, and the log has one line per
// change.
func TestHealthPostgres(t *testing.T) {
	dsn := os.Getenv("VIGIL_IT_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("VIGIL_IT_POSTGRES_DSN not set: run integration/run.sh, which starts PostgreSQL")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("VIGIL_IT_POSTGRES_DSN: %v", err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.addr()
	if _, ok := u.User.Password(); !ok {
		// A password the server ignores (trust auth on loopback), which must not show.
		u.User = url.UserPassword(u.User.Username(), "pw-Not-2-show")
	}
	password, _ := u.User.Password()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var logs logtest.Buffer
	var cfg observe.Config
	cfg.NoGlobals = true
	cfg.Logging.Output = &logs
	cfg.Tracing.Exporter = "none"
	cfg.Metrics.DisableHostCollector = true
	cfg.Health.Enabled = true
	cfg.Health.Interval = time.Nanosecond // every probe checks
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())
	if err := o.AddCheck("postgres", health.DB(db), health.Timeout(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o.Middleware(http.NotFoundHandler()))
	defer srv.Close()

	readyz := func() (int, health.Report) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r health.Report
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, r
	}

	if code, r := readyz(); code != 200 || r.Checks[0].Status != health.StatusOK {
		t.Fatalf("database up: %d %+v", code, r)
	}
	proxy.cut(true)
	code, r := readyz()
	if code != 503 || r.Checks[0].Status != health.StatusFail || r.Checks[0].Error == "" {
		t.Fatalf("database cut off: %d %+v", code, r)
	}
	t.Logf("error while cut off: %s", r.Checks[0].Error)
	if strings.Contains(r.Checks[0].Error, password) {
		t.Errorf("the password shows in %q", r.Checks[0].Error)
	}
	readyz() // still failing: no second log line
	proxy.cut(false)
	if code, r := readyz(); code != 200 || r.Checks[0].Status != health.StatusOK {
		t.Fatalf("database back: %d %+v", code, r)
	}

	var changes []string
	for _, l := range logs.Lines(t) {
		if m, _ := l["msg"].(string); strings.HasPrefix(m, "health check") {
			changes = append(changes, m)
		}
	}
	if strings.Join(changes, ", ") != "health check failing, health check passing again" {
		t.Errorf("state-change lines: %q", changes)
	}
	if strings.Contains(logs.String(), password) {
		t.Error("the password shows in the log")
	}
}

// proxy forwards TCP connections to an upstream until cut: then it closes the ones open
// and every new one at once, as a database behind a failed network would look.
type proxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	down     bool
	conns    map[net.Conn]bool
}

func startProxy(t *testing.T, upstream string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, upstream: upstream, conns: map[net.Conn]bool{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		p.cut(true)
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *proxy) serve(c net.Conn) {
	if !p.track(c) {
		return
	}
	up, err := net.DialTimeout("tcp", p.upstream, 2*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(up) {
		c.Close()
		return
	}
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

// cut closes every connection and refuses new ones (down), or lets them through again.
func (p *proxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}
