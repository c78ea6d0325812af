package metrics

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// FuzzStatsDLine encodes a series with arbitrary prefix, metric name and label values
// in every dialect and checks that the packet line cannot be forged: it is printable
// ASCII, the value and type sit where the dialect puts them, and each label value is
// one token (no separator of any dialect survives). Seeds: testdata/fuzz/FuzzStatsDLine.
func FuzzStatsDLine(f *testing.F) {
	f.Add("app", "http_requests_total", "/orders/{id}", "200")
	f.Add("a.b..c", "x:y|z", "v|#evil:1", "a,b=c;d e")
	f.Add("", "n\nfake:1|c", "\n", "\x00\xff")
	f.Add(".", "ü", "@0.5", `"quoted"\`)
	f.Fuzz(func(t *testing.T, prefix, name, v1, v2 string) {
		for fmtName, fm := range formats {
			c := &statsdClient{format: fm}
			if prefix != "" {
				c.prefix = string(appendName(nil, prefix, true)) + "."
			}
			fam := &family{name: name, labels: []string{"route", "code"}}
			st := c.line(fam, []string{v1, v2})
			line := string(appendLine(nil, &st, 1.5, "c", 1))
			for i := 0; i < len(line); i++ {
				if b := line[i]; b < '!' || b > '~' {
					t.Fatalf("%s: byte %#x in %q", fmtName, b, line)
				}
			}
			head, rest, ok := strings.Cut(line, ":")
			if fm == fmtDogStatsD {
				if !ok || !strings.HasPrefix(rest, "1.5|c|#route:") || strings.Count(rest, "|") != 2 ||
					strings.Count(rest, ",") != 1 || strings.Count(rest, ":") != 2 {
					t.Fatalf("%s: line %q is not name:1.5|c|#route:v,code:v", fmtName, line)
				}
			} else if !ok || rest != "1.5|c" {
				t.Fatalf("%s: line %q is not head:1.5|c", fmtName, line)
			}
			if strings.ContainsAny(head, "|@#") {
				t.Fatalf("%s: head %q holds a separator", fmtName, head)
			}
			switch fm {
			case fmtInflux, fmtGraphite:
				sep := map[format]string{fmtInflux: ",", fmtGraphite: ";"}[fm]
				for _, tag := range strings.Split(head, sep)[1:] {
					if k, v, _ := strings.Cut(tag, "="); (k != "route" && k != "code") || v == "" || strings.Contains(v, "=") {
						t.Fatalf("%s: tag %q in %q", fmtName, tag, line)
					}
				}
			case fmtPlain:
				if strings.ContainsAny(head, ",;=") {
					t.Fatalf("%s: head %q", fmtName, head)
				}
			}
		}
	})
}

// FuzzEnv sets one of the package's variables to an arbitrary value and checks that
// resolving the configuration either succeeds or fails naming that variable, and never
// panics. Seeds: testdata/fuzz/FuzzEnv.
func FuzzEnv(f *testing.F) {
	vars := []string{EnvSeriesLimit, EnvGoCollector, EnvProcess, EnvHost, EnvStatsDAddr, EnvStatsDFormat,
		EnvStatsDPrefix, EnvStatsDFlush, EnvStatsDMaxPacket, EnvPushURL, EnvPushJob, EnvPushInterval,
		EnvGraphiteAddr, EnvGraphitePrefix, EnvGraphiteIntvl}
	for i, seed := range []string{"100", "false", "true", "0", "localhost:8125", "influx", "app",
		"250ms", "9000", "http://pg:9091", "job", "-1s", "[::1]:2003", "x", "1e3s"} {
		f.Add(uint8(i), seed)
	}
	f.Add(uint8(0), "0")
	f.Add(uint8(7), "0s")
	f.Add(uint8(4), "host:99999")
	f.Add(uint8(9), "http://user:pass@")
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := vars[int(which)%len(vars)]
		if strings.ContainsRune(value, 0) {
			return // the environment cannot hold NUL
		}
		for _, v := range vars {
			os.Unsetenv(v)
		}
		os.Setenv(name, value)
		defer os.Unsetenv(name)
		cfg, err := Config{Service: "svc"}.resolve()
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%q: error %q does not name the variable", name, value, err)
			}
			if strings.Count(err.Error(), "\n") != 0 {
				t.Fatalf("%s=%q: one bad variable gave several errors: %q", name, value, err)
			}
			return
		}
		if cfg.SeriesLimit < 1 || cfg.StatsD.FlushInterval < 10e6 || cfg.StatsD.MaxPacketSize < 64 ||
			cfg.Push.Interval <= 0 || cfg.Graphite.Interval <= 0 {
			t.Fatalf("%s=%q accepted into an unusable config %+v", name, value, cfg)
		}
		if name == EnvSeriesLimit && value != "" {
			if n, _ := strconv.Atoi(strings.TrimSpace(value)); n != cfg.SeriesLimit {
				t.Fatalf("%s=%q silently became %d", name, value, cfg.SeriesLimit)
			}
		}
	})
}
