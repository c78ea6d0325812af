package metrics

import (
	"context"
	"math"
	"strconv"
	"strings"
)

// How a family's observations reach StatsD. The unit is in the name on both sides: a
// duration (a Timer, or a Histogram whose name ends in _seconds, the Prometheus
// convention) is sent in milliseconds as a timer, under its name with _seconds replaced
// by _ms; any other histogram is not a duration and never goes out as "|ms".
type sampleMode uint8

const (
	modeNone     sampleMode = iota // not a histogram or timer
	modeDuration                   // "|ms" samples in ms ("|d" with Distributions)
	modeValues                     // "|h" samples ("|d" with Distributions): DogStatsD and Telegraf
	modeCounts                     // name_count and name_sum counters: the Etsy daemon's dialects
)

// sampleMode says how f is sent.
func (c *statsdClient) sampleMode(f *family) sampleMode {
	switch {
	case f.kind == kindTimer, f.kind == kindHistogram && strings.HasSuffix(f.name, "_seconds"):
		return modeDuration
	case f.kind != kindHistogram:
		return modeNone
	case c.format == fmtDogStatsD || c.format == fmtInflux:
		return modeValues
	}
	// The Etsy daemon knows no histogram type (it would add "|h" values up as a counter)
	// and "|ms" would call bytes milliseconds: the count and the sum, as counters, give
	// the rate and the mean.
	return modeCounts
}

// samples reports whether f's series keep samples between flushes. A nil client (StatsD
// off) keeps none.
func (c *statsdClient) samples(f *family) bool {
	if c == nil {
		return false
	}
	m := c.sampleMode(f)
	return m == modeDuration || m == modeValues
}

// sampleType is the StatsD type of f's samples.
func (c *statsdClient) sampleType(m sampleMode) string {
	if c.cfg.Distributions && c.format == fmtDogStatsD {
		return "d"
	}
	if m == modeDuration {
		return "ms"
	}
	return "h"
}

// statName is f's name in StatsD: a duration's unit suffix says milliseconds.
func (c *statsdClient) statName(f *family) string {
	if c.sampleMode(f) != modeDuration {
		return f.name
	}
	n := strings.TrimSuffix(f.name, "_seconds")
	if strings.HasSuffix(n, "_ms") || strings.HasSuffix(n, "_milliseconds") {
		return n
	}
	return n + "_ms"
}

// serviceTags are the unified service tags (Datadog's service, env and version) every
// line carries in the dialects with tags, as key, value pairs; empty values are left out.
func (c *statsdClient) serviceTags() [][2]string {
	var out [][2]string
	for _, t := range [][2]string{{"service", c.service}, {"env", c.env}, {"version", c.version}} {
		if t[1] != "" {
			out = append(out, t)
		}
	}
	return out
}

// line builds a series' encoding in the configured dialect.
func (c *statsdClient) line(f *family, values []string) statLine {
	var st statLine
	name := c.statName(f)
	if c.sampleMode(f) == modeCounts {
		st.head = c.head(f, name+"_count", values)
		st.sum = c.head(f, name+"_sum", values)
	} else {
		st.head = c.head(f, name, values)
	}
	if c.format != fmtDogStatsD {
		return st
	}
	n := 0
	tag := func(k, v string) {
		if n == 0 {
			st.tail = append(st.tail, "|#"...)
		} else {
			st.tail = append(st.tail, ',')
		}
		n++
		st.tail = append(st.tail, k...)
		st.tail = append(st.tail, ':')
		st.tail = appendTagValue(st.tail, v, c.format)
	}
	for i, v := range values {
		tag(f.labels[i], v)
	}
	for _, t := range c.serviceTags() {
		if !hasLabel(f, t[0]) {
			tag(t[0], t[1])
		}
	}
	return st
}

