// Package scrub is vigil's one secret policy. Logs, Sentry events and breadcrumbs, span
// attributes and events, metric labels, StatsD tags and the text of every error vigil
// writes ask the same Matcher, so a value redacted in one place is redacted in all.
// observe builds it once from the configured lists with Shared and hands it to each part.
//
// # Names
//
// Sensitive decides by name: the value of a sensitive key is replaced by Redacted and the
// key kept. A name is split into lower-case words at every byte that is not an ASCII
// letter or digit and at camelCase boundaries ("APIKey" is api, key; "XAuthToken" is x,
// auth, token; an all-capital "DB0PASS" has none, and is the one word db0pass, as
// "db0pass" is), and words are compared joined, so "api_key", "apiKey", "API-Key" and
// "apikey" are one name. The built-in terms come in three classes:
//
//   - anywhere: unambiguous terms that match anywhere in the joined name, even inside a
//     word: password, passwd, passphrase, secret, credential, authorization, cookie,
//     bearer, jwt, privatekey, privkey, apikey, accesskey, secretkey, csrf, xsrf,
//     sessionid, sessid, connectionstring. So "db.password", "Set-Cookie",
//     "PHPSESSID", "client_secret" and "api_keys" are sensitive.
//   - tail: terms that must end the name, so that a word that counts or qualifies a
//     secret does not match: token, signature, session, sig, pwd, pass, pin, otp, cvv,
//     cvc, passcode, pincode, dsn, basicauth, and the qualified keys authkey,
//     subscriptionkey, signingkey, encryptionkey, masterkey, licensekey, accountkey,
//     clientkey, sessionkey, hmackey, sshkey, appkey. "refresh_token", "X-Amz-Signature"
//     and "Ocp-Apim-Subscription-Key" match; "max_tokens", "token_type", "session_count"
//     and "signature_method" do not. Terms of five letters or more also match the end of
//     the last word ("accesstoken"); shorter ones must be whole words ("spin" is no pin).
//   - whole name: ordinary words that are secrets only alone: key, auth, sid; and, as a
//     URL query, fragment or form parameter only, code (OAuth's authorization code, while
//     a "code" label or attribute is a status). "cache_key" and "status_code" are not
//     secrets.
//
// Configured names (Config.RedactKeys, New's arguments) match as a run of whole words
// anywhere in a name: "ssn" matches "customer_ssn" and "customerSSN" but not "classname".
// The allow-list (Config.AllowKeys) exempts names whose joined words equal an entry, for
// a name that only looks secret ("token_type") or a built-in that is not one here ("pwd"
// as the working directory); it wins over every other rule. Case never matters except to
// find camelCase words.
//
// A Matcher remembers up to 4096 decided names; once a name is known Sensitive neither
// locks nor allocates, and hostile keys cannot grow the memory it holds.
//
// # Values
//
// Some secrets hide in values rather than behind a name. Query, Form, URL, Header, JSON
// and Body redact by name inside structured values; URL also redacts the userinfo and
// reads the fragment as a query ("#access_token=..."). Text finds secrets inside free
// text such as an error message: URL passwords and secret parameters, the value after a
// sensitive key and '=' or ':', the credential after Bearer or Basic, and JWTs. RawURL
// scrubs URL text that may not parse, for configuration errors.
package scrub
