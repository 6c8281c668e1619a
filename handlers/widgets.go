package handlers

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
	"parley/models/store"
)

// Widget dashboard templates.
const (
	tplWidgetsIndex   = "pages/widgets/index"
	tplWidgetsForm    = "pages/widgets/form"
	tplWidgetsShow    = "pages/widgets/show"
	tplWidgetsCreated = "pages/widgets/created"
)

// registerWidgets registers the web chat widgets' dashboard: read by those
// who read configuration, changed by builders, previewed by those who run
// conversations.
func (s *Server) registerWidgets() {
	s.handle(fiber.MethodGet, "/widgets", models.PermConfigRead, s.handleWidgetIndex)
	s.handle(fiber.MethodGet, "/widgets/new", models.PermConfigWrite, s.handleWidgetNew)
	s.handle(fiber.MethodPost, "/widgets", models.PermConfigWrite, s.handleWidgetCreate)
	s.handle(fiber.MethodGet, "/widgets/:id", models.PermConfigRead, s.handleWidgetShow)
	s.handle(fiber.MethodGet, "/widgets/:id/created", models.PermConfigWrite, s.handleWidgetCreated)
	s.handle(fiber.MethodGet, "/widgets/:id/edit", models.PermConfigWrite, s.handleWidgetEdit)
	s.handle(fiber.MethodPost, "/widgets/:id", models.PermConfigWrite, s.handleWidgetUpdate)
	s.handle(fiber.MethodGet, "/widgets/:id/delete", models.PermConfigWrite, s.handleWidgetDeleteConfirm)
	s.handle(fiber.MethodPost, "/widgets/:id/delete", models.PermConfigWrite, s.handleWidgetDelete)
	s.handle(fiber.MethodGet, "/widgets/:id/identity-secret", models.PermConfigWrite, s.handleWidgetSecretConfirm)
	s.handle(fiber.MethodPost, "/widgets/:id/identity-secret", models.PermConfigWrite, s.handleWidgetSecretRotate)
	s.handle(fiber.MethodGet, "/widgets/:id/preview/config", models.PermConversationRun, s.handleWidgetPreviewConfig)
	s.handle(fiber.MethodPost, "/widgets/:id/preview/session", models.PermConversationRun, s.handleWidgetPreviewSession)
}

// widgetForm is the widget form as posted; sessionMinutes is the session
// duration in minutes (stored in ms, as ChatBotKit has it).
type widgetForm struct {
	Name                string `form:"name"`
	BotID               string `form:"botId"`
	Title               string `form:"title"`
	Intro               string `form:"intro"`
	Initial             string `form:"initial"`
	Placeholder         string `form:"placeholder"`
	Theme               string `form:"theme"`
	Layout              string `form:"layout"`
	Origin              string `form:"origin"`
	SessionMinutes      string `form:"sessionMinutes"`
	TokenLifetime       string `form:"tokenLifetime"`
	Language            string `form:"language"`
	Stream              bool   `form:"stream"`
	RestartConversation bool   `form:"restartConversation"`
	ExportConversation  bool   `form:"exportConversation"`
	ContactCollection   bool   `form:"contactCollection"`
	PoweredBy           bool   `form:"poweredBy"`
	RequireIdentity     bool   `form:"requireIdentity"`
}

func widgetFormOf(it *models.Integration) widgetForm {
	w := it.Widget
	f := widgetForm{Name: it.Name, Title: w.Title, Intro: w.Intro, Initial: w.Initial, Placeholder: w.Placeholder, Theme: w.Theme,
		Layout: w.Layout, Origin: w.Origin, SessionMinutes: strconv.FormatInt(it.SessionDuration/60000, 10),
		TokenLifetime: strconv.FormatInt(w.TokenLifetime, 10), Language: w.Language, Stream: w.Stream,
		RestartConversation: w.RestartConversation, ExportConversation: w.ExportConversation,
		ContactCollection: w.ContactCollection, PoweredBy: w.PoweredBy, RequireIdentity: w.RequireIdentity}
	if it.BotID != nil {
		f.BotID = *it.BotID
	}
	return f
}

