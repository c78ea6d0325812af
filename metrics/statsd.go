package metrics

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-go/vigil/internal/worker"
)

// format is a StatsD tag dialect.
type format uint8

const (
	fmtDogStatsD format = iota // name:1|c|#k:v,k:v
	fmtInflux                  // name,k=v,k=v:1|c  (Telegraf)
	fmtGraphite                // name;k=v;k=v:1|c  (Graphite tags, statsd 0.9+)
	fmtPlain                   // name.v.v:1|c      (labels folded into the name)
)

var formats = map[string]format{
	"dogstatsd": fmtDogStatsD, "influx": fmtInflux, "graphite": fmtGraphite, "plain": fmtPlain,
}

// Reasons a StatsD line is dropped, as the reason label of vigil_metrics_statsd_dropped_total.
const (
	dropUnresolved = iota // no connection: the address does not resolve or dial
	dropSend              // the write failed (e.g. ICMP port unreachable)
	dropOversize          // one line is larger than MaxPacketSize
	dropDeadline          // the final flush ran out of Shutdown's time
	dropNonFinite         // an infinite or NaN value, which no server parses
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"unresolved", "send", "oversize", "deadline", "non_finite"}

// dropReasonText says what each reason means in Shutdown's error.
var dropReasonText = [numDropReasons]string{
	"server unresolved or unreachable", "send failed", "larger than MaxPacketSize",
	"still unsent when the deadline passed", "infinite or NaN",
}

// Pacing: a flush pauses after every paceBytes it sends, so that a receiver reading from a
// default-sized socket buffer (about 208 KiB on Linux) keeps up with a large flush
// instead of dropping most of it. 32 KiB per millisecond is 32 MB/s.
const (
	paceBytes = 32 << 10
	pausePace = time.Millisecond
)

// statLine is a series' StatsD encoding, built once when the series is created, and the
// flusher's state for it (only the flusher goroutine touches last, sent and idle).
type statLine struct {
	head []byte // name and, for influx and graphite, the tags: everything before ':'
	tail []byte // dogstatsd's "|#tags"
	sum  []byte // a histogram sent as counters: the head of name_sum (head is name_count)
	// last is the value last sent (a gauge) or the total at the last flush (a counter, a
	// histogram's count); lastSum a histogram's sum then.
	last, lastSum float64
	sent          bool
	idle          int
}

// statsdClient aggregates between flushes and sends from one background goroutine, so
// the caller's operations never touch the network.
type statsdClient struct {
	cfg    StatsDConfig
	format format
	prefix string // sanitized, with a trailing '.' when set
	r      *Registry
	target statsdTarget

	service, env, version string // the unified service tags

	w0 *worker.W
	// pause waits d or until ctx ends, reporting whether it waited the whole time; tests
	// replace it.
	pause func(ctx context.Context, d time.Duration) bool

	conn     net.Conn // flusher-owned
	stream   bool     // flusher-owned: conn is a Unix stream socket (length-prefixed packets)
	frame    []byte   // flusher-owned: a stream packet with its length
	down     bool     // flusher-owned: the last attempt failed (for logging transitions)
	failed   bool     // flusher-owned: the flush in progress could not send everything
	status   exportState
	w        statsdWriter
	packets  atomic.Uint64
	dropped  [numDropReasons]atomic.Uint64
	thinned  atomic.Uint64 // histogram/timer samples left out by reservoir sampling
	flushing sync.Mutex    // serialises flushes (the ticker and a test's Flush)
}

func newStatsD(cfg Config, r *Registry) *statsdClient {
	sc := cfg.StatsD
	c := &statsdClient{cfg: sc, format: formats[sc.Format], r: r, pause: pause,
		service: cfg.Service, env: cfg.Environment, version: cfg.Version}
	c.target, _ = parseStatsDAddr(sc.Addr) // checked by resolve
	if c.format == fmtPlain {
		c.service, c.env, c.version = "", "", "" // no tags to put them in
	}
	if sc.Prefix != "" {
		c.prefix = string(appendName(nil, sc.Prefix, true)) + "."
	}
	c.w = statsdWriter{c: c, max: sc.MaxPacketSize, buf: make([]byte, 0, sc.MaxPacketSize)}
	c.w0 = worker.Every("metrics: StatsD flusher", sc.FlushInterval,
		func(ctx context.Context) { c.flushCtx(ctx, false) },
		func(ctx context.Context) {
			c.flushCtx(ctx, true)
			c.flushing.Lock()
			if c.conn != nil {
				c.conn.Close()
				c.conn = nil
			}
			c.flushing.Unlock()
		})
	return c
}

