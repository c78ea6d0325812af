package dbsql

import (
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	cases := []struct {
		system          string
		q               string
		text, op, table string
	}{
		{"postgresql", "SELECT * FROM orders WHERE id = 42", "SELECT * FROM orders WHERE id = ?", "SELECT", "orders"},
		{"postgresql", "select name from public.users where email = 'a@b.c' and age > 3.5e2", "select name from public.users where email = ? and age > ?", "SELECT", "public.users"},
		{"postgresql", `SELECT * FROM "Order Items" WHERE id = $1`, `SELECT * FROM "Order Items" WHERE id = $1`, "SELECT", "Order Items"},
		{"postgresql", "INSERT INTO orders (id, note) VALUES (1, 'x'), (2, 'y'), (3, 'z')", "INSERT INTO orders (id, note) VALUES (?)", "INSERT", "orders"},
		{"postgresql", "SELECT * FROM t WHERE id IN (1, 2, 3, 4) AND x = ANY($1)", "SELECT * FROM t WHERE id IN (?) AND x = ANY($1)", "SELECT", "t"},
		{"postgresql", "UPDATE accounts SET balance = balance - 100.25 WHERE id = 0x1F", "UPDATE accounts SET balance = balance - ? WHERE id = ?", "UPDATE", "accounts"},
		{"postgresql", "DELETE FROM sessions WHERE token = E'abc\\'def' -- by cron\n", "DELETE FROM sessions WHERE token = ?", "DELETE", "sessions"},
		{"postgresql", "SELECT $$secret body$$, $tag$more$tag$ FROM t1", "SELECT ?, ? FROM t1", "SELECT", "t1"},
		{"postgresql", "SELECT x::int, B'1010', X'FF', U&'d\\0061t' FROM t", "SELECT x::int, ?, ?, ? FROM t", "SELECT", "t"},
		{"postgresql", "/* app */ SELECT 1", "SELECT ?", "SELECT", ""},
		{"postgresql", "SELECT 'C:\\' FROM t WHERE b = 'x'", "SELECT ? FROM t WHERE b = ?", "SELECT", "t"},
		{"postgresql", "CREATE TABLE IF NOT EXISTS items (id bigint primary key, price numeric(10, 2))", "CREATE TABLE IF NOT EXISTS items (id bigint primary key, price numeric(?))", "CREATE", "items"},
		{"postgresql", "CREATE INDEX items_price ON items (price)", "CREATE INDEX items_price ON items (price)", "CREATE", ""},
		{"postgresql", "TRUNCATE audit", "TRUNCATE audit", "TRUNCATE", "audit"},
		{"postgresql", "BEGIN", "BEGIN", "BEGIN", ""},
		{"postgresql", "frobnicate 42", "frobnicate ?", "", ""},
		{"mysql", "SELECT * FROM `orders` WHERE note = \"it's\" AND code = 'a\\'b' # trailing", "SELECT * FROM `orders` WHERE note = ? AND code = ?", "SELECT", "orders"},
		{"mysql", "INSERT INTO t VALUES (_utf8mb4'x', 7)", "INSERT INTO t VALUES (?)", "INSERT", "t"},
		{"sqlite", "SELECT * FROM [order] WHERE name = \"bob\"", "SELECT * FROM [order] WHERE name = ?", "SELECT", "order"},
		{"microsoft.sql_server", "SELECT TOP 10 * FROM [dbo].[users] WHERE n = N'x' AND id = @p1", "SELECT TOP ? * FROM [dbo].[users] WHERE n = ? AND id = @p1", "SELECT", "dbo.users"},
		// An unknown system: double quotes hold a literal; a backslash in a string is
		// ambiguous, so the text stops there.
		{"other_sql", `SELECT * FROM t WHERE a = "secret"`, "SELECT * FROM t WHERE a = ?", "SELECT", "t"},
		{"other_sql", `SELECT * FROM t WHERE a = 'x\' OR b = 'secret'`, "SELECT * FROM t WHERE a = ?", "SELECT", "t"},
		// Unterminated literals and comments show nothing after them.
		{"postgresql", "SELECT * FROM t WHERE a = 'never ends", "SELECT * FROM t WHERE a = ?", "SELECT", "t"},
		{"postgresql", "SELECT * FROM t /* never ends 'x'", "SELECT * FROM t", "SELECT", "t"},
		{"postgresql", "SELECT $q$ never ends", "SELECT ?", "SELECT", ""},
		{"postgresql", "  SELECT\n\t a\n FROM   t  ", "SELECT a FROM t", "SELECT", "t"},
		{"postgresql", "SELECT t1.c2, f(3) FROM t1", "SELECT t1.c2, f(?) FROM t1", "SELECT", "t1"},
		{"postgresql", "WITH x AS (SELECT 1) SELECT * FROM x", "WITH x AS (SELECT ?) SELECT * FROM x", "WITH", "x"},
	}
	for _, c := range cases {
		got := sanitize(c.q, dialectOf(c.system))
		if got.text != c.text || got.op != c.op || got.table != c.table {
			t.Errorf("%s %q:\n got  %q %q %q\n want %q %q %q", c.system, c.q, got.text, got.op, got.table, c.text, c.op, c.table)
		}
	}
}

