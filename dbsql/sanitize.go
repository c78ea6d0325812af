package dbsql

import (
	"strings"

	"github.com/vigil-go/vigil/internal/limits"
)

// dialect says how a system writes literals and identifiers, where the SQL systems
// disagree. An unknown system gets the cautious reading of each rule: double quotes
// hold a literal, and a backslash inside a string, which one dialect reads as an escape
// and another as a character, ends the statement's text there (see sanitize).
type dialect uint8

const (
	dialectOther dialect = iota
	dialectPostgres
	dialectMySQL     // backslash escapes in strings, "..." is a string, `...` an identifier, # a comment
	dialectSQLite    // `...` and [...] identifiers; "..." may be read as a string, so it is one here
	dialectSQLServer // "..." and [...] identifiers
	dialectOracle    // "..." identifiers
)

func dialectOf(system string) dialect {
	switch system {
	case "postgresql", "cockroachdb":
		return dialectPostgres
	case "mysql", "mariadb", "tidb":
		return dialectMySQL
	case "sqlite":
		return dialectSQLite
	case "microsoft.sql_server":
		return dialectSQLServer
	case "oracle.db":
		return dialectOracle
	}
	return dialectOther
}

func (d dialect) quotedIdentifiers() bool {
	return d == dialectPostgres || d == dialectSQLServer || d == dialectOracle
}

// statement is what a query's text says, read once and cached per connector.
type statement struct {
	text  string // db.query.text: literals replaced by ?, comments dropped, spaces collapsed
	op    string // db.operation.name: an upper-case keyword from a fixed set, or ""
	table string // db.collection.name: the first table the statement names, or ""
}

// operations are the keywords db.operation.name may take: a fixed set, so the metric
// label stays bounded whatever the application sends.
var operations = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true, "UPSERT": true,
	"REPLACE": true, "WITH": true, "VALUES": true, "CALL": true, "EXEC": true, "EXECUTE": true,
	"CREATE": true, "DROP": true, "ALTER": true, "TRUNCATE": true, "RENAME": true, "COMMENT": true,
	"GRANT": true, "REVOKE": true, "BEGIN": true, "START": true, "COMMIT": true, "ROLLBACK": true,
	"SAVEPOINT": true, "RELEASE": true, "SET": true, "SHOW": true, "EXPLAIN": true, "DESCRIBE": true,
	"USE": true, "LOCK": true, "UNLOCK": true, "COPY": true, "VACUUM": true, "ANALYZE": true,
	"REINDEX": true, "REFRESH": true, "CLUSTER": true, "PRAGMA": true, "ATTACH": true, "DETACH": true,
	"DECLARE": true, "FETCH": true, "CLOSE": true, "MOVE": true, "LISTEN": true, "NOTIFY": true,
	"UNLISTEN": true, "DISCARD": true, "RESET": true, "PREPARE": true, "DEALLOCATE": true, "DO": true,
	"LOAD": true, "IMPORT": true, "OPTIMIZE": true, "CHECKPOINT": true,
}

// sanitize reads q: the text with every literal (strings, numbers, hex and bit strings,
// dollar-quoted bodies) replaced by ?, lists of them collapsed to (?), comments
// dropped (they can hold anything) and white space collapsed, cut at limits.QueryText;
// the operation and the table. Placeholders ($1, ?, :name, @p1) and identifiers stay.
//
// Where the reading of a string is ambiguous (a backslash in it, for a system whose
// escaping is not known), the text ends there with ?: the rest is not shown rather than
// risk showing a literal as if it were SQL.
func sanitize(q string, d dialect) statement {
	s := sanitizer{q: q, d: d, out: make([]byte, 0, min(len(q), limits.QueryText)+8)}
	s.run()
	return statement{text: s.result(), op: s.op, table: s.table}
}

type sanitizer struct {
	q   string
	d   dialect
	out []byte

	parens []paren // open parentheses in out
	space  bool    // white space or a comment was skipped since the last token

	// Reading the operation and the table.
	words  int    // words seen
	op     string // upper-case operation
	want   bool   // the next identifier is the table
	table  string
	tableD bool  // table decided (found, or no longer looked for)
	qual   uint8 // 1: the last token was the table; 2: and a dot followed it (schema.table)
	full   bool  // out reached the bound
}

