package scrub

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
)

func TestSensitive(t *testing.T) {
	tests := []struct {
		name string
		want bool
		why  string
	}{
		// Headers.
		{"Authorization", true, "anywhere: authorization"},
		{"Proxy-Authorization", true, "anywhere: authorization"},
		{"Cookie", true, "anywhere: cookie"},
		{"Set-Cookie", true, "anywhere: cookie"},
		{"X-Auth-Token", true, "tail: token"},
		{"X-Auth-Key", true, "tail: authkey"},
		{"Ocp-Apim-Subscription-Key", true, "tail: subscriptionkey"},
		{"X-Amz-Security-Token", true, "tail: token"},
		{"X-Amz-Signature", true, "tail: signature"},
		{"X-Amz-Credential", true, "anywhere: credential"},
		{"X-CSRF-Token", true, "anywhere: csrf"},
		{"X-Api-Key", true, "anywhere: apikey"},
		{"User-Agent", false, ""},
		{"Content-Type", false, ""},
		// Attribute and parameter names, every spelling of one name.
		{"api_key", true, "anywhere: apikey"},
		{"apiKey", true, "anywhere: apikey"},
		{"API-Key", true, "anywhere: apikey"},
		{"APIKey", true, "anywhere: apikey"},
		{"apikey", true, "anywhere: apikey"},
		{"api_keys", true, "anywhere: apikey"},
		{"access_token", true, "tail: token"},
		{"refresh_token", true, "tail: token"},
		{"accessToken", true, "tail: token"},
		{"idtoken", true, "tail: token, end of the last word"},
		{"client_secret", true, "anywhere: secret"},
		{"db.password", true, "anywhere: password"},
		{"password_hash", true, "anywhere: password"},
		{"userPassword", true, "anywhere: password"},
		{"session", true, "tail: session"},
		{"user_session", true, "tail: session"},
		{"session_id", true, "anywhere: sessionid"},
		{"sessionId", true, "anywhere: sessionid"},
		{"JSESSIONID", true, "anywhere: sessionid"},
		{"PHPSESSID", true, "anywhere: sessid"},
		{"sig", true, "tail: sig"},
		{"url_sig", true, "tail: sig"},
		{"jwt", true, "anywhere: jwt"},
		{"id_jwt_claims", true, "anywhere: jwt"},
		{"key", false, "parameter only: key"},
		{"KEY", false, "parameter only: key"},
		{"code", false, "a status as a label or attribute; secret as a URL parameter only (see TestQueryParamOnly)"},
		{"auth", true, "whole: auth"},
		{"sid", true, "whole: sid"},
		{"db_pass", true, "tail: pass"},
		{"db_pwd", true, "tail: pwd"},
		{"user_pin", true, "tail: pin"},
		{"otp", true, "tail: otp"},
		{"sentry_dsn", true, "tail: dsn"},
		{"bearer_token", true, "anywhere: bearer"},
		{"private_key", true, "anywhere: privatekey"},
		{"aws_secret_access_key", true, "anywhere: secret"},
		{"storage_account_key", true, "tail: accountkey"},
		{"XAuthToken", true, "tail: token"},
		{"connection_string", true, "anywhere: connectionstring"},
		{"credentials", true, "anywhere: credential"},
		// Names that only look secret.
		{"max_tokens", false, "tokens is a count"},
		{"gen_ai.usage.input_tokens", false, "a count"},
		{"gen_ai.usage.output_tokens", false, "a count"},
		{"tokens", false, "a count"},
		{"token_type", false, "token is not the last word"},
		{"token_count", false, "token is not the last word"},
		{"session_count", false, "session is not the last word"},
		{"http.response.status_code", false, "code is whole-name only"},
		{"status_code", false, "code is whole-name only"},
		{"rpc.grpc.status_code", false, "code is whole-name only"},
		{"keyboard", false, "key is whole-name only"},
		{"monkey", false, "key is whole-name only"},
		{"cache_key", false, "only qualified keys are secret"},
		{"primary_key", false, "only qualified keys are secret"},
		{"idempotency_key", false, "only qualified keys are secret"},
		{"signature_method", false, "signature is not the last word (OAuth 1 names the algorithm)"},
		{"route", false, ""},
		{"user_agent", false, ""},
		{"spin", false, "pin must be a whole word"},
		{"bypass", false, "pass must be a whole word"},
		{"compass", false, "pass must be a whole word"},
		{"author", false, "auth is whole-name only"},
		{"oauth_provider", false, "auth is whole-name only"},
		{"http.request.method", false, ""},
		{"", false, "empty"},
		{"-_.", false, "no words"},
	}
	m := New()
	for _, tc := range tests {
		for _, got := range []bool{m.Sensitive(tc.name), m.Sensitive(tc.name), Default().Sensitive(tc.name), (*Matcher)(nil).Sensitive(tc.name)} {
			if got != tc.want {
				t.Errorf("Sensitive(%q) = %v, want %v (%s)", tc.name, got, tc.want, tc.why)
				break
			}
		}
	}
}

