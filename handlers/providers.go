package handlers

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/gofiber/fiber/v2"

	"parley/app/provider"
	"parley/app/providers"
	"parley/models"
	"parley/models/store"
)

// Templates of the Providers pages and the vault of secrets for abilities.
// The "Test connection" fragment is defined in pages/providers/test.html.
const (
	tplProvidersIndex  = "pages/providers/index"
	tplProvidersForm   = "pages/providers/form"
	tplProvidersDelete = "pages/providers/delete"
	tplProviderTest    = "partials/provider_test"
	tplVaultIndex      = "pages/providers/vault_index"
	tplVaultForm       = "pages/providers/vault_form"
)

// maxTestModels bounds the model names a connection test lists.
const maxTestModels = 100

// registerProviders registers the Providers and vault routes (admins only).
func (s *Server) registerProviders() {
	s.handle(fiber.MethodGet, "/providers", models.PermAdmin, s.handleProviderIndex)
	s.handle(fiber.MethodGet, "/providers/new", models.PermAdmin, s.handleProviderNew)
	s.handle(fiber.MethodPost, "/providers", models.PermAdmin, s.handleProviderCreate)
	s.handle(fiber.MethodPost, "/providers/test", models.PermAdmin, s.handleProviderTryForm) // before /providers/:id
	s.handle(fiber.MethodGet, "/providers/:id/edit", models.PermAdmin, s.handleProviderEdit)
	s.handle(fiber.MethodPost, "/providers/:id", models.PermAdmin, s.handleProviderUpdate)
	s.handle(fiber.MethodGet, "/providers/:id/delete", models.PermAdmin, s.handleProviderDeleteConfirm)
	s.handle(fiber.MethodPost, "/providers/:id/delete", models.PermAdmin, s.handleProviderDelete)
	s.handle(fiber.MethodPost, "/providers/:id/test", models.PermAdmin, s.handleProviderTest)

	s.handle(fiber.MethodGet, "/vault", models.PermAdmin, s.handleVaultIndex)
	s.handle(fiber.MethodGet, "/vault/new", models.PermAdmin, s.handleVaultNew)
	s.handle(fiber.MethodPost, "/vault", models.PermAdmin, s.handleVaultCreate)
	s.handle(fiber.MethodGet, "/vault/:id/edit", models.PermAdmin, s.handleVaultEdit)
	s.handle(fiber.MethodPost, "/vault/:id", models.PermAdmin, s.handleVaultUpdate)
	s.handle(fiber.MethodGet, "/vault/:id/delete", models.PermAdmin, s.handleVaultDeleteConfirm)
	s.handle(fiber.MethodPost, "/vault/:id/delete", models.PermAdmin, s.handleVaultDelete)
}

// providerForm is the body of the new and edit provider forms. APIKey is
// never rendered back: blank keeps the stored key when editing. APIKeyRef
// refers to the key typed into a submission that failed validation, kept in a
// one-time flash of the session, so that blank can mean "that key" on the
// next submission.
type providerForm struct {
	Name           string `form:"name"`
	Kind           string `form:"kind"`
	BaseURL        string `form:"baseUrl"`
	APIKey         string `form:"apiKey"`
	APIKeyRef      string `form:"apiKeyRef"`
	RemoveKey      bool   `form:"removeKey"`
	DefaultModel   string `form:"defaultModel"`
	TimeoutSeconds string `form:"timeoutSeconds"`
}

// provider is the model the form describes (ID and key aside).
func (f providerForm) provider() models.Provider {
	n, err := strconv.Atoi(strings.TrimSpace(f.TimeoutSeconds))
	if err != nil {
		n = 0 // reported as out of range, next to the field
	}
	return models.Provider{Name: f.Name, Kind: f.Kind, BaseURL: f.BaseURL, DefaultModel: f.DefaultModel, TimeoutSeconds: n}
}

func providerFormOf(p *models.Provider) providerForm {
	return providerForm{Name: p.Name, Kind: p.Kind, BaseURL: p.BaseURL, DefaultModel: p.DefaultModel,
		TimeoutSeconds: strconv.Itoa(p.TimeoutSeconds)}
}

type providerFormPage struct {
	Page
	Form   providerForm
	Errors map[string]string
	Action string
	Edited *models.Provider // nil on the new form
	Kinds  []string
	Test   *providerTest // a connection test's result (without JavaScript)
}

type providerIndexPage struct {
	Page
	Providers []models.Provider
	Next      string
	Cursor    string
}

type providerDeletePage struct {
	Page
	Provider *models.Provider
	Bots     []models.BotRef
}