// head is everything before the first ':' of a line: the prefix, name and, for influx and
// graphite, the tags.
func (c *statsdClient) head(f *family, name string, values []string) []byte {
	head := append([]byte(c.prefix), appendName(nil, name, false)...)
	switch c.format {
	case fmtPlain:
		for _, v := range values {
			head = append(head, '.')
			if v == "" {
				v = "_"
			}
			head = appendName(head, v, false)
		}
	case fmtInflux, fmtGraphite:
		sep := byte(',')
		if c.format == fmtGraphite {
			sep = ';'
		}
		tag := func(k, v string) {
			if v == "" {
				return // neither dialect has empty tag values
			}
			head = append(head, sep)
			head = append(head, k...)
			head = append(head, '=')
			head = appendTagValue(head, v, c.format)
		}
		for i, v := range values {
			tag(f.labels[i], v)
		}
		for _, t := range c.serviceTags() {
			if !hasLabel(f, t[0]) {
				tag(t[0], t[1])
			}
		}
	}
	return head
}

// hasLabel reports whether f has a label named k: the family's own label wins over a
// service tag of the same name, so no line holds a key twice.
func hasLabel(f *family, k string) bool {
	for _, l := range f.labels {
		if l == k {
			return true
		}
	}
	return false
}

// appendName appends s with every byte outside [A-Za-z0-9_-] replaced by '_'; dots are
// kept only when keepDots (a prefix's own hierarchy). Graphite stores names as paths,
// so nothing else is safe there.
func appendName(dst []byte, s string, keepDots bool) []byte {
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '_', b == '-':
		case b == '.' && keepDots:
		default:
			b = '_'
		}
		dst = append(dst, b)
	}
	return dst
}

// appendTagValue appends s as a tag value of dialect f, every byte that could end or forge
// a tag replaced by '_'. In every dialect that is a control byte, non-ASCII, space and
// ':', '|', '@', ',', '#', '=', ';', '\\' and quotes: the DogStatsD line syntax, and
// Telegraf's statsd input, which splits influx-style tags on ',' and '=' without any
// escaping, so an escape would not survive. Graphite also stores the value in a carbon
// path and matches it with globs, so only [A-Za-z0-9_.-] is kept there ("/orders/{id}"
// becomes "_orders__id_", the plain dialect's spelling); '~', which may not start a
// Graphite tag value, goes with the rest.
func appendTagValue(dst []byte, s string, f format) []byte {
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b <= ' ' || b >= 0x7f:
			b = '_'
		case f == fmtGraphite:
			if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '-' || b == '.') {
				b = '_'
			}
		default:
			switch b {
			case ':', '|', '@', ',', '#', '=', ';', '\\', '"', '\'':
				b = '_'
			}
		}
		dst = append(dst, b)
	}
	return dst
}

// finite reports whether v can be sent: no StatsD server parses Inf or NaN.
func finite(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }

// statsdWriter packs lines into packets of at most max bytes.
type statsdWriter struct {
	c       *statsdClient
	max     int
	buf     []byte
	lines   int
	scratch []byte
	piece   []byte // a sample's "|type|@rate"

	// Set by flush for its duration.
	ctx          context.Context
	final        bool
	sinceBreak   int    // bytes sent since the last pause
	deferSamples bool   // samples go to deferred, sent after the aggregated series
	deferred     []byte // sample lines, each ending in '\n'
}

// line writes one "head:value|typ tail" line; a non-finite value is dropped and counted.
func (w *statsdWriter) line(st *statLine, v float64, typ string) {
	if !finite(v) {
		w.c.dropped[dropNonFinite].Add(1)
		return
	}
	w.scratch = appendLine(w.scratch[:0], st, v, typ, 1)
	w.unit(w.scratch, 1)
}

// gauge writes an absolute gauge. Outside DogStatsD a leading sign means "adjust by",
// so a negative value is sent as 0 then the value, in one packet.
func (w *statsdWriter) gauge(st *statLine, v float64) {
	if !finite(v) {
		w.c.dropped[dropNonFinite].Add(1)
		return
	}
	w.scratch = w.scratch[:0]
	n := 1
	if v < 0 && w.c.format != fmtDogStatsD {
		w.scratch = appendLine(w.scratch, st, 0, "g", 1)
		w.scratch = append(w.scratch, '\n')
		n = 2
	}
	w.scratch = appendLine(w.scratch, st, v, "g", 1)
	w.unit(w.scratch, n)
}

