package dbsql

import (
	"database/sql/driver"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// systemOfName maps a registered driver name to db.system.name.
func systemOfName(name string) string {
	switch strings.ToLower(name) {
	case "pgx", "pgx/v5", "pgx/v4", "postgres", "postgresql", "cloudsqlpostgres":
		return "postgresql"
	case "mysql":
		return "mysql"
	case "sqlite", "sqlite3":
		return "sqlite"
	case "sqlserver", "mssql", "azuresql":
		return "microsoft.sql_server"
	case "oracle", "godror", "goracle":
		return "oracle.db"
	case "clickhouse":
		return "clickhouse"
	case "snowflake":
		return "snowflake"
	case "duckdb":
		return "duckdb"
	case "trino":
		return "trino"
	}
	return ""
}

// systemOfDriver maps a driver's package to db.system.name, for connectors given
// without a name.
func systemOfDriver(d driver.Driver) string {
	if d == nil {
		return ""
	}
	t := reflect.TypeOf(d)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pkg := t.PkgPath()
	for _, m := range []struct{ prefix, system string }{
		{"github.com/jackc/pgx", "postgresql"},
		{"github.com/lib/pq", "postgresql"},
		{"github.com/go-sql-driver/mysql", "mysql"},
		{"modernc.org/sqlite", "sqlite"},
		{"github.com/mattn/go-sqlite3", "sqlite"},
		{"github.com/ncruces/go-sqlite3", "sqlite"},
		{"github.com/glebarez/go-sqlite", "sqlite"},
		{"github.com/microsoft/go-mssqldb", "microsoft.sql_server"},
		{"github.com/denisenkom/go-mssqldb", "microsoft.sql_server"},
		{"github.com/sijms/go-ora", "oracle.db"},
		{"github.com/godror/godror", "oracle.db"},
		{"github.com/ClickHouse/clickhouse-go", "clickhouse"},
		{"github.com/snowflakedb/gosnowflake", "snowflake"},
		{"github.com/marcboeker/go-duckdb", "duckdb"},
		{"github.com/duckdb/duckdb-go", "duckdb"},
	} {
		if strings.HasPrefix(pkg, m.prefix) {
			return m.system
		}
	}
	return ""
}

// dsnInfo is what vigil takes from a data source name: where the server is, and the
// password, only to cut it out of error text. The DSN itself is never kept.
type dsnInfo struct {
	host     string
	port     int
	password string
}

// parseDSN reads the usual forms: a URL (postgres://user:pw@host:port/db), key=value
// pairs (host=... port=... password=...), and MySQL's user:pw@tcp(host:port)/db. A
// form it cannot read yields nothing: the span then has no server.address.
func parseDSN(dsn string) dsnInfo {
	var d dsnInfo
	switch {
	case strings.Contains(dsn, "://"):
		u, err := url.Parse(dsn) // its error quotes dsn: never shown
		if err != nil {
			return d
		}
		if u.User != nil {
			d.password, _ = u.User.Password()
		}
		if pw := u.Query().Get("password"); pw != "" && d.password == "" {
			d.password = pw
		}
		host := u.Hostname()
		if strings.Contains(host, ",") { // libpq's multiple hosts
			host = ""
		}
		if host == "" {
			host = u.Query().Get("host")
		}
		if !strings.HasPrefix(host, "/") {
			d.host = host
			d.port, _ = strconv.Atoi(u.Port())
		}
	case strings.Contains(dsn, "@") && strings.Contains(dsn, "("): // MySQL
		at := strings.LastIndex(dsn, "@")
		if i := strings.IndexByte(dsn[:at], ':'); i >= 0 {
			d.password = dsn[i+1 : at]
		}
		rest := dsn[at+1:]
		if l, r := strings.IndexByte(rest, '('), strings.IndexByte(rest, ')'); l >= 0 && r > l {
			if h, p, err := net.SplitHostPort(rest[l+1 : r]); err == nil {
				d.host = h
				d.port, _ = strconv.Atoi(p)
			} else if !strings.HasPrefix(rest[l+1:r], "/") {
				d.host = rest[l+1 : r]
			}
		}
	case strings.Contains(dsn, "="):
		for _, kv := range keyValues(dsn) {
			switch strings.ToLower(kv[0]) {
			case "host", "server", "data source", "address", "addr":
				if !strings.HasPrefix(kv[1], "/") && !strings.Contains(kv[1], ",") {
					d.host = kv[1]
					if h, p, err := net.SplitHostPort(kv[1]); err == nil {
						d.host = h
						d.port, _ = strconv.Atoi(p)
					}
				}
			case "port":
				d.port, _ = strconv.Atoi(kv[1])
			case "password", "pwd", "pass":
				d.password = kv[1]
			}
		}
	}
	if d.port < 0 || d.port > 65535 {
		d.port = 0
	}
	return d
}

// keyValues splits libpq's "k=v k='v w'" and ADO's "k=v;k=v" forms.
func keyValues(s string) [][2]string {
	var out [][2]string
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == ';' || s[i] == '\t') {
			i++
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			break
		}
		key := strings.TrimSpace(s[i : i+eq])
		i += eq + 1
		for i < len(s) && s[i] == ' ' {
			i++
		}
		var val strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			for i < len(s) && s[i] != '\'' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
				i++
			}
			i++
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != ';' {
				val.WriteByte(s[i])
				i++
			}
		}
		out = append(out, [2]string{key, val.String()})
	}
	return out
}
