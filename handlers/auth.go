package handlers

import (
	"crypto/subtle"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"parley/models"
	"parley/models/store"
)

// Cookie names.
const (
	sessionCookie = "parley_session"
	csrfCookie    = "parley_csrf"
	flashCookie   = "parley_flash"
)

// Locals keys.
const (
	localSession = "parley.session"
	localCSRF    = "parley.csrf"
)

// loadSession attaches the signed-in operator's session, if any (and makes
// the operator the actor of the request's store writes), and makes sure
// anonymous visitors have a CSRF cookie for the sign-in and setup forms.
func (s *Server) loadSession(c *fiber.Ctx) error {
	if tok := c.Cookies(sessionCookie); tok != "" {
		sess, err := s.store.FindSession(c.UserContext(), tok)
		switch models.ErrorCode(err) {
		case "":
			c.Locals(localSession, sess)
			c.Locals(localCSRF, sess.CSRFToken)
			op := &sess.Operator
			c.SetUserContext(store.WithActor(c.UserContext(), models.Actor{Kind: models.ActorOperator, ID: op.ID, Name: op.DisplayName()}))
			return c.Next()
		case models.CodeUnauthorized:
			s.clearCookie(c, sessionCookie)
		default:
			return err
		}
	}
	tok := c.Cookies(csrfCookie)
	if len(tok) != 43 {
		tok = models.NewToken("")
		s.setCookie(c, csrfCookie, tok, 0)
	}
	c.Locals(localCSRF, tok)
	return c.Next()
}

// operator returns the signed-in operator, or nil.
func operator(c *fiber.Ctx) *models.Operator {
	if sess, ok := c.Locals(localSession).(*models.OperatorSession); ok {
		return &sess.Operator
	}
	return nil
}

func csrfToken(c *fiber.Ctx) string {
	v, _ := c.Locals(localCSRF).(string)
	return v
}

// requireSetup sends everyone to the setup page until the first admin exists.
func (s *Server) requireSetup(c *fiber.Ctx) error {
	if s.setupDone.Load() {
		return c.Next()
	}
	needed, err := s.store.SetupNeeded(c.UserContext())
	if err != nil {
		return err
	}
	if !needed {
		s.setupDone.Store(true)
		return c.Next()
	}
	return redirect(c, "/setup")
}

// checkCSRF rejects state-changing requests whose token (the form field
// _csrf of a form body, or the header X-CSRF-Token — never the query string,
// which leaks through logs and Referer) does not match the session's (or the
// anonymous cookie's). As a second line, a request whose Origin (or, without
// one, Referer) names another site is refused.
func (s *Server) checkCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	bad := models.Errorf(models.CodeForbidden, "This form has expired or did not come from Parley. Reload the page and try again.")
	if !sameOrigin(c) {
		return bad
	}
	want := csrfToken(c)
	got := c.Get("X-CSRF-Token")
	if got == "" {
		got = formToken(c)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return bad
	}
	return c.Next()
}

// formToken reads _csrf from a urlencoded or multipart form body only.
func formToken(c *fiber.Ctx) string {
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	switch {
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		return string(c.Request().PostArgs().Peek("_csrf"))
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		if f, err := c.MultipartForm(); err == nil {
			if v := f.Value["_csrf"]; len(v) > 0 {
				return v[0]
			}
		}
	}
	return ""
}

// sameOrigin reports whether a state-changing request comes from this site,
// going by Origin, or Referer when there is no Origin. Requests with neither
// (some privacy tools strip both) rely on the token alone; "null" is refused.
func sameOrigin(c *fiber.Ctx) bool {
	from := c.Get(fiber.HeaderOrigin)
	if from == "" {
		from = c.Get(fiber.HeaderReferer)
		if from == "" {
			return true
		}
	}
	u, err := url.Parse(from)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, c.Hostname())
}

