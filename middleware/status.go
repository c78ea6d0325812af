package middleware

import "strconv"

// statusCodes holds the label strings of every status net/http accepts (100-999), so
// recording a status never formats an integer on the request path.
var statusCodes = func() (s [1000]string) {
	for i := 100; i < len(s); i++ {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

var statusClasses = [...]string{"", "1xx", "2xx", "3xx", "4xx", "5xx"}

// statusCode returns the label value of code; codes net/http would refuse collapse to
// _OTHER so the set stays bounded.
func statusCode(code int) string {
	if code >= 100 && code < len(statusCodes) {
		return statusCodes[code]
	}
	return methodOther
}

// statusClass returns "1xx" ... "5xx", or _OTHER. StatsD formats without per-code
// charting use it to plot client and server errors directly.
func statusClass(code int) string {
	if c := code / 100; code >= 100 && c < len(statusClasses) {
		return statusClasses[c]
	}
	return methodOther
}
