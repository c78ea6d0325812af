package scrub

import "strings"

// Text returns s with the secrets inside free text (error messages, panic values, the
// text of a *url.Error) redacted. A nil m means the default policy. It redacts:
//
//   - in every scheme://... URL: the userinfo password (the whole userinfo when it
//     has no password, as a token used as the user name), and the values of sensitive
//     query and fragment parameters;
//   - the value after a sensitive key and '=' or ':' ("token=abc", "password: hunter2",
//     `"api_key":"x"`): one token, a quoted string, or after "key: " the rest of the
//     line; an auth scheme word is kept ("Authorization: Bearer [REDACTED]");
//   - the credential after the words Bearer or Basic, when it looks like one (a digit,
//     punctuation or an inner capital, or 20 bytes and more), so prose ("bearer token
//     missing") stays;
//   - JWT-shaped strings (three base64url segments, the first starting with "eyJ").
//
// Whole-name terms such as "key" and "code" count only as parameters, inside URLs or
// after '?', '&' or '#' ("GET /maps?key=..."), where a name is whole. When nothing matches, Text returns s itself without allocating. The
// work is linear in len(s): one scan per rule, no backtracking.
func (m *Matcher) Text(s string) string {
	if m == nil {
		m = defaultMatcher
	}
	if !mayHoldSecret(s) {
		return s
	}
	s = m.textURLs(s)
	s = m.textPairs(s)
	s = textSchemes(s)
	return textJWTs(s)
}

// RawURL returns the URL text s with its userinfo password, secret query values and
// secret fragment parameters redacted under the default policy, even when s does not
// parse (a password with '#' or '%' in it, a missing scheme). The rest of s is kept, so
// an error can still say which URL was wrong.
func RawURL(s string) string {
	m := defaultMatcher
	a := 0
	if k := strings.Index(s, "://"); k >= 0 {
		a = k + 3
	}
	var e editor
	e.s = s
	m.scrubURL(&e, a, len(s))
	return m.Text(e.String())
}

// mayHoldSecret is the quick pre-scan: text without '=', ':', '@', '#', "eyJ" or the
// words bearer and basic holds nothing Text redacts.
func mayHoldSecret(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '=', ':', '@', '#':
			return true
		case 'J':
			if i >= 2 && s[i-2] == 'e' && s[i-1] == 'y' {
				return true
			}
		case 'r', 'R':
			if i >= 4 && strings.EqualFold(s[i-4:i+1], "earer") {
				return true
			}
		case 'c', 'C':
			if i >= 3 && strings.EqualFold(s[i-3:i+1], "asic") {
				return true
			}
		}
	}
	return false
}

// editor copies s into a builder only once something in it is replaced.
type editor struct {
	s    string
	b    strings.Builder
	done int // s[:done] is in b, or nothing was replaced yet when b is empty
	n    int // replacements made
}

// replace puts with in place of s[i:j]; calls come in increasing order of i. The part
// of s[i:j] that an earlier call replaced already is left as that call made it.
func (e *editor) replace(i, j int, with string) {
	if j <= e.done && e.n > 0 {
		return
	}
	if i < e.done {
		i = e.done
	}
	if e.n == 0 {
		e.b.Grow(len(e.s) + len(with))
	}
	e.n++
	e.b.WriteString(e.s[e.done:i])
	e.b.WriteString(with)
	e.done = j
}

func (e *editor) String() string {
	if e.n == 0 {
		return e.s
	}
	e.b.WriteString(e.s[e.done:])
	return e.b.String()
}

// textURLs scrubs every scheme://... in s, each up to the first byte that cannot be in
// a URL written into text (space, quote, backslash, angle bracket).
func (m *Matcher) textURLs(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	e := editor{s: s}
	for i := 0; ; {
		k := strings.Index(s[i:], "://")
		if k < 0 {
			break
		}
		k += i
		st := k
		for st > i && schemeByte(s[st-1]) {
			st--
		}
		for st < k && !isLetter(s[st]) { // a scheme starts with a letter
			st++
		}
		end := k + 3
		for end < len(s) && !urlStop(s[end]) {
			end++
		}
		if st < k {
			m.scrubURL(&e, k+3, end)
		}
		i = end
	}
	return e.String()
}

