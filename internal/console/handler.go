package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/vigil-go/vigil/internal/limits"
)

//go:embed assets
var assets embed.FS

// Prefix is where the middleware serves the console.
const Prefix = "/debug/vigil/"

// CSP forbids inline script and style and every origin but the page's own, so a string
// that slipped through escaping could still not run.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"

const cookieName = "vigil_console"

// Handler serves the page and its JSON API. It answers requests whose path is under
// Prefix, or, mounted elsewhere with http.StripPrefix, the path it is given. Without a
// token it serves loopback clients only (by the connection's address, never a
// forwarded header) that name a loopback host (so a page of another site cannot reach
// it by DNS rebinding); with a token every client must present it.
func (c *Console) Handler() http.Handler { return http.HandlerFunc(c.serve) }

func (c *Console) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	defer func() {
		// A bug here must not take the program down; the console is a convenience.
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			slog.Default().Error("vigil: console request panicked")
			writeError(w, http.StatusInternalServerError, "internal error")
		}
	}()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	rest := r.URL.Path
	if p := strings.TrimSuffix(Prefix, "/"); rest == p {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	} else if strings.HasPrefix(rest, Prefix) {
		rest = rest[len(p):]
	}
	if ok, why := c.allowed(w, r, rest); !ok {
		if why != "" { // else allowed answered already (a redirect)
			writeError(w, http.StatusForbidden, why)
		}
		return
	}
	if strings.HasPrefix(rest, "/api/") {
		c.serveAPI(w, r, strings.TrimPrefix(rest, "/api/"))
		return
	}
	c.serveAsset(w, r, rest)
}

// allowed decides access. With a token, a valid ?token= on the page sets a cookie and
// redirects to the page without it, so the token leaves the address bar and history.
func (c *Console) allowed(w http.ResponseWriter, r *http.Request, rest string) (bool, string) {
	if c.opts.Token == "" {
		if !loopbackAddr(r.RemoteAddr) {
			return false, "the console answers loopback clients only unless a token is configured (VIGIL_CONSOLE_TOKEN)"
		}
		if !loopbackHost(r.Host) {
			return false, "open the console as http://localhost:PORT or http://127.0.0.1:PORT, or configure a token (VIGIL_CONSOLE_TOKEN)"
		}
		return true, ""
	}
	want := sha256.Sum256([]byte(c.opts.Token))
	if auth := r.Header.Get("Authorization"); auth != "" {
		if scheme, tok, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") && c.tokenOK(strings.TrimSpace(tok), want) {
			return true, ""
		}
	}
	if ck, err := r.Cookie(cookieName); err == nil && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(c.cookieValue())) == 1 {
		return true, ""
	}
	if q := r.URL.Query(); q.Has("token") && c.tokenOK(q.Get("token"), want) {
		http.SetCookie(w, &http.Cookie{
			Name: cookieName, Value: c.cookieValue(), Path: mountPath(r, rest),
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		})
		if !strings.HasPrefix(rest, "/api/") {
			q.Del("token")
			target := "./" + path.Base("/"+strings.TrimPrefix(rest, "/"))
			if rest == "" || strings.HasSuffix(rest, "/") {
				target = "./"
			}
			if len(q) > 0 {
				target += "?" + q.Encode()
			}
			// Relative, as the client sent the path: http.Redirect would resolve it
			// against a path http.StripPrefix may have cut.
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusSeeOther)
			return false, ""
		}
		return true, ""
	}
	return false, "a console token is required: open the page once with ?token=TOKEN, or send Authorization: Bearer TOKEN"
}

func (c *Console) tokenOK(got string, want [32]byte) bool {
	g := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(g[:], want[:]) == 1
}

// cookieValue is derived from the token, so the cookie is not the token itself.
func (c *Console) cookieValue() string {
	s := sha256.Sum256([]byte("vigil console cookie\x00" + c.opts.Token))
	return hex.EncodeToString(s[:])
}

