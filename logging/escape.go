package logging

import "github.com/vigil-go/vigil/internal/jsonstr"

// appendString appends s as a JSON string on one line (see jsonstr.Append).
func appendString(buf []byte, s string) []byte { return jsonstr.Append(buf, s) }