// scrubURL scrubs the URL whose authority starts at s[a:] and which ends at end.
func (m *Matcher) scrubURL(e *editor, a, end int) {
	u := e.s[a:end]
	auth := u
	if i := strings.IndexByte(u, '/'); i >= 0 {
		auth = u[:i]
	}
	// The userinfo ends at the last '@' before the path, so that a raw password with
	// '#', '?' or '@' in it is still found; unless a '?' or '#' comes before any ':',
	// in which case the '@' belongs to a query ("?email=a@b.com").
	rest := 0
	at := strings.LastIndexByte(auth, '@')
	if at < 0 && !strings.HasPrefix(auth, "[") {
		// A raw '/' in the password ends the authority early: "u:p/ss@host". What
		// follows the ':' is then no port, and an '@' comes later.
		if c := strings.IndexByte(auth, ':'); c >= 0 && !allDigits(auth[c+1:]) {
			if a2 := strings.IndexByte(u[len(auth):], '@'); a2 >= 0 {
				at = len(auth) + a2
				auth = u[:at+1]
			}
		}
	}
	if at >= 0 {
		ui := auth[:at]
		if q := strings.IndexAny(ui, "?#"); q < 0 || strings.IndexByte(ui[:q], ':') >= 0 {
			if c := strings.IndexByte(ui, ':'); c >= 0 {
				if pw := ui[c+1:]; pw != "" && pw != Redacted {
					e.replace(a+c+1, a+at, Redacted)
				}
			} else if ui != "" && ui != Redacted {
				e.replace(a, a+at, Redacted)
			}
			rest = at + 1
		}
	}
	r := u[rest:]
	q, h := strings.IndexByte(r, '?'), strings.IndexByte(r, '#')
	if q >= 0 && (h < 0 || q < h) {
		qe := len(r)
		if h > q {
			qe = h
		}
		m.replaceQuery(e, a+rest+q+1, r[q+1:qe])
	}
	if h >= 0 {
		m.replaceQuery(e, a+rest+h+1, r[h+1:])
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func (m *Matcher) replaceQuery(e *editor, at int, q string) {
	if sq := m.Query(q); sq != q {
		e.replace(at, at+len(q), sq)
	}
}

// textPairs redacts the value after every sensitive key followed by '=' or ':'.
func (m *Matcher) textPairs(s string) string {
	if strings.IndexByte(s, '=') < 0 && strings.IndexByte(s, ':') < 0 {
		return s
	}
	e := editor{s: s}
	tokEnd, eolEnd := -1, -1 // the last ends found: a value inside that one ends there too
	noBracket := len(s)      // no ']' from here on
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '=' && c != ':' || strings.HasPrefix(s[i:], "://") {
			continue
		}
		// The key: a run of name bytes before the separator, perhaps quoted, perhaps
		// with blanks between. Each back-scan stops at the previous separator, so all
		// of them together read s once.
		q := i
		for q > 0 && (s[q-1] == ' ' || s[q-1] == '\t') {
			q--
		}
		quote := ""
		if q > 0 && (s[q-1] == '"' || s[q-1] == '\'') {
			quote = s[q-1 : q]
			q--
			if q > 0 && s[q-1] == '\\' {
				quote = `\` + quote
				q--
			}
		}
		ks := q
		for ks > 0 && keyByte(s[ks-1]) {
			ks--
		}
		param := c == '=' && quote == "" && ks > 0 && (s[ks-1] == '?' || s[ks-1] == '&' || s[ks-1] == '#')
		if ks == q || !m.textKey(s[ks:q], param) {
			continue
		}
		v := i + 1
		for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
			v++
		}
		spaced := v > i+1
		if v == len(s) || strings.HasPrefix(s[v:], Redacted) {
			continue
		}
		// A quoted value: redact inside the quotes.
		if open := quoteAt(s, v); open != "" {
			in := v + len(open)
			end := strings.Index(s[in:], open)
			for open == `"` && end > 0 && s[in+end-1] == '\\' { // an escaped quote
				next := strings.Index(s[in+end+1:], open)
				if next < 0 {
					end = -1
					break
				}
				end += 1 + next
			}
			if end < 0 {
				end = lineEnd(s, in) - in
			}
			if s[in:in+end] != Redacted && end > 0 {
				e.replace(in, in+end, Redacted)
			}
			i = in + end
			continue
		}
		// A Go slice, as %v prints a header: "Authorization:[Bearer x]".
		if s[v] == '[' && v < noBracket {
			if strings.HasPrefix(s[v+1:], Redacted) {
				continue
			}
			if end := strings.IndexByte(s[v:], ']'); end < 0 {
				noBracket = v // and none after any later '[' either: search once
			} else {
				if c == ':' && quote != "" && quote != "'" { // JSON: "key": ["x"]
					e.replace(v, v+end+1, quote+Redacted+quote)
				} else {
					e.replace(v+1, v+end, Redacted)
				}
				i = v + end
				continue
			}
		}
		// "key: value" with a blank is how headers are written: the value runs to the
		// end of the line (a cookie list, a multi-word secret). But after other words it
		// is how Go chains errors ("cannot fetch token: 401 Unauthorized"), so there
		// only a credential-like word is taken.
		toEOL, prose := false, false
		if c == ':' && spaced && quote == "" {
			p := ks
			for p > 0 && (s[p-1] == ' ' || s[p-1] == '\t') {
				p--
			}
			prose = p < ks && p > 0 && (isLetter(s[p-1]) || isDigit(s[p-1]))
			toEOL = !prose
		}
		// Keep auth scheme words: "Authorization: Bearer [REDACTED]".
		scheme := false
		for {
			w := v
			for w < len(s) && isLetter(s[w]) {
				w++
			}
			if w == len(s) || s[w] != ' ' || !authScheme(s[v:w]) {
				break
			}
			for w < len(s) && s[w] == ' ' {
				w++
			}
			scheme, v = true, w
			prose = false // after a scheme comes a credential, whatever it looks like
		}
		if v == len(s) || strings.HasPrefix(s[v:], Redacted) {
			i = v - 1
			continue
		}
		var end int
		if toEOL {
			if v >= eolEnd {
				eolEnd = lineEnd(s, v)
			}
			end = eolEnd
		} else {
			if v >= tokEnd {
				tokEnd = tokenEnd(s, v)
			}
			end = tokEnd
		}
		if end == v || prose && !looksCredential(s[v:end]) {
			continue
		}
		with := Redacted
		if c == ':' && quote != "" && quote != "'" && !scheme { // keep JSON valid: "token": 5
			with = quote + Redacted + quote
		}
		e.replace(v, end, with)
		// Read on from inside the value: in "token= password: x" the value "password:"
		// is itself a key whose value comes after it.
		i = v - 1
	}
	return e.String()
}

// textSchemes redacts the credential after the words Bearer and Basic.
func textSchemes(s string) string {
	e := editor{s: s}
	for i := 0; i < len(s); i++ {
		if s[i]|0x20 != 'b' || i > 0 && (isLetter(s[i-1]) || isDigit(s[i-1])) {
			continue
		}
		w := i
		for w < len(s) && isLetter(s[w]) {
			w++
		}
		if word := s[i:w]; !strings.EqualFold(word, "bearer") && !strings.EqualFold(word, "basic") {
			i = w
			continue
		}
		v := w
		for v < len(s) && s[v] == ' ' {
			v++
		}
		if v == w || strings.HasPrefix(s[v:], Redacted) {
			i = w
			continue
		}
		end := v
		for end < len(s) && credentialByte(s[end]) {
			end++
		}
		if looksCredential(s[v:end]) {
			e.replace(v, end, Redacted)
		}
		i = end
	}
	return e.String()
}

// textJWTs redacts every JWT-shaped string: header.payload.signature in base64url, the
// header starting with "eyJ" (the encoding of `{"`).
func textJWTs(s string) string {
	e := editor{s: s}
	for i := 0; ; {
		k := strings.Index(s[i:], "eyJ")
		if k < 0 {
			break
		}
		k += i
		if k > 0 && (b64urlByte(s[k-1]) || s[k-1] == '.') {
			i = k + 3
			continue
		}
		end := k
		for seg := 0; seg < 3; seg++ {
			if seg > 0 {
				if end == len(s) || s[end] != '.' {
					end = -1
					break
				}
				end++
			}
			st := end
			for end < len(s) && b64urlByte(s[end]) {
				end++
			}
			if seg == 0 && end-st < 10 || seg == 1 && end == st { // header `{"alg":...}` at least
				end = -1
				break
			}
		}
		if end < 0 {
			i = k + 3
			continue
		}
		e.replace(k, end, Redacted)
		i = end
	}
	return e.String()
}

// authScheme reports whether word is an HTTP authentication scheme that precedes the
// credential in an Authorization value.
func authScheme(word string) bool {
	for _, s := range [...]string{"bearer", "basic", "digest", "token", "negotiate", "ntlm", "apikey"} {
		if strings.EqualFold(word, s) {
			return true
		}
	}
	return false
}

// looksCredential tells a token from a word of prose: credentials are long, or hold a
// digit, base64 punctuation or a capital after the first letter.
func looksCredential(t string) bool {
	if len(t) >= 20 {
		return true
	}
	if len(t) < 6 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if isDigit(c) || strings.IndexByte("+/=_-.~", c) >= 0 || i > 0 && 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

func quoteAt(s string, i int) string {
	switch {
	case s[i] == '"' || s[i] == '\'':
		return s[i : i+1]
	case s[i] == '\\' && i+1 < len(s) && s[i+1] == '"':
		return `\"`
	}
	return ""
}

// tokenEnd returns where the token starting at s[i] ends: at a blank or a byte that
// separates parameters, closes a bracket or quotes.
func tokenEnd(s string, i int) int {
	for i < len(s) && !tokenStop(s[i]) {
		i++
	}
	return i
}

func tokenStop(c byte) bool { return bytesOf[c]&tokenStopByte != 0 }

// lineEnd returns where the line starting at s[i] ends, or the quoted text it is in.
func lineEnd(s string, i int) int {
	for i < len(s) && s[i] != '\n' && s[i] != '\r' && s[i] != '"' {
		i++
	}
	return i
}

// The classes of bytes the scans stop at or run over, looked up rather than searched.
const (
	tokenStopByte = 1 << iota
	urlStopByte
	keyByteFlag
	credentialByteFlag
)

var bytesOf = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := isLetter(b) || isDigit(b)
		if b <= ' ' || strings.IndexByte("&;,\"')]}<>`\\", b) >= 0 {
			t[c] |= tokenStopByte
		}
		if b <= ' ' || b == 0x7f || strings.IndexByte("\"'<>`\\", b) >= 0 {
			t[c] |= urlStopByte
		}
		if alnum || b == '_' || b == '-' || b == '.' {
			t[c] |= keyByteFlag
		}
		if alnum || strings.IndexByte("-_.~+/=", b) >= 0 {
			t[c] |= credentialByteFlag
		}
	}
	return t
}()

func urlStop(c byte) bool { return bytesOf[c]&urlStopByte != 0 }

func keyByte(c byte) bool { return bytesOf[c]&keyByteFlag != 0 }

func credentialByte(c byte) bool { return bytesOf[c]&credentialByteFlag != 0 }

func schemeByte(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '+' || c == '-' || c == '.'
}

func b64urlByte(c byte) bool { return isLetter(c) || isDigit(c) || c == '-' || c == '_' }

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