// mountPath is the path the console is mounted at, from the request as the client sent
// it (RequestURI survives http.StripPrefix).
func mountPath(r *http.Request, rest string) string {
	p := r.RequestURI
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if p = strings.TrimSuffix(p, rest); p == "" || !strings.HasPrefix(p, "/") {
		return "/"
	}
	return p + "/"
}

func loopbackAddr(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	host = strings.ToLower(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

func (c *Console) serveAsset(w http.ResponseWriter, r *http.Request, rest string) {
	name := strings.TrimPrefix(rest, "/")
	if name == "" {
		name = "index.html"
	}
	if !fs.ValidPath(name) {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	b, err := fs.ReadFile(assets, "assets/"+name)
	if err != nil {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// maxList bounds the items of one list response.
const maxList = 500

func (c *Console) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	q := r.URL.Query()
	name, arg, _ := strings.Cut(rest, "/")
	switch {
	case name == "version" && arg == "":
		writeJSON(w, c.Version())
	case name == "errors" && arg == "":
		writeJSON(w, struct {
			Groups []errorGroup `json:"groups"`
		}{c.errorGroups()})
	case name == "errors":
		g, evs, ok := c.errorGroup(arg)
		if !ok {
			writeError(w, http.StatusNotFound, "not found")
			return
		}
		writeJSON(w, struct {
			Group  errorGroup    `json:"group"`
			Events []*errorEvent `json:"events"`
		}{g, evs})
	case name == "traces" && arg == "":
		view := q.Get("view")
		if view != "slow" && view != "failed" {
			view = "recent"
		}
		writeJSON(w, struct {
			Traces []traceSummary `json:"traces"`
		}{c.traceList(view, q.Get("route"), intParam(q.Get("limit"), 100, maxList))})
	case name == "traces":
		id, ok := parseTraceID(arg)
		var t traceView
		if ok {
			t, ok = c.traceDetail(id)
		}
		if !ok {
			writeError(w, http.StatusNotFound, "not found")
			return
		}
		writeJSON(w, t)
	case name == "routes" && arg == "":
		writeJSON(w, c.routeStats())
	case name == "logs" && arg == "":
		lq := logQuery{
			minRank: -1,
			q:       strings.ToLower(limits.Truncate(q.Get("q"), 256)),
			traceID: q.Get("trace_id"),
			spanID:  q.Get("span_id"),
			limit:   intParam(q.Get("limit"), 200, MaxLogLines),
		}
		if l := q.Get("level"); l != "" {
			lq.minRank = rankOf(l)
		}
		if a, err := strconv.ParseUint(q.Get("after"), 10, 64); err == nil {
			lq.after = a
		}
		lines, seq := c.logLines(lq)
		writeJSON(w, struct {
			Seq   uint64    `json:"seq"`
			Lines []logView `json:"lines"`
		}{seq, lines})
	case name == "self" && arg == "":
		writeJSON(w, c.self())
	case name == "health" && arg == "":
		writeJSON(w, c.health())
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

// Version returns the sequence numbers of the version endpoint: each grows with every
// new error occurrence, span and log line.
func (c *Console) Version() map[string]uint64 {
	return map[string]uint64{"errors": c.errSeq.Load(), "traces": c.traceSeq.Load(), "logs": c.logSeq()}
}

func (c *Console) health() (v any) {
	if c.opts.Health == nil {
		return map[string][]any{"checks": {}}
	}
	defer func() {
		if p := recover(); p != nil {
			v = map[string]any{"status": "fail", "checks": []any{}, "error": "health report panicked"}
		}
	}()
	return c.opts.Health()
}

func intParam(s string, def, max int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return def
	}
	return min(n, max)
}

// writeJSON writes v as JSON. encoding/json escapes <, > and & in strings, so even a
// response opened as a document cannot run a string as markup; the page inserts every
// string as text.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding failed")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