// TestQueryParamOnly: "code" is OAuth's authorization code in a URL or form, and a
// status (promhttp's code="200") everywhere else.
func TestQueryParamOnly(t *testing.T) {
	m := New()
	for in, want := range map[string]string{
		"code=4/0Ad&state=s":   "code=[REDACTED]&state=s",
		"status_code=500":      "status_code=500",
		"Code=x":               "Code=[REDACTED]",
		"key=AIza&code=c&id=1": "key=[REDACTED]&code=[REDACTED]&id=1",
	} {
		if got := m.Query(in); got != want {
			t.Errorf("Query(%q) = %q, want %q", in, got, want)
		}
	}
	if m.Sensitive("code") || m.Sensitive("key") {
		t.Error(`Sensitive("code") or Sensitive("key"): both are secrets as parameters only`)
	}
	if got := (*Matcher)(nil).Query("code=1"); got != "code=[REDACTED]" {
		t.Errorf("nil Matcher Query = %q", got)
	}
}

func TestWords(t *testing.T) {
	for name, want := range map[string]string{
		"APIKey":               "api key",
		"XAuthToken":           "x auth token",
		"apiKey":               "api key",
		"oauth2Token":          "oauth2 token",
		"oauth2TOKEN":          "oauth2 token",
		"DB2Password":          "db2 password",
		"DB0PASS":              "db0pass", // all capitals: split as "db0pass" is
		"db0pass":              "db0pass",
		"2FA":                  "2fa",
		"v2Api":                "v2 api",
		"X-Amz-Security-Token": "x amz security token",
		"JSESSIONID":           "jsessionid",
		"gen_ai.usage.tokens":  "gen ai usage tokens",
		"a..b  c":              "a b c",
		"ßession":              "ession",
	} {
		n, start := words(nil, nil, name)
		got := ""
		for i := range n {
			if start[i] && i > 0 {
				got += " "
			}
			got += string(n[i])
		}
		if got != want {
			t.Errorf("words(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestConfigured(t *testing.T) {
	m := Shared([]string{"ssn", "X-My-Secret-Header", "tenant-id"}, []string{"token_type", "PWD"})
	tests := []struct {
		name string
		want bool
	}{
		{"ssn", true},
		{"customer_ssn", true},
		{"customerSsn", true},
		{"ssn_last4", true},
		{"classname", false}, // a configured name matches whole words, not letters
		{"x-my-secret-header", true},
		{"X-My-Secret-Header", true},
		{"tenantId", true},
		{"TENANT_ID", true},
		{"tenant", false},
		{"token_type", false}, // allowed
		{"TokenType", false},  // allowed, normalized the same way
		{"token.type", false},
		{"pwd", false},             // allowed
		{"db_pwd", true},           // only the whole allowed name is exempt
		{"access_token", true},     // built-ins still apply
		{"password", true},         // built-ins still apply
		{"token_type_hint", false}, // neither a tail token nor allowed: not secret anyway
	}
	for _, tc := range tests {
		if got := m.Sensitive(tc.name); got != tc.want {
			t.Errorf("Sensitive(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
	if New("ssn").Sensitive("customer_ssn") != true {
		t.Error("New's extra names are not matched as words")
	}
}

func TestShared(t *testing.T) {
	a := Shared([]string{"ssn", "api-secret"}, []string{"token_type"})
	tests := []struct {
		redact, allow []string
		same          bool
	}{
		{[]string{"api-secret", "ssn"}, []string{"token_type"}, true},
		{[]string{"SSN", "API_SECRET", "ssn", ""}, []string{"TokenType"}, true},
		{[]string{"ssn"}, []string{"token_type"}, false},
		{[]string{"ssn", "api-secret"}, nil, false},
	}
	for _, tc := range tests {
		if got := Shared(tc.redact, tc.allow) == a; got != tc.same {
			t.Errorf("Shared(%q, %q) same = %v, want %v", tc.redact, tc.allow, got, tc.same)
		}
	}
	if Shared(nil, nil) != Default() || Shared([]string{"", "-"}, nil) != Default() {
		t.Error("Shared of empty lists is not Default")
	}
	// Many distinct configurations (say, built from untrusted input) stay bounded.
	for i := range 2 * maxShared {
		Shared([]string{"n" + strconv.Itoa(i)}, nil)
	}
	shared.mu.Lock()
	n := len(shared.m)
	shared.mu.Unlock()
	if n > maxShared {
		t.Errorf("Shared cache holds %d matchers, bound %d", n, maxShared)
	}
}

// TestMemoBound feeds more distinct names than the memo keeps, from many goroutines:
// decisions stay right and the memo stays bounded.
func TestMemoBound(t *testing.T) {
	m := New()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range maxCached {
				name := fmt.Sprintf("g%d_attr_%d", g, i)
				if m.Sensitive(name) {
					t.Errorf("Sensitive(%q) = true", name)
				}
				if !m.Sensitive(name + "_token") {
					t.Errorf("Sensitive(%q) = false", name+"_token")
				}
			}
		})
	}
	wg.Wait()
	if n := m.memo.size(); n > maxCached {
		t.Errorf("memo holds %d names, bound %d", n, maxCached)
	}
	if !m.Sensitive("password") || m.Sensitive("route") {
		t.Error("decisions wrong once the memo is full")
	}
}

func TestSensitiveAllocs(t *testing.T) {
	m := New()
	names := []string{"http.response.status_code", "Authorization", "X-Auth-Token"}
	for _, n := range names {
		m.Sensitive(n)
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, n := range names {
			m.Sensitive(n)
		}
	}); n != 0 {
		t.Errorf("Sensitive of known names allocates %v times", n)
	}
}
