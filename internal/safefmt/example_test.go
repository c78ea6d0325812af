package safefmt_test

import (
	"fmt"

	"github.com/vigil-go/vigil/internal/safefmt"
)

func ExampleAppendJSON() {
	type login struct {
		User     string `json:"user"`
		Password string `json:"pass"`
	}
	v := map[string]any{"login": login{"ann", "hunter2"}, "retries": 3}
	v["self"] = v // fmt would overflow the stack here
	fmt.Println(string(safefmt.AppendJSON(nil, v, nil)))
	// Output: {"login":{"user":"ann","pass":"[REDACTED]"},"retries":3,"self":"!CYCLE"}
}

type brokenErr struct{}

func (brokenErr) Error() string { panic("oops") }

func ExampleText() {
	fmt.Println(safefmt.Text(brokenErr{}, nil))
	// Output: !PANIC in Error: safefmt_test.brokenErr: oops
}
