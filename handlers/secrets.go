package handlers

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// registerSecrets registers the API secrets routes (admins only).
func (s *Server) registerSecrets() {
	s.handle(fiber.MethodGet, "/secrets", models.PermAdmin, s.handleSecretIndex)
	s.handle(fiber.MethodGet, "/secrets/new", models.PermAdmin, s.handleSecretNew)
	s.handle(fiber.MethodPost, "/secrets", models.PermAdmin, s.handleSecretCreate)
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

// secretCreatedPage shows a new secret's raw value: the one time it is ever shown.
type secretCreatedPage struct {
	Page
	Secret *models.APISecret
	Raw    string
	Curl   string
}

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

// handleSecretCreate handles POST /secrets. It renders the raw secret directly
// (no redirect, not cached), so it is shown once and never stored anywhere.
func (s *Server) handleSecretCreate(c *fiber.Ctx) error {
	var f secretForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	f.Name = strings.TrimSpace(f.Name)
	err := models.Validate(f)
	if err == nil {
		id := operator(c).ID
		sec, raw, cerr := s.store.CreateSecret(c.UserContext(), f.Name, &id)
		if cerr == nil {
			c.Set(fiber.HeaderPragma, "no-cache") // render sets Cache-Control: no-store
			curl := fmt.Sprintf("curl -H 'Authorization: Bearer %s' %s/api/v1/bot/list", raw, c.BaseURL())
			return s.render(c, fiber.StatusCreated, tplSecretsCreated, secretCreatedPage{
				Page: s.page(c, "API secret created", "secrets"), Secret: sec, Raw: raw, Curl: curl})
		}
		err = cerr
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderSecretForm(c, fiber.StatusUnprocessableEntity, f, fields)
	}
	return err
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
