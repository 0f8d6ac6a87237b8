package localop

import (
	"context"
	"html/template"
	"net/http"
)

// loginPath is the sign-in form: the authorization endpoint redirects a browser here with
// ?authRequestID=<id>; the form posts back here.
//
// The POST is the documented way for a program to sign in without a person (Login does it):
//
//	POST /login  (application/x-www-form-urlencoded)
//	authRequestID=<id>&username=<username>&password=<password, or empty for a user without one>
//
// It answers 302 to the authorization callback, which redirects to the client's redirect_uri with
// the code; or 401 with the form again.
const loginPath = "/login"

type login struct {
	storage  *storage
	callback func(context.Context, string) string
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in (local)</title></head>
<body><main>
<h1>Sign in</h1>
<p>Local OpenID Provider, for development only.</p>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="authRequestID" value="{{.ID}}">
<label>Username <input name="username" autocomplete="username" autofocus required></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form>
</main></body></html>
`))

func (l *login) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	switch r.Method {
	case http.MethodGet:
		l.render(w, http.StatusOK, r.URL.Query().Get("authRequestID"), "")
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		id := r.PostForm.Get("authRequestID")
		if err := l.storage.checkLogin(id, r.PostForm.Get("username"), r.PostForm.Get("password")); err != nil {
			l.render(w, http.StatusUnauthorized, id, err.Error())
			return
		}
		http.Redirect(w, r, l.callback(r.Context(), id), http.StatusFound)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (l *login) render(w http.ResponseWriter, status int, id, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, struct{ ID, Error string }{id, msg})
}