// integration turns the form into the integration to save, or field errors.
func (f widgetForm) integration(it *models.Integration) map[string]string {
	errs := map[string]string{}
	it.Type, it.Name = models.IntegrationWidget, f.Name
	bot := strings.TrimSpace(f.BotID)
	it.BotID = &bot
	it.Widget = models.WidgetSettings{Title: f.Title, Intro: f.Intro, Initial: f.Initial, Placeholder: f.Placeholder, Theme: f.Theme,
		Layout: f.Layout, Origin: f.Origin, Language: f.Language, Stream: f.Stream, RestartConversation: f.RestartConversation,
		ExportConversation: f.ExportConversation, ContactCollection: f.ContactCollection, PoweredBy: f.PoweredBy, RequireIdentity: f.RequireIdentity}
	if v := strings.TrimSpace(f.SessionMinutes); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > models.MaxSessionDuration/60000 {
			errs["sessionMinutes"] = fmt.Sprintf("Session duration must be a whole number of minutes from 0 (never) to %d (a year).", models.MaxSessionDuration/60000)
		}
		it.SessionDuration = n * 60000
	} else {
		it.SessionDuration = 0
	}
	if v := strings.TrimSpace(f.TokenLifetime); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs["tokenLifetime"] = "Session token lifetime must be a whole number of seconds."
		}
		it.Widget.TokenLifetime = n
	}
	return errs
}

// widgetFormErrors maps the store's field names to the form's.
func widgetFormErrors(fields map[string]string) map[string]string {
	if msg, ok := fields["sessionDuration"]; ok {
		delete(fields, "sessionDuration")
		fields["sessionMinutes"] = msg
	}
	return fields
}

type widgetFormPage struct {
	Page
	Form   widgetForm
	Errors map[string]string
	Bots   []models.Bot
	Action string
	Widget *models.Integration
}

type widgetIndexPage struct {
	Page
	Widgets []models.Integration
	Next    string
	Cursor  string
}

// widgetShowPage is a widget with its snippet, origins, preview and conversations.
type widgetShowPage struct {
	Page
	Widget        *models.Integration
	ScriptURL     string
	Snippet       string
	InlineSnippet string
	Origins       []string
	// Check is the "check an origin" helper's input and verdict.
	Check         string
	CheckResult   string
	CheckOK       bool
	CheckError    string
	Conversations []conversationItem
	Next          string
	Cursor        string
}

type widgetCreatedPage struct {
	Page
	Widget *models.Integration
	Secret string
	Sign   string
}

func (s *Server) findWidget(c *fiber.Ctx) (*models.Integration, error) {
	it, err := s.store.FindIntegration(c.UserContext(), c.Params("id"))
	if err != nil {
		return nil, err
	}
	if it.Type != models.IntegrationWidget {
		return nil, models.Errorf(models.CodeNotFound, "There is no web chat widget with that id.")
	}
	return it, nil
}

// handleWidgetIndex handles GET /widgets.
func (s *Server) handleWidgetIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	list, next, err := s.store.FindIntegrations(c.UserContext(), models.IntegrationFilter{Page: p, Type: models.IntegrationWidget})
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplWidgetsIndex, widgetIndexPage{Page: s.page(c, "Web chat widgets", integrationNav), Widgets: list, Next: next, Cursor: p.Cursor})
}

func (s *Server) renderWidgetForm(c *fiber.Ctx, status int, it *models.Integration, f widgetForm, errs map[string]string) error {
	bots, _, err := s.store.FindBots(c.UserContext(), models.BotFilter{Page: models.Page{Limit: models.MaxPageSize}})
	if err != nil {
		return err
	}
	d := widgetFormPage{Page: s.page(c, "New web chat widget", integrationNav), Form: f, Errors: errs, Bots: bots, Action: "/widgets", Widget: it}
	if it != nil {
		d.Title, d.Action = "Edit widget "+it.Name, "/widgets/"+it.ID
	}
	return s.render(c, status, tplWidgetsForm, d)
}

// handleWidgetNew handles GET /widgets/new.
func (s *Server) handleWidgetNew(c *fiber.Ctx) error {
	return s.renderWidgetForm(c, fiber.StatusOK, nil, widgetForm{Theme: models.WidgetThemeAuto, Layout: models.WidgetLayoutBubble, Stream: true,
		RestartConversation: true, ExportConversation: true, TokenLifetime: strconv.Itoa(models.DefaultWidgetTokenLifetime), SessionMinutes: "0"}, nil)
}

