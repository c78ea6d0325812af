package scrub

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Header returns a copy of h in which the values of sensitive header names are replaced
// by Redacted. h itself is not modified.
func (m *Matcher) Header(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		if m.Sensitive(k) {
			out[k] = []string{Redacted}
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Form returns an application/x-www-form-urlencoded body with the values of sensitive
// fields replaced. It follows the same rules as Query.
func (m *Matcher) Form(body string) string { return m.Query(body) }

// JSON returns body with the value of every object member whose name is sensitive
// replaced by "[REDACTED]", at any depth; member order and the other values are kept.
// A body that is not valid JSON is redacted whole, since it cannot be inspected.
func (m *Matcher) JSON(body []byte) []byte {
	if len(bytes.TrimSpace(body)) == 0 {
		return body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out bytes.Buffer
	if err := m.scrubJSONValue(dec, &out); err != nil {
		return []byte(`"` + Redacted + `"`)
	}
	if _, err := dec.Token(); err != io.EOF {
		return []byte(`"` + Redacted + `"`) // trailing data
	}
	return out.Bytes()
}

func (m *Matcher) scrubJSONValue(dec *json.Decoder, out *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			out.WriteByte('{')
			for first := true; dec.More(); first = false {
				if !first {
					out.WriteByte(',')
				}
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := kt.(string)
				kb, _ := json.Marshal(key)
				out.Write(kb)
				out.WriteByte(':')
				if m.Sensitive(key) {
					var skip json.RawMessage
					if err := dec.Decode(&skip); err != nil {
						return err
					}
					out.WriteString(`"` + Redacted + `"`)
					continue
				}
				if err := m.scrubJSONValue(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // '}'
				return err
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			for first := true; dec.More(); first = false {
				if !first {
					out.WriteByte(',')
				}
				if err := m.scrubJSONValue(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return err
			}
			out.WriteByte(']')
		}
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		out.Write(b)
	}
	return nil
}

// Body scrubs a request or response body according to its Content-Type: JSON bodies
// (application/json and any +json type) with JSON, url-encoded forms with Form. Other
// types cannot be inspected and are returned as Redacted when they are not empty, so
// that nothing unexamined leaves the process.
func (m *Matcher) Body(contentType string, body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return m.JSON(body)
	case mt == "application/x-www-form-urlencoded":
		return []byte(m.Form(string(body)))
	case strings.HasPrefix(mt, "text/plain"):
		return body
	}
	return []byte(Redacted)
}
