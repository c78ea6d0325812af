package scrub_test

import (
	"fmt"
	"io"
	"net/url"

	"github.com/vigil-go/vigil/internal/scrub"
)

func Example() {
	m := scrub.Shared([]string{"ssn"}, []string{"token_type"})
	for _, name := range []string{"X-Auth-Token", "apiKey", "max_tokens", "token_type", "customer_ssn", "status_code"} {
		fmt.Printf("%s: %v\n", name, m.Sensitive(name))
	}

	err := &url.Error{Op: "Get", URL: "https://user:hunter2@api.example.com/v1?api_key=k123&page=2", Err: io.EOF}
	fmt.Println(m.Text(err.Error()))
	fmt.Println(m.Text("refresh failed: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"))
	// Output:
	// X-Auth-Token: true
	// apiKey: true
	// max_tokens: false
	// token_type: false
	// customer_ssn: true
	// status_code: false
	// Get "https://user:[REDACTED]@api.example.com/v1?api_key=[REDACTED]&page=2": EOF
	// refresh failed: Authorization: Bearer [REDACTED]
}