// paren is an open parenthesis: where it is in out, and whether only ? and commas
// followed it so far.
type paren struct {
	at    int
	onlyQ bool
	n     int  // ? in it
	comma bool // a comma after the first ? was left out
}

func (s *sanitizer) result() string {
	out := s.out
	for len(out) > 0 && out[len(out)-1] == ' ' {
		out = out[:len(out)-1]
	}
	if s.full {
		return limits.Truncate(string(out), limits.QueryText-len(limits.Ellipsis)) + limits.Ellipsis
	}
	return string(out)
}

// emit appends a token, with one space before it if white space preceded it.
func (s *sanitizer) emit(tok string, kind tokenKind) {
	s.qual = 0
	if s.full {
		return
	}
	if n := len(s.parens); n > 0 {
		p := &s.parens[n-1]
		// A list of only ? keeps its first: the rest would become (?) at its end
		// anyway, and a list of thousands must not fill the bound first.
		switch {
		case kind == tokLiteral || tok == "?":
			p.n++
			if p.onlyQ && p.n > 1 {
				s.space = false
				return
			}
		case tok == ",":
			if p.onlyQ && p.n > 0 {
				p.comma = true
				s.space = false
				return
			}
		default:
			if p.onlyQ && p.comma {
				s.out = append(s.out, ", "...)
				s.space = false
			}
			p.onlyQ = false
		}
	}
	if s.space && len(s.out) > 0 {
		s.out = append(s.out, ' ')
	}
	s.space = false
	s.out = append(s.out, tok...)
	if len(s.out) > limits.QueryText {
		s.full = true
	}
}

type tokenKind uint8

const (
	tokOther tokenKind = iota
	tokWord
	tokLiteral
)

func (s *sanitizer) literal() { s.emit("?", tokLiteral) }

func (s *sanitizer) open() {
	s.emit("(", tokOther)
	if !s.full {
		s.parens = append(s.parens, paren{at: len(s.out) - 1, onlyQ: true})
	}
}

// close ends a parenthesis; a list of only ? becomes (?), and a list of such lists
// ((?), (?), ...: rows of VALUES) one (?).
func (s *sanitizer) close() {
	n := len(s.parens)
	if n == 0 {
		s.emit(")", tokOther)
		return
	}
	p := s.parens[n-1]
	s.parens = s.parens[:n-1]
	s.emit(")", tokOther)
	if s.full || !p.onlyQ || p.n == 0 {
		return
	}
	s.out = append(s.out[:p.at], "(?)"...)
	before := strings.TrimRight(string(s.out[:p.at]), " ")
	if strings.HasSuffix(before, "(?),") {
		s.out = s.out[:len(before)-1]
	}
	// The enclosing list still holds only literals if it did.
	if n > 1 {
		s.parens[n-2].n++
	}
}