// handleWidgetCreate handles POST /widgets: the new widget's identity
// secret is shown once, on the page it redirects to.
func (s *Server) handleWidgetCreate(c *fiber.Ctx) error {
	var f widgetForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	var it models.Integration
	if errs := f.integration(&it); len(errs) > 0 {
		return s.renderWidgetForm(c, fiber.StatusUnprocessableEntity, nil, f, errs)
	}
	ctx := c.UserContext()
	created, secret, err := s.store.CreateIntegration(ctx, store.IntegrationInput{Integration: it})
	if err != nil {
		if fields := models.ErrorFields(err); fields != nil {
			return s.renderWidgetForm(c, fiber.StatusUnprocessableEntity, nil, f, widgetFormErrors(fields))
		}
		return err
	}
	return s.showWidgetSecret(c, created.ID, secret)
}

// showWidgetSecret keeps a new identity secret in a one-time flash and
// redirects to the page that shows it.
func (s *Server) showWidgetSecret(c *fiber.Ctx, id, secret string) error {
	flashID, err := s.store.PutFlash(c.UserContext(), c.Cookies(sessionCookie), "widget-secret/"+id, []byte(secret))
	if err != nil {
		return err
	}
	return redirect(c, "/widgets/"+id+"/created?flash="+url.QueryEscape(flashID))
}

// handleWidgetCreated handles GET /widgets/:id/created?flash=ID: the
// identity secret, shown once.
func (s *Server) handleWidgetCreated(c *fiber.Ctx) error {
	it, err := s.findWidget(c)
	if err != nil {
		return err
	}
	d := widgetCreatedPage{Page: s.page(c, "Widget "+it.Name, integrationNav), Widget: it}
	raw, err := s.store.TakeFlash(c.UserContext(), c.Cookies(sessionCookie), "widget-secret/"+it.ID, c.Query("flash"))
	switch models.ErrorCode(err) {
	case "":
		d.Secret = string(raw)
		d.Sign = "printf '%s' \"$USER_ID\" | openssl dgst -sha256 -hmac '" + d.Secret + "' | sed 's/^.* //'"
	case models.CodeNotFound:
	default:
		return err
	}
	c.Set(fiber.HeaderPragma, "no-cache")
	return s.render(c, fiber.StatusOK, tplWidgetsCreated, d)
}

// handleWidgetShow handles GET /widgets/:id: settings, snippet, origins with
// the "check an origin" helper (?origin=), the live preview and the
// widget's conversations (paginated).
func (s *Server) handleWidgetShow(c *fiber.Ctx) error {
	it, err := s.findWidget(c)
	if err != nil {
		return err
	}
	p, err := listPage(c)
	if err != nil {
		return err
	}
	convs, next, err := s.store.FindConversations(c.UserContext(), models.ConversationFilter{Page: p, IntegrationID: it.ID})
	if err != nil {
		return err
	}
	script := c.BaseURL() + "/widget/" + it.ID + ".js"
	d := widgetShowPage{Page: s.page(c, "Widget "+it.Name, integrationNav), Widget: it, ScriptURL: script,
		Snippet:       `<script src="` + script + `" async></script>`,
		InlineSnippet: `<div id="parley-chat" style="height:600px"></div>` + "\n" + `<script src="` + script + `" data-target="#parley-chat" async></script>`,
		Next:          next, Cursor: p.Cursor}
	if l, err := models.ParseOrigins(it.Widget.Origin); err == nil {
		for _, o := range l {
			d.Origins = append(d.Origins, o.String())
		}
	}
	for _, cv := range convs {
		d.Conversations = append(d.Conversations, newConversationItem(cv, operator(c)))
	}
	if q := strings.TrimSpace(c.Query("origin")); q != "" {
		d.Check = models.TruncateUTF8(q, 500)
		o, err := models.ParseOrigin(d.Check, false)
		switch {
		case err != nil:
			d.CheckError = models.ErrorMessage(err)
		case models.WidgetOriginAllowed(it.Widget.Origin, o.String()):
			d.CheckOK, d.CheckResult = true, o.String()+" is allowed: the widget starts on its pages."
		default:
			d.CheckResult = o.String() + " is not allowed: the widget shows its visitors that it is not enabled there."
		}
	}
	return s.render(c, fiber.StatusOK, tplWidgetsShow, d)
}