// pause is the real pacing: a timer that gives way to ctx.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// stop makes the last flush within ctx and reports every line that was not sent since
// the client started, by reason. A nil client is off.
func (c *statsdClient) stop(ctx context.Context) error {
	if c == nil {
		return nil
	}
	stopErr := c.w0.Stop(ctx)
	var total uint64
	var b strings.Builder
	for i := range c.dropped {
		n := c.dropped[i].Load()
		if n == 0 {
			continue
		}
		if total > 0 {
			b.WriteString(", ")
		}
		total += n
		fmt.Fprintf(&b, "%d %s", n, dropReasonText[i])
	}
	switch {
	case stopErr != nil && !errors.Is(stopErr, worker.ErrCutShort):
		// The final flush had not returned: what it had not sent is not counted yet.
		msg := "metrics: StatsD final flush not finished when the deadline passed"
		if total > 0 {
			msg += fmt.Sprintf("; %d lines not sent before it: %s", total, b.String())
		}
		return &pushError{msg: msg, err: stopErr}
	case total == 0:
		return nil
	}
	lines := "lines"
	if total == 1 {
		lines = "line"
	}
	return &pushError{msg: fmt.Sprintf("metrics: %d StatsD %s not sent: %s", total, lines, b.String()), err: stopErr}
}

// flush is a periodic flush now, for tests.
func (c *statsdClient) flush() { c.flushCtx(context.Background(), false) }

// flushCtx encodes every family's aggregate into packets and sends them: counters, gauges
// and other aggregated series first, then histogram and timer samples, so that when a
// receiver or the deadline cannot take everything, what is lost is samples, not the
// series that each sum up a whole interval. final marks Shutdown's flush, whose lines
// are dropped (and counted) once ctx ends; a periodic flush cut short by Stop sends its
// remaining lines unpaced instead.
func (c *statsdClient) flushCtx(ctx context.Context, final bool) {
	c.flushing.Lock()
	defer c.flushing.Unlock()
	c.failed = false
	c.connect(ctx)
	w := &c.w
	w.ctx, w.final, w.sinceBreak = ctx, final, 0
	w.deferSamples = true
	for _, f := range *c.r.list.Load() {
		if f.flush != nil {
			f.flush(w)
		}
	}
	w.deferSamples = false
	for rest := w.deferred; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		w.unit(rest[:i], 1)
		rest = rest[i+1:]
	}
	w.deferred = w.deferred[:0]
	w.send()
	w.ctx = nil
	if !c.failed {
		c.status.ok()
	}
}

// sendFailed records a flush's first connection or write failure for ExportStatus.
func (c *statsdClient) sendFailed(what string, err error) {
	if !c.failed {
		c.failed = true
		c.status.failed("metrics: StatsD " + what + ": " + c.r.matcher.Text(err.Error()))
	}
}

// connect resolves and dials in the flusher goroutine, retrying at every flush while it
// fails; the state changes are logged, not every failure.
func (c *statsdClient) connect(ctx context.Context) {
	if c.conn != nil {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, min(c.cfg.FlushInterval, 2*time.Second))
	defer cancel()
	conn, err := c.target.dial(dctx)
	if err != nil {
		// A dial cut short by Shutdown's deadline says nothing about the server.
		if ctx.Err() != nil {
			c.failed = true
		} else {
			c.sendFailed("server unreachable", err)
		}
		if !c.down && ctx.Err() == nil {
			c.r.logger.Warn("metrics: statsd server unreachable; dropping until it resolves", "addr", c.cfg.Addr, "error", err)
			c.down = true
		}
		return
	}
	c.conn, c.stream = conn, conn.RemoteAddr().Network() == "unix"
}

func (c *statsdClient) sendPacket(p []byte, lines int) {
	w := &c.w
	if w.ctx != nil && w.sinceBreak >= paceBytes {
		if w.ctx.Err() == nil {
			w.sinceBreak = 0
			c.pause(w.ctx, pausePace)
		}
	}
	if w.final && w.ctx != nil && w.ctx.Err() != nil {
		c.dropped[dropDeadline].Add(uint64(lines))
		c.failed = true
		return
	}
	w.sinceBreak += len(p)
	if c.conn == nil {
		c.dropped[dropUnresolved].Add(uint64(lines))
		return
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	if c.stream {
		// DogStatsD's stream framing: each packet after its length, 32 bits little-endian.
		c.frame = binary.LittleEndian.AppendUint32(c.frame[:0], uint32(len(p)))
		p = append(c.frame, p...)
		c.frame = p
	}
	if _, err := c.conn.Write(p); err != nil {
		c.dropped[dropSend].Add(uint64(lines))
		c.sendFailed("send failed", err)
		if !c.down {
			c.r.logger.Warn("metrics: statsd send failed; dropping until it recovers", "addr", c.cfg.Addr, "error", err)
			c.down = true
		}
		if c.target.network != "udp" {
			// A Unix socket's server was restarted (its socket replaced), or a stream lost
			// its framing in a partial write: dial again at the next flush.
			c.conn.Close()
			c.conn = nil
		}
		return
	}
	if c.down {
		c.r.logger.Info("metrics: statsd sending again", "addr", c.cfg.Addr)
		c.down = false
	}
	c.packets.Add(1)
}

// splitHostPort checks a host:port address without resolving it.
func splitHostPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// net's message repeats addr unquoted; the caller quotes it, so keep the reason only
		// (a value holding a newline must not split the error into forged lines).
		if ae, ok := err.(*net.AddrError); ok {
			return "", 0, errors.New(ae.Err)
		}
		return "", 0, errors.New("want host:port")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return "", 0, errors.New("port must be 1-65535")
	}
	if host == "" {
		return "", 0, errors.New("host is empty")
	}
	return host, p, nil
}
