package console

import (
	_ "embed"
	"net/http"
)

// ContentSecurityPolicy is every response's policy: nothing is loaded but the console's own
// stylesheet and script (and images, should a page get one); no inline script or style runs, and
// the script may not fetch anything (connect-src falls back to 'none'); forms post to the console
// only; no page is framed; no <base> moves relative URLs. The one script only shows times in the
// viewer's time zone: every page works without it.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every response of the console carries.
func (c *Console) securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY") // for browsers without frame-ancestors
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	h.Set("Cache-Control", "no-store") // pages show who may access what; the stylesheet relaxes it
	if c.secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

//go:embed static/console.css
var stylesheet []byte

//go:embed static/console.js
var script []byte

// script serves the console's one script, from the binary.
func (c *Console) script(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(script)
}

// stylesheet serves the console's one stylesheet, from the binary.
func (c *Console) stylesheet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(stylesheet)
}
