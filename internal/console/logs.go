package console

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// logLine is one line the program logged. The line is kept as written (already
// redacted by the logger); its fields are parsed the first time a query needs them.
type logLine struct {
	seq  uint64
	at   time.Time
	raw  []byte
	once sync.Once // parses f, outside the store's lock
	f    logFields
}

type logFields struct {
	time, level, msg           string
	traceID, spanID, requestID string
	obj                        json.RawMessage // the line when it is a JSON object
	rank                       int             // level as a number for filtering
}

type logStore struct {
	mu    sync.Mutex
	lines []*logLine // oldest first
	bytes int
	seq   uint64
}

const lineOverhead = 160 // estimated bytes of a line beyond its text and parsed fields

// LogWriter returns a writer that writes to w and keeps a copy of every line in the
// console's log ring. The logger writes one record per Write, so the copy costs one
// allocation per line; it never blocks on anything but the ring's mutex.
func (c *Console) LogWriter(w io.Writer) io.Writer { return &tee{w: w, c: c} }

type tee struct {
	w io.Writer
	c *Console
}

func (t *tee) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.c.addLog(p)
	return n, err
}

// addLog keeps each line of p.
func (c *Console) addLog(p []byte) {
	now := c.now()
	s := &c.logs
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		cut := false
		if len(line) > MaxLogLine {
			line, cut = line[:MaxLogLine], true
		}
		l := &logLine{at: now, raw: bytes.Clone(line)}
		if cut {
			// No longer JSON: kept as text, with a marker.
			l.raw = append(l.raw, "…"...)
			l.once.Do(func() { l.f = logFields{msg: string(l.raw), rank: rankOf("")} })
		}
		s.mu.Lock()
		s.seq++
		l.seq = s.seq
		s.lines = append(s.lines, l)
		s.bytes += lineOverhead + 2*len(l.raw)
		for len(s.lines) > MaxLogLines || s.bytes > MaxLogBytes {
			old := s.lines[0]
			s.lines[0] = nil
			s.lines = s.lines[1:]
			s.bytes -= lineOverhead + 2*len(old.raw)
		}
		s.mu.Unlock()
	}
}

// fields parses l on first use. Parsing happens outside the store's lock, so a query
// never holds up the program's logging.
func (l *logLine) fields() *logFields {
	l.once.Do(l.parse)
	return &l.f
}

func (l *logLine) parse() {
	var m map[string]json.RawMessage
	if json.Unmarshal(l.raw, &m) != nil {
		l.f = logFields{msg: string(l.raw), rank: rankOf("")}
		return
	}
	l.f.obj = l.raw
	l.f.time = str(m, "time", "timestamp", "@timestamp")
	l.f.level = str(m, "level", "severity", "log.level", "status")
	l.f.msg = str(m, "msg", "message", "body")
	l.f.traceID = str(m, "trace_id", "trace.id", "dd.trace_id", "logging.googleapis.com/trace")
	if i := strings.LastIndexByte(l.f.traceID, '/'); i >= 0 { // gcp: projects/P/traces/ID
		l.f.traceID = l.f.traceID[i+1:]
	}
	l.f.spanID = str(m, "span_id", "span.id", "dd.span_id", "logging.googleapis.com/spanId")
	l.f.requestID = str(m, "request_id", "http.request.id")
	l.f.rank = rankOf(l.f.level)
}

// str returns the first of keys that holds a string in m.
func str(m map[string]json.RawMessage, keys ...string) string {
	for _, k := range keys {
		var s string
		if v, ok := m[k]; ok && json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return ""
}

// rankOf orders levels for the minimum-level filter; unknown levels pass every filter
// but error.
func rankOf(level string) int {
	l := strings.ToLower(level)
	switch {
	case strings.HasPrefix(l, "debug"), strings.HasPrefix(l, "trace"):
		return 0
	case strings.HasPrefix(l, "info"), strings.HasPrefix(l, "notice"), l == "default":
		return 1
	case strings.HasPrefix(l, "warn"):
		return 2
	case strings.HasPrefix(l, "err"), strings.HasPrefix(l, "crit"), strings.HasPrefix(l, "fatal"),
		strings.HasPrefix(l, "alert"), strings.HasPrefix(l, "emerg"), strings.HasPrefix(l, "panic"):
		return 3
	}
	return 1
}

// logQuery selects lines.
type logQuery struct {
	minRank         int
	q               string // lower case
	traceID, spanID string
	after           uint64
	limit           int
}

type logView struct {
	Seq       uint64          `json:"seq"`
	Time      string          `json:"time"`
	Level     string          `json:"level"`
	Msg       string          `json:"msg"`
	TraceID   string          `json:"trace_id"`
	SpanID    string          `json:"span_id"`
	RequestID string          `json:"request_id"`
	Raw       json.RawMessage `json:"raw"`
}

// logLines returns the newest lines that match q, oldest first, and the last sequence
// number written.
func (c *Console) logLines(q logQuery) ([]logView, uint64) {
	lines, seq := c.logs.since(q.after)
	var picked []*logLine
	for i := len(lines) - 1; i >= 0 && len(picked) < q.limit; i-- {
		l := lines[i]
		f := l.fields()
		if f.rank < q.minRank ||
			q.traceID != "" && !strings.EqualFold(f.traceID, q.traceID) ||
			q.spanID != "" && !strings.EqualFold(f.spanID, q.spanID) ||
			q.q != "" && !containsFold(l.raw, q.q) {
			continue
		}
		picked = append(picked, l)
	}
	out := make([]logView, 0, len(picked))
	for i := len(picked) - 1; i >= 0; i-- {
		l := picked[i]
		f := &l.f
		t := f.time
		if t == "" {
			t = stamp(l.at)
		}
		out = append(out, logView{Seq: l.seq, Time: t, Level: f.level, Msg: f.msg,
			TraceID: f.traceID, SpanID: f.spanID, RequestID: f.requestID, Raw: f.obj})
	}
	return out, seq
}

// since returns the held lines with a sequence number above after (a copy of the
// pointers; lines are immutable but for their parsed fields), and the last number.
func (s *logStore) since(after uint64) ([]*logLine, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := len(s.lines)
	for i > 0 && s.lines[i-1].seq > after {
		i--
	}
	return slices.Clone(s.lines[i:]), s.seq
}

// containsFold reports whether b contains q, which is lower case, ignoring ASCII case,
// without allocating.
func containsFold(b []byte, q string) bool {
	n := len(q)
	for i := 0; i+n <= len(b); i++ {
		j := 0
		for ; j < n; j++ {
			c := b[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != q[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// logCounts counts the held lines of one trace by span id.
func (c *Console) logCounts(traceID string) map[string]int {
	out := map[string]int{}
	lines, _ := c.logs.since(0)
	for _, l := range lines {
		if f := l.fields(); f.spanID != "" && strings.EqualFold(f.traceID, traceID) {
			out[strings.ToLower(f.spanID)]++
		}
	}
	return out
}

func (c *Console) logSeq() uint64 {
	c.logs.mu.Lock()
	defer c.logs.mu.Unlock()
	return c.logs.seq
}