// TestSanitizeNeverShowsLiterals puts a secret in every literal form each dialect has
// and checks that no reading shows it.
func TestSanitizeNeverShowsLiterals(t *testing.T) {
	const secret = "hunter2"
	forms := []string{
		"'hunter2'", "'it''s hunter2'", "E'hunter2'", "E'\\'hunter2'", "X'hunter2'", "N'hunter2'",
		"$$hunter2$$", "$x$hunter2$x$", `"hunter2"`, "_utf8'hunter2'", "U&'hunter2'",
		"'a\\' , 'hunter2'", "'a\\', 'b' || 'hunter2'", `'a\\' OR x = "hunter2"`,
		"'unterminated hunter2", "\"unterminated hunter2", "/* hunter2 */", "-- hunter2\n",
		"$$unterminated hunter2",
	}
	for _, system := range []string{"postgresql", "mysql", "sqlite", "microsoft.sql_server", "oracle.db", "other_sql"} {
		d := dialectOf(system)
		for _, f := range forms {
			if d.quotedIdentifiers() && strings.HasPrefix(f, `"`) {
				continue // an identifier there, not a literal
			}
			if d.quotedIdentifiers() && strings.Contains(f, `"hunter2"`) {
				continue
			}
			if d == dialectMySQL && strings.HasPrefix(f, "'a\\'") {
				continue // there the backslash escapes the quote, and hunter2 is a name
			}
			for _, q := range []string{
				"SELECT * FROM t WHERE a = " + f,
				"INSERT INTO t (a, b) VALUES (1, " + f + ")",
				"UPDATE t SET a = " + f + " WHERE id = 1",
			} {
				if got := sanitize(q, d); strings.Contains(got.text, secret) {
					t.Errorf("%s: %q reads as %q", system, q, got.text)
				}
			}
		}
		// Numbers of every form.
		for _, n := range []string{"31337", "3.1337", "31337e3", "0x31337", ".31337", "31_337"} {
			if got := sanitize("SELECT * FROM t WHERE a = "+n, d); strings.Contains(got.text, "1337") {
				t.Errorf("%s: number %s reads as %q", system, n, got.text)
			}
		}
	}
}

func TestSanitizeBounded(t *testing.T) {
	q := "INSERT INTO t (a) VALUES " + strings.Repeat("(a_column_name_that_is_long), ", 2000) + "(x)"
	got := sanitize(q, dialectPostgres)
	if len(got.text) > 4<<10 {
		t.Errorf("text is %d bytes", len(got.text))
	}
	if !strings.HasSuffix(got.text, "…") || got.op != "INSERT" || got.table != "t" {
		t.Errorf("got %q... %q %q", got.text[:40], got.op, got.table)
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"SELECT 'a' FROM t", "INSERT INTO x VALUES ($$y$$, 1)", "E'\\''", "[x", "U&'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for d := dialectOther; d <= dialectOracle; d++ {
			got := sanitize(q, d)
			if len(got.text) > 4<<10 {
				t.Fatalf("text of %d bytes", len(got.text))
			}
			// Without quoted identifiers (backticks, brackets), no quote and no number
			// shows: every one was a literal.
			if d != dialectOther && d != dialectMySQL || strings.ContainsAny(q, "`[") {
				continue
			}
			text := strings.TrimSuffix(got.text, "…")
			for i := 0; i < len(text); i++ {
				c := text[i]
				if c == '\'' || c == '"' || isDigit(c) && (i == 0 || !isWordByte(text[i-1])) {
					t.Fatalf("dialect %d: %q reads as %q", d, q, got.text)
				}
			}
		}
	})
}

func TestParseDSN(t *testing.T) {
	cases := []struct {
		dsn      string
		host     string
		port     int
		password string
	}{
		{"postgres://bob:s3cret@db.example:5433/shop?sslmode=disable", "db.example", 5433, "s3cret"},
		{"host=db.example port=5432 user=bob password='s3 cret' dbname=shop", "db.example", 5432, "s3 cret"},
		{"bob:s3cret@tcp(db.example:3306)/shop", "db.example", 3306, "s3cret"},
		{"server=db.example;user id=sa;password=s3cret;port=1433", "db.example", 1433, "s3cret"},
		{"file:test.db?cache=shared", "", 0, ""},
		{":memory:", "", 0, ""},
		{"postgres://%zz@host/db", "", 0, ""},
		{"postgres:///shop?host=/var/run/postgresql", "", 0, ""},
	}
	for _, c := range cases {
		got := parseDSN(c.dsn)
		if got.host != c.host || got.port != c.port || got.password != c.password {
			t.Errorf("%q: got %+v", c.dsn, got)
		}
	}
}

func TestSanitizeText(t *testing.T) {
	for in, want := range map[string]string{
		`invalid input syntax for type integer: "abc123"`:      `invalid input syntax for type integer: "?"`,
		"UNIQUE constraint failed: users.email (2067)":         "UNIQUE constraint failed: users.email (?)",
		"value 'hunter2' too long for column c1 at row 3":      "value '?' too long for column c1 at row ?",
		`duplicate key value violates unique constraint "u_k"`: `duplicate key value violates unique constraint "?"`,
		"unterminated 'quote hunter2":                          "unterminated '?",
	} {
		if got := sanitizeText(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
