package scrub

// Text returns s with the secrets found inside free text redacted. A nil m means the
// default policy. When nothing matches, s itself is returned without allocating.
func (m *Matcher) Text(s string) string {
	return s
}

// RawURL returns the URL text s with its userinfo password, secret query values and
// secret fragment parameters redacted under the default policy, even when s does not parse.
func RawURL(s string) string {
	return s
}
