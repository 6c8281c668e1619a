package handlers

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// registerSecrets registers the API secrets routes (admins only).
func (s *Server) registerSecrets() {
	s.handle(fiber.MethodGet, "/secrets", models.PermAdmin, s.handleSecretIndex)
	s.handle(fiber.MethodGet, "/secrets/new", models.PermAdmin, s.handleSecretNew)
	s.handle(fiber.MethodPost, "/secrets", models.PermAdmin, s.handleSecretCreate)
	s.handle(fiber.MethodGet, "/secrets/:id/created", models.PermAdmin, s.handleSecretCreated)
	s.handle(fiber.MethodGet, "/secrets/:id/revoke", models.PermAdmin, s.handleSecretRevokeConfirm)
	s.handle(fiber.MethodPost, "/secrets/:id/revoke", models.PermAdmin, s.handleSecretRevoke)
}

type secretForm struct {
	Name string `form:"name" validate:"required,max=200"`
}

type secretFormPage struct {
	Page
	Form   secretForm
	Errors map[string]string
}

type secretIndexPage struct {
	Page
	Secrets []models.APISecret
	Next    string
	Cursor  string
}

// secretCreatedPage shows a new secret's raw value, the one time it is ever
// shown; Raw is "" when it was shown already.
type secretCreatedPage struct {
	Page
	Secret *models.APISecret
	Raw    string
	Curl   string
}

// secretFlashKind is the kind of flash that carries a new secret's raw value.
func secretFlashKind(secretID string) string { return "api-secret/" + secretID }

// handleSecretIndex handles GET /secrets.
func (s *Server) handleSecretIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	secs, next, err := s.store.FindSecrets(c.UserContext(), p)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplSecretsIndex, secretIndexPage{Page: s.page(c, "API secrets", "secrets"),
		Secrets: secs, Next: next, Cursor: p.Cursor})
}

// handleSecretNew handles GET /secrets/new.
func (s *Server) handleSecretNew(c *fiber.Ctx) error {
	return s.renderSecretForm(c, fiber.StatusOK, secretForm{}, nil)
}

func (s *Server) renderSecretForm(c *fiber.Ctx, status int, f secretForm, errs map[string]string) error {
	return s.render(c, status, tplSecretsForm, secretFormPage{Page: s.page(c, "New API secret", "secrets"), Form: f, Errors: errs})
}

// handleSecretCreate handles POST /secrets. It keeps the raw secret in a
// one-time flash of this sign-in session and redirects (post/redirect/get) to
// the page that shows it, so reloading that page creates nothing.
func (s *Server) handleSecretCreate(c *fiber.Ctx) error {
	var f secretForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	f.Name = strings.TrimSpace(f.Name)
	if err := models.Validate(f); err != nil {
		return s.renderSecretForm(c, fiber.StatusUnprocessableEntity, f, models.ErrorFields(err))
	}
	ctx := c.UserContext()
	id := operator(c).ID
	sec, raw, err := s.store.CreateSecret(ctx, f.Name, &id)
	if err != nil {
		if fields := models.ErrorFields(err); fields != nil {
			return s.renderSecretForm(c, fiber.StatusUnprocessableEntity, f, fields)
		}
		return err
	}
	flashID, err := s.store.PutFlash(ctx, c.Cookies(sessionCookie), secretFlashKind(sec.ID), []byte(raw))
	if err != nil {
		// Nobody could ever see it: do not leave it working.
		if rerr := s.store.RevokeSecret(ctx, sec.ID); rerr != nil {
			s.log.Error("revoke an API secret that could not be shown", "request_id", requestID(c), "secret_id", sec.ID, "error", rerr)
		}
		return err
	}
	return redirect(c, "/secrets/"+sec.ID+"/created?flash="+url.QueryEscape(flashID))
}

// handleSecretCreated handles GET /secrets/:id/created?flash=ID: the new
// secret's raw value, taken from this session's one-time flash (never cached).
// Once taken, the page says that it was shown already and cannot be shown again.
func (s *Server) handleSecretCreated(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sec, err := s.store.FindSecret(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	d := secretCreatedPage{Page: s.page(c, "API secret "+sec.Name, "secrets"), Secret: sec}
	raw, err := s.store.TakeFlash(ctx, c.Cookies(sessionCookie), secretFlashKind(sec.ID), c.Query("flash"))
	switch models.ErrorCode(err) {
	case "":
		d.Raw = string(raw)
		d.Curl = fmt.Sprintf("curl -H 'Authorization: Bearer %s' %s/api/v1/bot/list", d.Raw, c.BaseURL())
	case models.CodeNotFound:
		// Shown already (or expired, or another browser's): say so.
	default:
		return err
	}
	c.Set(fiber.HeaderPragma, "no-cache") // render sets Cache-Control: no-store
	return s.render(c, fiber.StatusOK, tplSecretsCreated, d)
}

// handleSecretRevokeConfirm handles GET /secrets/:id/revoke.
func (s *Server) handleSecretRevokeConfirm(c *fiber.Ctx) error {
	sec, err := s.store.FindSecret(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if sec.RevokedAt != nil {
		setFlash(c, fmt.Sprintf("API secret %q is already revoked.", sec.Name))
		return redirect(c, "/secrets")
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Revoke "+sec.Name, "secrets"), Heading: fmt.Sprintf("Revoke API secret %q?", sec.Name),
		Body: []string{"Every app using it (" + sec.Prefix + "…) is refused from now on, and so is every session token it created. This cannot be undone.",
			"To replace it, create a new secret first and switch the apps over."},
		Action: "/secrets/" + sec.ID + "/revoke", Button: "Revoke secret", Cancel: "/secrets",
	})
}

// handleSecretRevoke handles POST /secrets/:id/revoke.
func (s *Server) handleSecretRevoke(c *fiber.Ctx) error {
	sec, err := s.store.FindSecret(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.RevokeSecret(c.UserContext(), sec.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("API secret %q revoked. The session tokens it created are revoked too.", sec.Name))
	return redirect(c, "/secrets")
}