// histogram writes one histogram or timer series of family f.
func (w *statsdWriter) histogram(f *family, st *statLine, h *histValue) {
	switch m := w.c.sampleMode(f); m {
	case modeCounts:
		count, sum := h.totals()
		if d := count - st.last; d > 0 {
			w.line(&statLine{head: st.head, tail: st.tail}, d, "c")
			if ds := sum - st.lastSum; ds != 0 {
				w.line(&statLine{head: st.sum, tail: st.tail}, ds, "c")
			}
			st.last, st.lastSum = count, sum
		}
	case modeDuration:
		w.samples(st, h.st, 1000, w.c.sampleType(m)) // seconds to milliseconds
	default:
		w.samples(st, h.st, 1, w.c.sampleType(m))
	}
}

// samples writes the series' samples since the last flush, scaled, with "@rate" when
// reservoir sampling thinned them. Several values share a line where the dialect allows
// it, up to the packet size: DogStatsD's protocol v1.1 "name:v1:v2|ms|#tags", and the
// Etsy form "name:v1|ms:v2|ms" that the Etsy daemon and Telegraf read.
func (w *statsdWriter) samples(st *statLine, b *sampleBuf, scale float64, typ string) {
	if b == nil {
		return
	}
	vals, seen := b.take()
	if len(vals) == 0 {
		return
	}
	w.piece = append(append(w.piece[:0], '|'), typ...)
	if seen > uint64(len(vals)) {
		w.c.thinned.Add(seen - uint64(len(vals)))
		w.piece = append(w.piece, "|@"...)
		w.piece = strconv.AppendFloat(w.piece, float64(len(vals))/float64(seen), 'f', 6, 64)
	}
	multi := !w.c.cfg.OneValuePerLine
	dog := w.c.format == fmtDogStatsD
	for i := 0; i < len(vals); {
		line := append(w.scratch[:0], st.head...)
		k := 0
		for ; i < len(vals); i++ {
			v := vals[i] * scale
			if !finite(v) {
				w.c.dropped[dropNonFinite].Add(1)
				continue
			}
			if k > 0 && !multi {
				break
			}
			mark := len(line)
			line = append(line, ':')
			line = strconv.AppendFloat(line, v, 'f', -1, 64)
			end := len(line) + len(w.piece) + len(st.tail)
			if !dog {
				line = append(line, w.piece...)
				end = len(line) + len(st.tail)
			}
			if k > 0 && end > w.max {
				line = line[:mark]
				break
			}
			k++
		}
		if k == 0 {
			break // the rest was not finite
		}
		if dog {
			line = append(line, w.piece...)
		}
		line = append(line, st.tail...)
		w.scratch = line
		if w.deferSamples {
			w.deferred = append(w.deferred, line...)
			w.deferred = append(w.deferred, '\n')
			continue
		}
		w.unit(line, 1)
	}
}

func appendLine(dst []byte, st *statLine, v float64, typ string, rate float64) []byte {
	dst = append(dst, st.head...)
	dst = append(dst, ':')
	dst = strconv.AppendFloat(dst, v, 'f', -1, 64)
	dst = append(dst, '|')
	dst = append(dst, typ...)
	if rate < 1 {
		dst = append(dst, "|@"...)
		dst = strconv.AppendFloat(dst, rate, 'f', 6, 64)
	}
	return append(dst, st.tail...)
}

// unit appends lines that must travel in one packet, sending the current packet first
// when they would not fit.
func (w *statsdWriter) unit(p []byte, lines int) {
	if len(p) > w.max {
		w.c.dropped[dropOversize].Add(uint64(lines))
		return
	}
	need := len(p)
	if len(w.buf) > 0 {
		need++ // the '\n' separator
	}
	if len(w.buf)+need > w.max {
		w.send()
	}
	if len(w.buf) > 0 {
		w.buf = append(w.buf, '\n')
	}
	w.buf = append(w.buf, p...)
	w.lines += lines
}

func (w *statsdWriter) send() {
	if len(w.buf) == 0 {
		return
	}
	w.c.sendPacket(w.buf, w.lines)
	w.buf, w.lines = w.buf[:0], 0
}