// requireOperator lets through signed-in operators whose role grants perm.
// Strangers are sent to sign in; others get 403.
func (s *Server) requireOperator(perm models.Permission) fiber.Handler {
	return func(c *fiber.Ctx) error {
		op := operator(c)
		if op == nil {
			next := c.OriginalURL()
			if c.Method() != fiber.MethodGet {
				next = "/"
			}
			return redirect(c, "/login?next="+url.QueryEscape(next))
		}
		if perm != "" && !op.Can(perm) {
			return models.Errorf(models.CodeForbidden, "Your role (%s) does not allow this.", op.Role)
		}
		return c.Next()
	}
}

// redirect answers 303 See Other, or, for htmx requests, asks htmx to navigate.
func redirect(c *fiber.Ctx, to string) error {
	if c.Get("HX-Request") == "true" {
		c.Set("HX-Redirect", to)
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

func (s *Server) secure(c *fiber.Ctx) bool {
	switch s.cfg.SecureCookies {
	case "always":
		return true
	case "never":
		return false
	}
	return c.Protocol() == "https"
}

func (s *Server) setCookie(c *fiber.Ctx, name, value string, maxAge time.Duration) {
	ck := &fiber.Cookie{Name: name, Value: value, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: s.secure(c)}
	if maxAge > 0 {
		ck.MaxAge = int(maxAge.Seconds())
	}
	c.Cookie(ck)
}

func (s *Server) clearCookie(c *fiber.Ctx, name string) {
	c.Cookie(&fiber.Cookie{Name: name, Value: "", Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: s.secure(c), MaxAge: -1, Expires: time.Unix(1, 0)})
}

// safeNext keeps post-login redirects on this site: next must be an
// absolute path of this origin — starting with one "/", with no scheme, host
// or user, and no control characters, whitespace or backslashes anywhere
// (browsers drop TAB, CR and LF and read "\\" as "/", so "/\t/evil" and
// "/\\evil" would leave the site). Anything else goes home.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || len(next) > 2000 {
		return "/"
	}
	if unsafeChars(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	// A path that unescapes to another origin's ("/%2F%2Fevil", "/%09/evil") is refused too.
	if p, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.HasPrefix(p, "//") || unsafeChars(p) {
		return "/"
	}
	return u.RequestURI() + fragment(u)
}

// unsafeChars reports control characters, whitespace, backslashes and
// invisible format characters (zero-width, bidi), which browsers drop or
// reinterpret in a URL, or which hide what a link says.
func unsafeChars(s string) bool {
	for _, r := range s {
		if r <= 0x20 || r == 0x7f || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return true
		}
	}
	return false
}

// fragment is a URL's fragment with its "#", or "".
func fragment(u *url.URL) string {
	if u.Fragment == "" {
		return ""
	}
	return "#" + u.EscapedFragment()
}

type loginForm struct {
	Email    string `form:"email" validate:"required,max=254"`
	Password string `form:"password" validate:"required,max=200"`
	Next     string `form:"next"`
}

type loginPage struct {
	Page
	Form   loginForm
	Errors map[string]string
}

// handleLoginForm handles GET /login.
func (s *Server) handleLoginForm(c *fiber.Ctx) error {
	if operator(c) != nil {
		return redirect(c, safeNext(c.Query("next")))
	}
	return s.render(c, fiber.StatusOK, tplLogin, loginPage{Page: s.page(c, "Sign in", ""), Form: loginForm{Next: c.Query("next")}})
}

