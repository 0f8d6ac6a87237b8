// Package console is the customer's web console: the pages where a person of a customer's tenant
// sees the tenant's accounts, configures support access (an account's quick-create link, the
// organization's StackSet and tenant tokens), approves or dismisses engineers' access requests,
// revokes an approval, sets standing approvals and reads the access log, without a terminal. The backend serves it under /console/ (Prefix), in
// the same process and with the same sign-in as the API; it holds no business rule of its own: who
// may read or decide what is the broker's, what an account's records mean is the registry's.
//
// Pages are rendered on the server (html/template) with one stylesheet and one script embedded in
// the binary; the script only shows times in the viewer's time zone, so every page works without
// it. Nothing is loaded from elsewhere, and every change is a plain form POST answered by a
// redirect (post/redirect/get), but for the two whose answer shows something once: a new tenant
// token, and a new quick-create link.
//
// # Sign-in
//
// The authorization-code flow with PKCE (S256) and a nonce, against the configured OpenID Provider
// (Cognito's hosted UI, or localop): /console/signin keeps the flow's state, PKCE verifier and
// nonce on the server under the state, and binds the state to the browser with a short-lived
// cookie; /console/callback takes them back only for that browser, exchanges the code with the
// verifier, and verifies the ID token with the API's auth.Verifier (the same issuer, audience,
// algorithm and role rules), then checks its nonce. Only a customer (a tenant principal) gets a
// session; an engineer, or anyone without a role, gets a 403 page and no session.
//
// # Sessions
//
// A session is a random 256-bit ID in a cookie (HttpOnly, SameSite=Lax, Secure unless the console
// is served over http on a loopback address, __Host- prefixed when Secure); what it stands for
// (the principal, the CSRF token, the expiry, a notice for the next page) is held in this process's
// memory. Held, not signed into the cookie: signing out, or the end of the ID token's lifetime,
// ends the session on the server, so a copied cookie is worth nothing after either; there is no
// signing key to provision, share or rotate; and the ID token never leaves the server. The price:
// a restart signs everyone out, and one process serves the console (lambdas/api, many instances,
// would need a shared store behind the same interface first). A session lasts as long as its ID
// token, at most MaxSessionLifetime; a new sign-in always gets a new ID.
//
// # Forgery
//
// Every POST carries the session's CSRF token (256 random bits, made with the session) in a hidden
// field, compared in constant time; a request whose Origin is not the console's, or whose
// Sec-Fetch-Site is not same-origin, is refused as well. A refusal is a 403 page, changes nothing,
// and is recorded in the broker's audit log (REFUSED, under the signed-in principal). Every
// response carries a strict Content-Security-Policy (the console's own script and styles only, no
// inline ones, forms only to the console, no framing) and the other security headers (securityHeaders).
package console
