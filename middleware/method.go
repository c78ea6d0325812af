package middleware

// methodOther is the label value of every method outside the standard set, so a client
// inventing methods cannot mint series (the promhttp CVE-2022-21698 lesson).
const methodOther = "_OTHER"

// Method indexes: the standard methods of RFC 9110 and RFC 5789, then _OTHER.
const (
	methodGET = iota
	methodHEAD
	methodPOST
	methodPUT
	methodDELETE
	methodCONNECT
	methodOPTIONS
	methodTRACE
	methodPATCH
	methodOtherIdx
	numMethods
)

var methodNames = [numMethods]string{
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", methodOther,
}

// methodIndex maps a request method to its bounded index. Matching is exact, as in
// net/http: "get" is not GET.
func methodIndex(m string) uint8 {
	switch m {
	case "GET", "":
		// net/http treats an empty client method as GET.
		return methodGET
	case "HEAD":
		return methodHEAD
	case "POST":
		return methodPOST
	case "PUT":
		return methodPUT
	case "DELETE":
		return methodDELETE
	case "CONNECT":
		return methodCONNECT
	case "OPTIONS":
		return methodOPTIONS
	case "TRACE":
		return methodTRACE
	case "PATCH":
		return methodPATCH
	}
	return methodOtherIdx
}
