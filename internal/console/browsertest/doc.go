// Package browsertest holds the browser tests of vigil's dev console (/debug/vigil/): it drives
// Debian's chromium through chromedp against the quick start's service (-demo, on a free
// loopback port) and against a fake API full of hostile strings, and checks what a developer
// sees. It is a nested module so chromedp stays out of vigil's go.mod; it has no API.
//
// Run it (the CI stage .ci/stages/25-browser.sh installs chromium first):
//
//	cd internal/console/browsertest && go test -race -count=1 ./...
//
// With VIGIL_SCREENSHOTS=dir set, the quick start test writes one PNG per page into dir
// (the README shows them from docs/console/):
//
//	VIGIL_SCREENSHOTS=$PWD/../../../docs/console go test -count=1 -run TestQuickstart ./...
//
// Without chromium (VIGIL_CHROMIUM or /usr/bin/chromium) the tests are skipped, unless
// VIGIL_IT_BROWSER=required, which the CI stage sets.
package browsertest