func (s *sanitizer) run() {
	q := s.q
	for i := 0; i < len(q) && !s.full; {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			s.space = true
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-', c == '#' && s.d == dialectMySQL:
			for i < len(q) && q[i] != '\n' {
				i++
			}
			s.space = true
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			i = skipBlockComment(q, i, s.d == dialectPostgres)
			s.space = true
		case c == '\'':
			j, ok := s.string(q, i, s.d == dialectMySQL)
			if !ok {
				s.literal()
				return
			}
			s.literal()
			i = j
		case c == '"':
			if s.d.quotedIdentifiers() {
				j := quoted(q, i, '"')
				s.identifier(q[i:j], unquote(q[i:j], '"'))
				i = j
				continue
			}
			j, ok := s.quote(q, i, '"', s.d == dialectMySQL)
			s.literal()
			if !ok {
				return
			}
			i = j
		case c == '`':
			j := quoted(q, i, '`')
			s.identifier(q[i:j], unquote(q[i:j], '`'))
			i = j
		case c == '[' && (s.d == dialectSQLServer || s.d == dialectSQLite):
			j := strings.IndexByte(q[i:], ']')
			if j < 0 {
				s.literal() // unterminated: show nothing more
				return
			}
			s.identifier(q[i:i+j+1], q[i+1:i+j])
			i += j + 1
		case c == '$':
			i = s.dollar(q, i)
			if i < 0 {
				return
			}
		case isDigit(c), c == '.' && i+1 < len(q) && isDigit(q[i+1]):
			i = number(q, i)
			s.literal()
		case isWordStart(c):
			j := i + 1
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			w := q[i:j]
			// A prefixed string: E'..', X'..', B'..', N'..', U&'..', _utf8mb4'..'.
			if p, ok := stringPrefix(q, w, j); ok {
				k, ok := s.string(q, p, s.d == dialectMySQL || w == "E" || w == "e")
				s.literal()
				if !ok {
					return
				}
				i = k
				continue
			}
			s.word(w)
			i = j
		case c == '(':
			s.open()
			i++
		case c == ')':
			s.close()
			i++
		default:
			// An operator or punctuation; multi-byte operators come out as their bytes.
			dot := c == '.' && s.qual == 1 && !s.space
			s.emit(q[i:i+1], tokOther)
			if dot {
				s.qual = 2
			}
			i++
		}
	}
}

// string reads a '...' literal at i, returning the index after it; ok is false when the
// literal does not end or its reading is ambiguous.
func (s *sanitizer) string(q string, i int, backslash bool) (int, bool) {
	return s.quote(q, i, '\'', backslash)
}

func (s *sanitizer) quote(q string, i int, quote byte, backslash bool) (int, bool) {
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case quote:
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1, true
		case '\\':
			switch {
			case backslash:
				j++
			case s.d == dialectOther:
				return len(q), false // ambiguous: see sanitize
			}
		}
	}
	return len(q), false
}

// dollar reads what starts with $ at i: a positional parameter ($1) stays, a
// dollar-quoted body ($$...$$, $tag$...$tag$) becomes ?. It returns -1 when a body
// does not end.
func (s *sanitizer) dollar(q string, i int) int {
	j := i + 1
	if j < len(q) && isDigit(q[j]) {
		for j < len(q) && isDigit(q[j]) {
			j++
		}
		s.emit(q[i:j], tokWord)
		return j
	}
	for j < len(q) && (isWordStart(q[j]) || isDigit(q[j])) {
		j++
	}
	if j < len(q) && q[j] == '$' {
		tag := q[i : j+1]
		end := strings.Index(q[j+1:], tag)
		s.literal()
		if end < 0 {
			return -1
		}
		return j + 1 + end + len(tag)
	}
	s.emit("$", tokOther)
	return i + 1
}

// word handles a keyword, identifier or named placeholder; it also reads the
// operation and the table.
func (s *sanitizer) word(w string) {
	if s.qual == 2 && !s.space {
		s.emit(w, tokWord)
		s.words++
		s.table += "." + w
		s.qual = 1
		return
	}
	s.emit(w, tokWord)
	s.words++
	if s.words == 1 {
		if up := strings.ToUpper(w); operations[up] {
			s.op = up
		} else {
			s.tableD = true
		}
		return
	}
	if s.tableD {
		return
	}
	if s.want {
		switch strings.ToUpper(w) {
		case "ONLY", "LATERAL", "IF", "NOT", "EXISTS", "TABLE", "INTO", "IGNORE", "LOW_PRIORITY", "DELAYED", "QUICK", "TOP":
			return // still before the name
		}
		s.setTable(w)
		return
	}
	up := strings.ToUpper(w)
	switch s.op {
	case "SELECT", "DELETE", "WITH":
		s.want = up == "FROM"
	case "INSERT", "REPLACE", "MERGE", "UPSERT":
		s.want = up == "INTO"
	case "CREATE", "DROP", "ALTER", "TRUNCATE", "LOCK", "VACUUM", "ANALYZE", "REINDEX", "CLUSTER":
		s.want = up == "TABLE" || s.op == "TRUNCATE" || s.op == "VACUUM" || s.op == "ANALYZE"
		if !s.want && s.words == 2 && up != "TABLE" && s.op != "LOCK" {
			s.tableD = true // CREATE INDEX, DROP VIEW...: no table
		}
		if s.want && up != "TABLE" {
			s.setTable(w)
		}
	case "UPDATE":
		s.setTable(w)
	case "COPY":
		s.setTable(w)
	default:
		s.tableD = true
	}
}