// providerTest is a "Test connection" result: the models the endpoint
// serves, or why it could not be reached.
type providerTest struct {
	Provider *models.Provider
	Models   []string
	More     int    // models not listed
	Error    string // in plain words, fit for the user; never the key
	// Detail is the technical message behind Error, shown on demand.
	Detail string
	// Unsaved: the test used the values typed into the form, not the saved ones.
	Unsaved bool
	// NoKeyNote says the test ran without a key that is kept but cannot be reused.
	NoKeyNote bool
	// DefaultMissing: the endpoint does not list the provider's default model.
	DefaultMissing bool
}

// handleProviderIndex handles GET /providers.
func (s *Server) handleProviderIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	list, next, err := s.store.FindProviders(c.UserContext(), p)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplProvidersIndex, providerIndexPage{Page: s.page(c, "Providers", "providers"),
		Providers: list, Next: next, Cursor: p.Cursor})
}

// handleProviderNew handles GET /providers/new.
func (s *Server) handleProviderNew(c *fiber.Ctx) error {
	f := providerForm{Kind: models.ProviderKindOpenAI, TimeoutSeconds: strconv.Itoa(models.DefaultProviderTimeout)}
	return s.renderProviderForm(c, fiber.StatusOK, nil, f, nil, nil)
}

// renderProviderForm renders the new (p nil) or edit form. The API key typed
// is never sent back, not even after a validation error: f.APIKeyRef, when
// set, refers to it kept server-side (keepProviderKey).
func (s *Server) renderProviderForm(c *fiber.Ctx, status int, p *models.Provider, f providerForm, errs map[string]string, test *providerTest) error {
	f.APIKey = ""
	d := providerFormPage{Form: f, Errors: errs, Action: "/providers", Edited: p, Kinds: models.ProviderKinds, Test: test}
	title := "New provider"
	if p != nil {
		title, d.Action = "Provider "+p.Name, "/providers/"+p.ID
	}
	d.Page = s.page(c, title, "providers")
	return s.render(c, status, tplProvidersForm, d)
}

// providerFormError re-renders the form for errors the admin can fix there:
// field errors (422), and encryption not being set up (503). key is the API
// key the submission carried (typed or kept): unless the error is about the
// key itself, it is kept for the next submission.
func (s *Server) providerFormError(c *fiber.Ctx, p *models.Provider, f providerForm, key string, err error) error {
	fields := models.ErrorFields(err)
	status := fiber.StatusUnprocessableEntity
	switch {
	case fields != nil:
	case models.ErrorCode(err) == models.CodeUnavailable:
		fields, status = map[string]string{"form": models.ErrorMessage(err)}, fiber.StatusServiceUnavailable
	default:
		return err
	}
	f.APIKeyRef = ""
	// A key refused for what it is (spaces, length) must be typed again; the
	// only other error on the field, asking to remove the key and give one at
	// once, is not about its value.
	if _, bad := fields["apiKey"]; !bad || f.RemoveKey {
		if err := s.keepProviderKey(c, p, &f, key); err != nil {
			return err
		}
	}
	return s.renderProviderForm(c, status, p, f, fields, nil)
}

// providerKeyKind is the kind of flash that keeps a provider form's API key:
// one per form, so a key kept for one provider is not used for another.
func providerKeyKind(p *models.Provider) string {
	if p == nil {
		return "provider-key/new"
	}
	return "provider-key/" + p.ID
}

// keepProviderKey keeps a typed key in a one-time flash of this session and
// sets the form's reference to it (nothing when key is blank).
func (s *Server) keepProviderKey(c *fiber.Ctx, p *models.Provider, f *providerForm, key string) error {
	if strings.TrimSpace(key) == "" {
		return nil
	}
	id, err := s.store.PutFlash(c.UserContext(), c.Cookies(sessionCookie), providerKeyKind(p), []byte(key))
	if err != nil {
		return err
	}
	f.APIKeyRef = id
	return nil
}

// submittedKey is the API key a provider form submission carries: the one
// typed, or else the one kept from the previous submission (taken: a kept key
// serves once). A kept key that is gone (expired) is an error next to the
// field, so the provider is never saved without the key the admin typed.
func (s *Server) submittedKey(c *fiber.Ctx, p *models.Provider, f providerForm) (string, error) {
	if f.APIKeyRef == "" {
		return f.APIKey, nil
	}
	kept, err := s.store.TakeFlash(c.UserContext(), c.Cookies(sessionCookie), providerKeyKind(p), f.APIKeyRef)
	switch {
	case strings.TrimSpace(f.APIKey) != "":
		return f.APIKey, nil // typed again: it replaces the kept one (now deleted)
	case models.ErrorCode(err) == models.CodeNotFound:
		return "", models.FieldError("apiKey", fmt.Sprintf("The API key you typed before is no longer kept (it is kept for %d minutes, once): type it again.", int(store.FlashTTL.Minutes())))
	case err != nil:
		return "", err
	}
	return string(kept), nil
}

