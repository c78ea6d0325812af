package scrub

import (
	"bytes"
	"slices"
)

// The built-in terms, in their normalized form (lower-case letters and digits only).
// Each class trades recall against false positives differently; the package doc explains
// the classes and every term that needs a reason has one here.
var (
	// anywhereTerms are unambiguous: they match anywhere in the normalized name, across
	// separators and inside a word ("userPassword", "PHPSESSID", "api_keys", "Set-Cookie").
	anywhereTerms = []string{
		"password", "passwd", "passphrase",
		"secret", // covers client_secret, secret_key, webhook_secret
		"credential", "authorization", "cookie", "bearer", "jwt",
		"privatekey", "privkey", "apikey", "accesskey", "secretkey",
		"csrf", "xsrf",
		"sessionid", "sessid", // JSESSIONID, PHPSESSID, session_id
		"connectionstring",
	}

	// tailTerms match the end of the name: the last words, joined, equal the term
	// ("refresh_token", "X-Amz-Signature", "Ocp-Apim-Subscription-Key"), so that a word
	// that only counts or qualifies a secret ("max_tokens", "token_type", "session_count",
	// "signature_method") does not. Terms of five letters or more also match as the end
	// of the last word ("accesstoken", "xsignature"); shorter ones must be whole words, so
	// "spin" is not a "pin" and "bypass" not a "pass".
	tailTerms = []string{
		"token", "signature", "session",
		"sig",  // AWS, Azure SAS and signed-URL query parameter
		"pwd",  // db_pwd; note the shell's PWD is matched too: allow it if needed
		"pass", // db_pass, smtp_pass
		"pin", "otp", "cvv", "cvc", "passcode", "pincode",
		"dsn", // a DSN carries the database password or the Sentry key
		"basicauth",
		// Keys that are secrets. A bare "*_key" is not ("cache_key", "primary_key",
		// "sort_key", "idempotency_key"), so only these qualified ones are.
		"authkey", "subscriptionkey", "signingkey", "encryptionkey", "masterkey",
		"licensekey", "accountkey", "clientkey", "sessionkey", "hmackey", "sshkey",
		"appkey",
	}

	// wholeTerms are ordinary words that are secrets only as the entire name: "auth",
	// "sid", but never "oauth_provider". Text ignores them: in free text the word before
	// a '=' or ':' is rarely the whole name.
	wholeTerms = []string{"auth", "sid"}

	// paramTerms are whole names that are secrets only as URL query, fragment or form
	// parameters: "code" is OAuth's authorization code there and "key" Google APIs' key,
	// while as a metric label (promhttp's code="200", a cache "key"), a span attribute or
	// a log key they name ordinary values, whose series must stay apart.
	paramTerms = []string{"code", "key"}
)

// DefaultPatterns lists every built-in term, for documentation and tests: anywhere terms
// first, then tail terms, then whole-name terms, then parameter-only terms (see the
// package doc for the classes).
// The Matcher reads its own copy, so changing this slice changes nothing.
var DefaultPatterns = slices.Concat(anywhereTerms, tailTerms, wholeTerms, paramTerms)

// anywhereByFirst and tailByLast index the terms by their first and last byte, so that
// deciding a name costs a few byte compares per letter rather than one search per term.
var anywhereByFirst, tailByLast = index(anywhereTerms, 0), index(tailTerms, -1)

func index(terms []string, at int) (ix [256][]string) {
	for _, t := range terms {
		b := t[0]
		if at < 0 {
			b = t[len(t)-1]
		}
		ix[b] = append(ix[b], t)
	}
	return ix
}

var wholeSet, paramSet = set(wholeTerms), set(paramTerms)

// maxWhole is the longest whole-name or parameter term: longer names skip those lookups.
var maxWhole = func() (n int) {
	for _, t := range slices.Concat(wholeTerms, paramTerms) {
		n = max(n, len(t))
	}
	return n
}()

func set(terms []string) map[string]bool {
	s := map[string]bool{}
	for _, t := range terms {
		s[t] = true
	}
	return s
}

// A class is what a name matched; a Matcher memoizes it per name.
type class uint8

const (
	notSecret class = iota + 1 // zero means "not decided"
	paramOnly                  // secret as a URL or form parameter only: a paramTerm
	wholeOnly                  // secret only because the whole name is a wholeTerm
	secret
)

// words splits name into lower-case words and returns them joined (n) together with
// where each word starts (start[i] is true when a word begins at n[i]; start[len(n)] is
// true). Words break at every byte that is not an ASCII letter or digit, between a lower-
// case letter and an upper-case letter ("apiKey"), and before a capital that a lower-case
// letter follows ("APIKey", "XAuthToken", "DB2Password"). After digits a capital begins a
// word only where case marks words at all: a lower-case letter came before the digits
// ("oauth2Token", "oauth2TOKEN") or follows the capital. An all-capital name splits as its
// lower-case spelling does ("DB0PASS" as "db0pass"), since its case carries no words.
func words(n []byte, start []bool, name string) ([]byte, []bool) {
	const (
		sep = iota
		lower
		upper
		digit
	)
	prev, letter := sep, sep // letter: the class of the last letter in this run
	for i := 0; i < len(name); i++ {
		c := name[i]
		var cl int
		switch {
		case 'a' <= c && c <= 'z':
			cl = lower
		case 'A' <= c && c <= 'Z':
			cl = upper
		case '0' <= c && c <= '9':
			cl = digit
		default:
			prev, letter = sep, sep
			continue
		}
		nextLower := i+1 < len(name) && 'a' <= name[i+1] && name[i+1] <= 'z'
		begins := prev == sep ||
			cl == upper && (prev == lower || nextLower || prev == digit && letter == lower)
		if cl == upper {
			c += 'a' - 'A'
		}
		n = append(n, c)
		start = append(start, begins)
		prev = cl
		if cl != digit {
			letter = cl
		}
	}
	return n, append(start, true)
}

// normalize returns the words of s joined: the form in which names and terms compare.
func normalize(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		default:
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// classify applies the rules to name, in order: allow-list, anywhere, tail, configured,
// whole-name, parameter-only terms.
func (m *Matcher) classify(name string) class {
	var nb [64]byte
	var sb [65]bool
	n, start := words(nb[:0], sb[:0], name)
	if len(n) == 0 || m.allow[string(n)] {
		return notSecret
	}
	for i, c := range n {
		for _, t := range anywhereByFirst[c] {
			if len(n)-i >= len(t) && string(n[i:i+len(t)]) == t {
				return secret
			}
		}
	}
	for _, t := range tailByLast[n[len(n)-1]] {
		if len(n) >= len(t) && string(n[len(n)-len(t):]) == t && (len(t) >= 5 || start[len(n)-len(t)]) {
			return secret
		}
	}
	for _, p := range m.extra {
		if wordRun(n, start, p) {
			return secret
		}
	}
	if len(n) <= maxWhole {
		switch {
		case wholeSet[string(n)]:
			return wholeOnly
		case paramSet[string(n)]:
			return paramOnly
		}
	}
	return notSecret
}

// wordRun reports whether p occurs in n as a run of whole words.
func wordRun(n []byte, start []bool, p []byte) bool {
	for off := 0; off+len(p) <= len(n); {
		i := bytes.Index(n[off:], p)
		if i < 0 {
			return false
		}
		i += off
		if start[i] && start[i+len(p)] {
			return true
		}
		off = i + 1
	}
	return false
}