// handleWidgetEdit handles GET /widgets/:id/edit.
func (s *Server) handleWidgetEdit(c *fiber.Ctx) error {
	it, err := s.findWidget(c)
	if err != nil {
		return err
	}
	return s.renderWidgetForm(c, fiber.StatusOK, it, widgetFormOf(it), nil)
}

// handleWidgetUpdate handles POST /widgets/:id.
func (s *Server) handleWidgetUpdate(c *fiber.Ctx) error {
	it, err := s.findWidget(c)
	if err != nil {
		return err
	}
	var f widgetForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	next := *it
	next.Bot = nil
	if errs := f.integration(&next); len(errs) > 0 {
		return s.renderWidgetForm(c, fiber.StatusUnprocessableEntity, it, f, errs)
	}
	if _, err := s.store.UpdateIntegration(c.UserContext(), store.IntegrationInput{Integration: next}); err != nil {
		if fields := models.ErrorFields(err); fields != nil {
			return s.renderWidgetForm(c, fiber.StatusUnprocessableEntity, it, f, widgetFormErrors(fields))
		}
		return err
	}
	setFlash(c, fmt.Sprintf("Widget %q saved.", widgetName(&next)))
	return redirect(c, "/widgets/"+it.ID)
}

func widgetName(it *models.Integration) string {
	if it.Name != "" {
		return it.Name
	}
	return "Widget " + shortID(it.ID)
}

// handleWidgetDeleteConfirm handles GET /widgets/:id/delete.
func (s *Server) handleWidgetDeleteConfirm(c *fiber.Ctx) error {
	it, err := s.findWidget(c)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Delete "+widgetName(it), integrationNav), Heading: fmt.Sprintf("Delete the widget %q?", widgetName(it)),
		Body:   []string{"The script on your sites stops working at once and every chat open in it ends. Its conversations stay (without their channel). This cannot be undone."},
		Action: "/widgets/" + it.ID + "/delete", Button: "Delete widget", Cancel: "/widgets/" + it.ID,
	})
}

// handleWidgetDelete handles POST /widgets/:id/delete.
func (s *Server) handleWidgetDelete(c *fiber.Ctx) error {
	it, err := s.findWidget(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteIntegration(c.UserContext(), it.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Widget %q deleted.", widgetName(it)))
	return redirect(c, "/widgets")
}

// handleWidgetSecretConfirm handles GET /widgets/:id/identity-secret.
func (s *Server) handleWidgetSecretConfirm(c *fiber.Ctx) error {
	it, err := s.findWidget(c)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "New identity secret for "+widgetName(it), integrationNav), Heading: fmt.Sprintf("Give %q a new identity secret?", widgetName(it)),
		Body:   []string{"User ids signed with the current secret are refused from now on: update your site's server with the new one, shown once, at the same time."},
		Action: "/widgets/" + it.ID + "/identity-secret", Button: "Make a new secret", Cancel: "/widgets/" + it.ID,
	})
}

// handleWidgetSecretRotate handles POST /widgets/:id/identity-secret.
func (s *Server) handleWidgetSecretRotate(c *fiber.Ctx) error {
	it, err := s.findWidget(c)
	if err != nil {
		return err
	}
	raw, err := s.store.RotateIdentitySecret(c.UserContext(), it.ID)
	if err != nil {
		return err
	}
	return s.showWidgetSecret(c, it.ID, raw)
}

// handleWidgetPreviewConfig handles GET /widgets/:id/preview/config: the
// widget's settings for the dashboard's preview, whatever its origins.
func (s *Server) handleWidgetPreviewConfig(c *fiber.Ctx) error {
	it, err := s.findWidget(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(widgetConfigJSON{Allowed: true, Widget: newWidgetSettingsJSON(it)})
}

// handleWidgetPreviewSession handles POST /widgets/:id/preview/session: the
// preview's session, in the operator's own test conversation with the
// widget (marked as a test, so it stays out of lists and analytics).
func (s *Server) handleWidgetPreviewSession(c *fiber.Ctx) error {
	it, err := s.findWidget(c)
	if err != nil {
		return err
	}
	return s.widgetSession(c, it, "op_"+operator(c).ID)
}
