package metrics

import (
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
					} else if fm == fmtGraphite && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "" {
						t.Fatalf("%s: tag value %q in %q holds a byte carbon's paths or globs read", fmtName, v, line)
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