// handleProviderCreate handles POST /providers. After a validation error the
// key typed is kept server-side and used when the form comes back with the
// key field blank.
func (s *Server) handleProviderCreate(c *fiber.Ctx) error {
	var f providerForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	key, err := s.submittedKey(c, nil, f)
	if err != nil {
		return s.providerFormError(c, nil, f, "", err)
	}
	p, err := s.store.CreateProvider(c.UserContext(), f.provider(), key)
	if err != nil {
		return s.providerFormError(c, nil, f, key, err)
	}
	setFlash(c, fmt.Sprintf("Provider %q created. Bots use it with the model %s. Test the connection below.", p.Name, p.Model(modelHint(p))))
	return redirect(c, "/providers/"+p.ID+"/edit")
}

// modelHint is the model to show in examples: the default, or a placeholder.
func modelHint(p *models.Provider) string {
	if p.DefaultModel != "" {
		return p.DefaultModel
	}
	return "MODEL"
}

// handleProviderEdit handles GET /providers/:id/edit.
func (s *Server) handleProviderEdit(c *fiber.Ctx) error {
	p, err := s.store.FindProvider(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.renderProviderForm(c, fiber.StatusOK, p, providerFormOf(p), nil, nil)
}

// handleProviderUpdate handles POST /providers/:id. A blank API key keeps the
// stored one (or, after a validation error, the one typed then, kept
// server-side); "Remove key" deletes it.
func (s *Server) handleProviderUpdate(c *fiber.Ctx) error {
	ctx := c.UserContext()
	cur, err := s.store.FindProvider(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	var f providerForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	typed, err := s.submittedKey(c, cur, f)
	if err != nil {
		return s.providerFormError(c, cur, f, "", err)
	}
	var newKey *string
	switch key := strings.TrimSpace(typed); {
	case f.RemoveKey && key != "":
		return s.providerFormError(c, cur, f, typed, models.FieldError("apiKey", "Enter a new key or remove the key, not both."))
	case f.RemoveKey:
		newKey = &key
	case key != "":
		newKey = &typed
	}
	in := f.provider()
	in.ID = cur.ID
	p, err := s.store.UpdateProvider(ctx, in, newKey)
	if err != nil {
		return s.providerFormError(c, cur, f, typed, err)
	}
	setFlash(c, fmt.Sprintf("Provider %q saved.", p.Name))
	return redirect(c, "/providers")
}

// handleProviderDeleteConfirm handles GET /providers/:id/delete: a
// confirmation, or, while bots use the provider, the bots to change first.
func (s *Server) handleProviderDeleteConfirm(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := s.store.FindProvider(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	bots, err := s.store.BotsUsingProvider(ctx, p.Name)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplProvidersDelete, providerDeletePage{
		Page: s.page(c, "Delete "+p.Name, "providers"), Provider: p, Bots: bots})
}

// handleProviderDelete handles POST /providers/:id/delete; the store refuses
// while a bot's model names the provider.
func (s *Server) handleProviderDelete(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := s.store.FindProvider(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteProvider(ctx, p.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Provider %q deleted; its API key is gone with it.", p.Name))
	return redirect(c, "/providers")
}

// handleProviderTest handles POST /providers/:id/test: it lists the models the
// endpoint serves, with the stored key, within 10 seconds. htmx swaps the
// result into the edit page; without JavaScript the edit page is rendered
// with it. A failed test is a result, not an error: it answers 200.
func (s *Server) handleProviderTest(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := s.store.FindProvider(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	res, err := s.testProvider(ctx, p)
	if err != nil {
		return err
	}
	if c.Get("HX-Request") == "true" {
		return s.render(c, fiber.StatusOK, tplProviderTest, res)
	}
	return s.renderProviderForm(c, fiber.StatusOK, p, providerFormOf(p), nil, res)
}

// testProvider runs a connection test; only failures the admin cannot act on
// (the database, say) are returned as errors.
func (s *Server) testProvider(ctx context.Context, p *models.Provider) (*providerTest, error) {
	list, err := s.opts.Providers.Models(ctx, p.ID)
	return testResult(p, list, err)
}

// testResult turns a model listing's outcome into what the page shows; only
// failures the admin cannot act on (the database, say) are returned as errors.
func testResult(p *models.Provider, list []string, err error) (*providerTest, error) {
	res := &providerTest{Provider: p}
	var pe *provider.Error
	switch {
	case err == nil:
	case errors.As(err, &pe):
		res.Error, res.Detail = plainProblem(p, pe)
		return res, nil
	case models.ErrorCode(err) == models.CodeUnavailable:
		res.Error = models.ErrorMessage(err)
		return res, nil
	default:
		return nil, err
	}
	res.DefaultMissing = p.DefaultModel != "" && !slices.Contains(list, p.DefaultModel)
	if len(list) > maxTestModels {
		res.More = len(list) - maxTestModels
		list = list[:maxTestModels]
	}
	res.Models = list
	return res, nil
}

// vaultForm is the body of the new and edit vault secret forms. Value is
// never rendered back: blank keeps the stored value when editing.
type vaultForm struct {
	Name        string `form:"name"`
	Value       string `form:"value"`
	Description string `form:"description"`
}

type vaultFormPage struct {
	Page
	Form   vaultForm
	Errors map[string]string
	Action string
	Edited *models.VaultSecret // nil on the new form
}

type vaultIndexPage struct {
	Page
	Secrets []models.VaultSecret
	Next    string
	Cursor  string
}

// handleVaultIndex handles GET /vault.
func (s *Server) handleVaultIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	list, next, err := s.store.FindVaultSecrets(c.UserContext(), p)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplVaultIndex, vaultIndexPage{Page: s.page(c, "Vault", "providers"),
		Secrets: list, Next: next, Cursor: p.Cursor})
}

// handleVaultNew handles GET /vault/new.
func (s *Server) handleVaultNew(c *fiber.Ctx) error {
	return s.renderVaultForm(c, fiber.StatusOK, nil, vaultForm{}, nil)
}

// renderVaultForm renders the new (v nil) or edit form, never with the value.
func (s *Server) renderVaultForm(c *fiber.Ctx, status int, v *models.VaultSecret, f vaultForm, errs map[string]string) error {
	f.Value = ""
	d := vaultFormPage{Form: f, Errors: errs, Action: "/vault", Edited: v}
	title := "New vault secret"
	if v != nil {
		title, d.Action = "Vault secret "+v.Name, "/vault/"+v.ID
	}
	d.Page = s.page(c, title, "providers")
	return s.render(c, status, tplVaultForm, d)
}

func (s *Server) vaultFormError(c *fiber.Ctx, v *models.VaultSecret, f vaultForm, err error) error {
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderVaultForm(c, fiber.StatusUnprocessableEntity, v, f, fields)
	}
	if models.ErrorCode(err) == models.CodeUnavailable {
		return s.renderVaultForm(c, fiber.StatusServiceUnavailable, v, f, map[string]string{"form": models.ErrorMessage(err)})
	}
	return err
}

// handleVaultCreate handles POST /vault.
func (s *Server) handleVaultCreate(c *fiber.Ctx) error {
	var f vaultForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	v, err := s.store.CreateVaultSecret(c.UserContext(), models.VaultSecret{Name: f.Name, Description: f.Description}, f.Value)
	if err != nil {
		return s.vaultFormError(c, nil, f, err)
	}
	setFlash(c, fmt.Sprintf("Secret %s saved. Fetch abilities use it in a header as %s.", v.Name, v.Reference()))
	return redirect(c, "/vault")
}

// handleVaultEdit handles GET /vault/:id/edit.
func (s *Server) handleVaultEdit(c *fiber.Ctx) error {
	v, err := s.store.FindVaultSecret(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.renderVaultForm(c, fiber.StatusOK, v, vaultForm{Name: v.Name, Description: v.Description}, nil)
}

// handleVaultUpdate handles POST /vault/:id; a blank value keeps the stored one.
func (s *Server) handleVaultUpdate(c *fiber.Ctx) error {
	ctx := c.UserContext()
	cur, err := s.store.FindVaultSecret(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	var f vaultForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	var newValue *string
	if strings.TrimSpace(f.Value) != "" {
		newValue = &f.Value
	}
	v, err := s.store.UpdateVaultSecret(ctx, models.VaultSecret{ID: cur.ID, Name: f.Name, Description: f.Description}, newValue)
	if err != nil {
		return s.vaultFormError(c, cur, f, err)
	}
	setFlash(c, fmt.Sprintf("Secret %s saved.", v.Name))
	return redirect(c, "/vault")
}

// handleVaultDeleteConfirm handles GET /vault/:id/delete.
func (s *Server) handleVaultDeleteConfirm(c *fiber.Ctx) error {
	v, err := s.store.FindVaultSecret(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Delete "+v.Name, "providers"), Heading: fmt.Sprintf("Delete the secret %s?", v.Name),
		Body:   []string{"Abilities whose headers use " + v.Reference() + " fail with a clear error until a secret of that name exists again. This cannot be undone."},
		Action: "/vault/" + v.ID + "/delete", Button: "Delete secret", Cancel: "/vault/" + v.ID + "/edit",
	})
}

// handleVaultDelete handles POST /vault/:id/delete.
func (s *Server) handleVaultDelete(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v, err := s.store.FindVaultSecret(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteVaultSecret(ctx, v.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Secret %s deleted.", v.Name))
	return redirect(c, "/vault")
}

// plainProblem says in plain words why a provider could not be reached or
// refused, with the technical message as the detail.
func plainProblem(p *models.Provider, pe *provider.Error) (plain, detail string) {
	detail = pe.Message
	host := p.BaseURL
	if u, err := url.Parse(p.BaseURL); err == nil && u.Host != "" {
		host = u.Host
	}
	var (
		dns  *net.DNSError
		cert *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(pe, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing is listening on %s — is the server running, and is the port right?", host), detail
	case errors.As(pe, &dns):
		return fmt.Sprintf("the name %s does not resolve: check the spelling of the base URL", dns.Name), detail
	case errors.As(pe, &cert):
		return fmt.Sprintf("%s's TLS certificate is not trusted", host), detail
	case errors.Is(pe, context.DeadlineExceeded):
		return fmt.Sprintf("%s did not answer within %d seconds: is the address right and the server up?", host, int(providers.TestTimeout.Seconds())), detail
	case pe.Status == http.StatusUnauthorized || pe.Status == http.StatusForbidden:
		return fmt.Sprintf("%s refused the API key (HTTP %d): check it, or whether this endpoint needs one", host, pe.Status), detail
	case pe.Status == http.StatusNotFound:
		return fmt.Sprintf("%s has no models list at this base URL (HTTP 404): it usually ends in /v1", host), detail
	case pe.Status >= 500:
		return fmt.Sprintf("%s is failing (HTTP %d): try again later", host, pe.Status), detail
	}
	return pe.Message, ""
}

// handleProviderTryForm handles POST /providers/test: "Test connection" with
// the values typed into the new or edit form, before saving. The key is the
// one typed, else (editing) the stored one; nothing is saved. htmx swaps the
// result in; without JavaScript the form comes back with it, as typed.
func (s *Server) handleProviderTryForm(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var f providerForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	var cur *models.Provider
	if id := c.FormValue("id"); id != "" {
		p, err := s.store.FindProvider(ctx, id)
		if err != nil {
			return err
		}
		cur = p
	}
	p := f.provider()
	if p.Name == "" {
		p.Name = "provider"
	}
	if err := p.Validate(); err != nil {
		if fields := models.ErrorFields(err); fields != nil && (fields["baseUrl"] != "" || fields["kind"] != "" || fields["timeoutSeconds"] != "") {
			res := &providerTest{Provider: &p, Unsaved: true, Error: "fix the form first: " + models.ErrorMessage(err)}
			return s.renderTryResult(c, cur, f, res)
		}
	}
	key := f.APIKey
	noKeyNote := false
	switch {
	case strings.TrimSpace(key) != "":
	case cur != nil && !f.RemoveKey && cur.HasKey():
		k, err := s.store.DecryptProviderKey(cur)
		if err != nil {
			res := &providerTest{Provider: &p, Unsaved: true, Error: models.ErrorMessage(err)}
			return s.renderTryResult(c, cur, f, res)
		}
		key = k
	case f.APIKeyRef != "":
		noKeyNote = true // a kept key is for saving, once: it is not spent on a test
	}
	list, err := s.opts.Providers.Try(ctx, p, key)
	res, err := testResult(&p, list, err)
	if err != nil {
		return err
	}
	res.Unsaved, res.NoKeyNote = true, noKeyNote
	return s.renderTryResult(c, cur, f, res)
}

// renderTryResult answers a test of typed values: the result (htmx), or the
// form as typed with it.
func (s *Server) renderTryResult(c *fiber.Ctx, cur *models.Provider, f providerForm, res *providerTest) error {
	if c.Get("HX-Request") == "true" {
		return s.render(c, fiber.StatusOK, tplProviderTest, res)
	}
	return s.renderProviderForm(c, fiber.StatusOK, cur, f, nil, res)
}