// handleLogin handles POST /login.
func (s *Server) handleLogin(c *fiber.Ctx) error {
	var f loginForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	f.Email = strings.TrimSpace(f.Email)
	show := func(status int, err error) error {
		f.Password = ""
		fields := models.ErrorFields(err)
		if fields == nil {
			fields = map[string]string{"form": models.ErrorMessage(err)}
		}
		return s.render(c, status, tplLogin, loginPage{Page: s.page(c, "Sign in", ""), Form: f, Errors: fields})
	}
	if err := models.Validate(f); err != nil {
		return show(fiber.StatusUnprocessableEntity, err)
	}
	ctx := c.UserContext()
	// The attempt is counted before the password is checked, so parallel
	// guesses cannot all pass the limit.
	ok, wait, err := s.store.ReserveLogin(ctx, f.Email, c.IP())
	if err != nil {
		return err
	}
	if !ok {
		mins := int(wait.Minutes()) + 1
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(wait.Seconds())+1))
		return show(fiber.StatusTooManyRequests, models.Errorf(models.CodeTooManyRequests,
			"Too many failed sign-in attempts. Try again in %d minute(s).", mins))
	}
	op, err := s.store.Authenticate(ctx, f.Email, f.Password)
	if err != nil {
		if models.ErrorCode(err) == models.CodeUnauthorized {
			return show(fiber.StatusUnauthorized, err) // the attempt stays counted
		}
		return err
	}
	if err := s.store.LoginSucceeded(ctx, f.Email); err != nil {
		return err
	}
	if err := s.signIn(c, op.ID); err != nil {
		return err
	}
	return redirect(c, safeNext(f.Next))
}

// signIn starts a new session (a fresh token and CSRF token: no fixation).
func (s *Server) signIn(c *fiber.Ctx, operatorID string) error {
	if old := c.Cookies(sessionCookie); old != "" {
		_ = s.store.DeleteSession(c.UserContext(), old)
	}
	tok, _, err := s.store.CreateSession(c.UserContext(), operatorID, c.IP(), string(c.Request().Header.UserAgent()))
	if err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, tok, 0)
	return nil
}

// handleLogout handles POST /logout.
func (s *Server) handleLogout(c *fiber.Ctx) error {
	if err := s.store.DeleteSession(c.UserContext(), c.Cookies(sessionCookie)); err != nil {
		return err
	}
	s.clearCookie(c, sessionCookie)
	setFlash(c, "You are signed out.")
	return redirect(c, "/login")
}

type setupForm struct {
	Email           string `form:"email" validate:"required,max=254,email"`
	Name            string `form:"name" validate:"max=200"`
	Password        string `form:"password" validate:"required,min=10,max=72"`
	PasswordConfirm string `form:"password_confirm" validate:"required,eqfield=Password"`
}

type setupPage struct {
	Page
	Form   setupForm
	Errors map[string]string
}

// handleSetupForm handles GET /setup: the one-time page that creates the first admin.
func (s *Server) handleSetupForm(c *fiber.Ctx) error {
	needed, err := s.store.SetupNeeded(c.UserContext())
	if err != nil {
		return err
	}
	if !needed {
		return redirect(c, "/login")
	}
	return s.render(c, fiber.StatusOK, tplSetup, setupPage{Page: s.page(c, "Set up Parley", "")})
}

// handleSetup handles POST /setup.
func (s *Server) handleSetup(c *fiber.Ctx) error {
	var f setupForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	if err := models.Validate(f); err != nil {
		f.Password, f.PasswordConfirm = "", ""
		return s.render(c, fiber.StatusUnprocessableEntity, tplSetup, setupPage{Page: s.page(c, "Set up Parley", ""), Form: f, Errors: models.ErrorFields(err)})
	}
	op, err := s.store.CreateFirstAdmin(c.UserContext(), f.Email, f.Name, f.Password)
	if err != nil {
		if fields := models.ErrorFields(err); fields != nil {
			f.Password, f.PasswordConfirm = "", ""
			return s.render(c, fiber.StatusUnprocessableEntity, tplSetup, setupPage{Page: s.page(c, "Set up Parley", ""), Form: f, Errors: fields})
		}
		return err
	}
	s.setupDone.Store(true)
	if err := s.signIn(c, op.ID); err != nil {
		return err
	}
	if err := s.store.RecordSignIn(c.UserContext(), op.ID); err != nil {
		return err
	}
	setFlash(c, "Welcome to Parley! Your admin account is ready.")
	return redirect(c, "/")
}