// identifier handles a quoted identifier: raw is written, name may become the table.
func (s *sanitizer) identifier(raw, name string) {
	if s.qual == 2 && !s.space {
		s.emit(raw, tokWord)
		s.words++
		s.table += "." + name
		s.qual = 1
		return
	}
	s.emit(raw, tokWord)
	s.words++
	if s.tableD || s.words == 1 {
		s.tableD = true
		return
	}
	if s.want || s.op == "UPDATE" || s.op == "COPY" {
		s.setTable(name)
	}
}

// setTable records the table, joining a schema-qualified name (schema.table) as it
// follows.
func (s *sanitizer) setTable(name string) {
	s.table, s.tableD, s.want = name, true, false
	s.qual = 1
}

func skipBlockComment(q string, i int, nested bool) int {
	depth := 0
	for j := i; j < len(q)-1; j++ {
		switch {
		case q[j] == '/' && q[j+1] == '*':
			if depth == 0 || nested {
				depth++
			}
			j++
		case q[j] == '*' && q[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(q)
}

// quoted returns the index after the identifier quoted with quote at i (doubled quotes
// inside), or len(q).
func quoted(q string, i int, quote byte) int {
	for j := i + 1; j < len(q); j++ {
		if q[j] == quote {
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(q)
}

func unquote(raw string, quote byte) string {
	if len(raw) >= 2 && raw[len(raw)-1] == quote {
		raw = raw[1 : len(raw)-1]
	} else {
		raw = raw[1:]
	}
	q := string([]byte{quote})
	return strings.ReplaceAll(raw, q+q, q)
}

// number returns the index after the numeric literal at i: decimal, with fraction and
// exponent, hex (0x), binary (0b), octal (0o), with _ separators.
func number(q string, i int) int {
	j := i
	if q[j] == '0' && j+1 < len(q) && strings.IndexByte("xXbBoO", q[j+1]) >= 0 {
		j += 2
		for j < len(q) && (isHex(q[j]) || q[j] == '_') {
			j++
		}
		return j
	}
	for j < len(q) && (isDigit(q[j]) || q[j] == '_') {
		j++
	}
	if j < len(q) && q[j] == '.' {
		j++
		for j < len(q) && (isDigit(q[j]) || q[j] == '_') {
			j++
		}
	}
	if j < len(q) && (q[j] == 'e' || q[j] == 'E') {
		k := j + 1
		if k < len(q) && (q[k] == '+' || q[k] == '-') {
			k++
		}
		if k < len(q) && isDigit(q[k]) {
			j = k
			for j < len(q) && isDigit(q[j]) {
				j++
			}
		}
	}
	// 123abc is not a number followed by a word in any dialect we know; keep it whole
	// as a literal.
	for j < len(q) && isWordByte(q[j]) {
		j++
	}
	return j
}

// stringPrefix reports whether word w, ending at j, prefixes a string literal, and
// where the literal's quote is.
func stringPrefix(q, w string, j int) (int, bool) {
	if j >= len(q) {
		return 0, false
	}
	if (w == "U" || w == "u") && q[j] == '&' && j+1 < len(q) && q[j+1] == '\'' {
		return j + 1, true
	}
	if q[j] != '\'' {
		return 0, false
	}
	switch w {
	case "E", "e", "X", "x", "B", "b", "N", "n", "R", "r":
		return j, true
	}
	return j, w[0] == '_' // a MySQL character set introducer: _utf8mb4'...'
}

func isDigit(c byte) bool     { return '0' <= c && c <= '9' }
func isHex(c byte) bool       { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }
func isWordStart(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' || c == '_' || c >= 0x80 }
func isWordByte(c byte) bool {
	return isWordStart(c) || isDigit(c) || c == '$'
}
