package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/app/channel"
	"parley/app/channel/telegram"
	"parley/models"
	"parley/models/store"
)

// Integration and contact templates.
const (
	tplIntegrationsIndex   = "pages/integrations/index"
	tplIntegrationsForm    = "pages/integrations/form"
	tplIntegrationsShow    = "pages/integrations/show"
	tplIntegrationsSecret  = "pages/integrations/secret"
	tplIntegrationsEvents  = "pages/integrations/events"
	tplIntegrationsEvent   = "pages/integrations/event"
	tplContactsIndex       = "pages/contacts/index"
	tplContactsShow        = "pages/contacts/show"
	integrationNav         = "integrations"
	contactNav             = "contacts"
	maxContactSearchLength = 200
)

// registerIntegrations registers the Integrations section: builders and
// admins manage integrations; everyone who reads conversations (support
// too) sees the list, each integration's delivery audit and the contacts.
func (s *Server) registerIntegrations() {
	s.handle(fiber.MethodGet, "/integrations", models.PermConversationRead, s.handleIntegrationIndex)
	s.handle(fiber.MethodGet, "/integrations/new", models.PermConfigWrite, s.handleIntegrationNew)
	s.handle(fiber.MethodPost, "/integrations", models.PermConfigWrite, s.handleIntegrationCreate)
	s.handle(fiber.MethodGet, "/integrations/:id", models.PermConfigRead, s.handleIntegrationShow)
	s.handle(fiber.MethodGet, "/integrations/:id/edit", models.PermConfigWrite, s.handleIntegrationEdit)
	s.handle(fiber.MethodPost, "/integrations/:id", models.PermConfigWrite, s.handleIntegrationUpdate)
	s.handle(fiber.MethodPost, "/integrations/:id/setup", models.PermConfigWrite, s.handleIntegrationSetup)
	s.handle(fiber.MethodGet, "/integrations/:id/rotate", models.PermConfigWrite, s.handleIntegrationRotateConfirm)
	s.handle(fiber.MethodPost, "/integrations/:id/rotate", models.PermConfigWrite, s.handleIntegrationRotate)
	s.handle(fiber.MethodGet, "/integrations/:id/delete", models.PermConfigWrite, s.handleIntegrationDeleteConfirm)
	s.handle(fiber.MethodPost, "/integrations/:id/delete", models.PermConfigWrite, s.handleIntegrationDelete)
	s.handle(fiber.MethodGet, "/integrations/:id/events", models.PermConversationRead, s.handleIntegrationEvents)
	s.handle(fiber.MethodGet, "/integrations/:id/events/:eventId", models.PermConversationRead, s.handleIntegrationEvent)
	s.handle(fiber.MethodGet, "/contacts", models.PermConversationRead, s.handleContactIndex)
	s.handle(fiber.MethodGet, "/contacts/:id", models.PermConversationRead, s.handleContactShow)
}

// integrationForm is the integration form; its names are the model's JSON
// names, so the store's messages land next to the right field. The session
// duration is typed in minutes; the bot token is write-only (blank on edit
// keeps the stored one).
type integrationForm struct {
	Type              string `form:"type"`
	Name              string `form:"name"`
	Description       string `form:"description"`
	BotID             string `form:"botId"`
	SessionMinutes    string `form:"sessionDuration"`
	BotToken          string `form:"botToken"`
	AllowFrom         string `form:"allowFrom"`
	ContactCollection bool   `form:"contactCollection"`
	Stream            bool   `form:"stream"`
	Intro             string `form:"intro"`
	CallbackURL       string `form:"callbackUrl"`
	Meta              string `form:"meta"`
}

type integrationFormPage struct {
	Page
	Form        integrationForm
	Errors      map[string]string
	Action      string
	Integration *models.Integration
	Bots        []models.Bot
}

// Telegram reports whether the form is for a Telegram integration.
func (p integrationFormPage) Telegram() bool { return p.Form.Type == models.IntegrationTelegram }

type integrationIndexPage struct {
	Page
	Integrations []models.Integration
	Next, Cursor string
}

type integrationShowPage struct {
	Page
	Integration *models.Integration
	// EventURL is where the platform posts (PARLEY_PUBLIC_URL + path, or
	// the path alone when it is not set).
	EventURL  string
	PublicURL string
	// Health is Telegram's getWebhookInfo; HealthError why it is missing.
	Health      *telegram.WebhookInfo
	HealthError string
	// SetupError is why a setup just failed.
	SetupError string
	Curl       string
}

type integrationSecretPage struct {
	Page
	Integration *models.Integration
	Secret      string
	Curl        string
}

type auditRow struct {
	Event    models.InboundEvent
	Delivery *models.OutboundDelivery
}

type integrationEventsPage struct {
	Page
	Integration  *models.Integration
	Rows         []auditRow
	Status       string
	Statuses     []string
	Next, Cursor string
	Base         string
}

type integrationEventPage struct {
	Page
	Integration *models.Integration
	Event       *models.InboundEvent
	Payload     string
	Delivery    *models.OutboundDelivery
}

type contactIndexPage struct {
	Page
	Contacts     []models.Contact
	Query        string
	Next, Cursor string
	Base         string
}

type contactShowPage struct {
	Page
	Contact       *models.Contact
	Conversations []models.Conversation
	Next, Cursor  string
}

// eventStatuses are the audit's status filter choices.
var eventStatuses = []string{models.EventQueued, models.EventProcessed, models.EventIgnored, models.EventRejected, models.EventFailed}

// eventURL is where the platform posts an integration's events:
// PARLEY_PUBLIC_URL + path, or (unset) this request's own origin + path.
func (s *Server) eventURL(c *fiber.Ctx, it *models.Integration) string {
	path := channel.WebhookPath(it.ID)
	if it.Type == models.IntegrationWebhook {
		path = "/channels/webhook/" + it.ID
	}
	root := s.cfg.PublicURL
	if root == "" {
		root = c.BaseURL()
	}
	return strings.TrimRight(root, "/") + path
}

// webhookCurl is the how-to for posting a signed event, as in the README.
func webhookCurl(url, secret string) string {
	if secret == "" {
		secret = "whsec_…"
	}
	return "SECRET='" + secret + "'; URL='" + url + "'\n" +
		`BODY='{"eventId":"evt-1","conversationId":"customer-42","contact":{"fingerprint":"crm:42","name":"Ada"},"text":"Where is my order?"}'` + "\n" +
		"TS=$(date +%s)\n" +
		`SIG=$(printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //')` + "\n" +
		`curl -sS "$URL?wait=1" -H 'Content-Type: application/json' -H "X-Parley-Signature: t=$TS,v1=$SIG" --data-raw "$BODY"`
}

// handleIntegrationIndex handles GET /integrations.
func (s *Server) handleIntegrationIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	its, next, err := s.store.FindIntegrations(c.UserContext(), models.IntegrationFilter{Page: p})
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplIntegrationsIndex, integrationIndexPage{Page: s.page(c, "Integrations", integrationNav),
		Integrations: its, Next: next, Cursor: p.Cursor})
}

// handleIntegrationNew handles GET /integrations/new?type=telegram|webhook.
func (s *Server) handleIntegrationNew(c *fiber.Ctx) error {
	typ := c.Query("type", models.IntegrationTelegram)
	if typ != models.IntegrationTelegram && typ != models.IntegrationWebhook {
		return models.Errorf(models.CodeInvalid, "Integration type must be telegram or webhook.")
	}
	return s.renderIntegrationForm(c, fiber.StatusOK, nil, integrationForm{Type: typ, SessionMinutes: "0"}, nil)
}

func (s *Server) renderIntegrationForm(c *fiber.Ctx, status int, it *models.Integration, f integrationForm, errs map[string]string) error {
	bots, _, err := s.store.FindBots(c.UserContext(), models.BotFilter{Page: models.Page{Limit: models.MaxPageSize}})
	if err != nil {
		return err
	}
	if it != nil && it.Bot != nil && !hasBot(bots, it.Bot.ID) {
		bots = append(bots, *it.Bot) // beyond the first page of bots: still offered
	}
	title, action := "New "+typeLabel(f.Type)+" integration", "/integrations"
	if it != nil {
		title, action = "Edit "+integrationName(it), "/integrations/"+it.ID
	}
	return s.render(c, status, tplIntegrationsForm, integrationFormPage{Page: s.page(c, title, integrationNav), Form: f,
		Errors: errs, Action: action, Integration: it, Bots: bots})
}

func typeLabel(t string) string {
	if t == models.IntegrationTelegram {
		return "Telegram"
	}
	return "webhook"
}

func integrationName(it *models.Integration) string {
	if it.Name != "" {
		return it.Name
	}
	return typeLabel(it.Type) + " integration"
}

// input reads the form into an integration and its bot token (nil: keep).
func (f *integrationForm) input() (store.IntegrationInput, error) {
	fields := map[string]string{}
	minutes := int64(0)
	if v := strings.TrimSpace(f.SessionMinutes); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > models.MaxSessionDuration/60000 {
			fields["sessionDuration"] = fmt.Sprintf("Session duration must be a whole number of minutes from 0 to %d (0: one conversation forever).", models.MaxSessionDuration/60000)
		}
		minutes = n
	}
	meta, err := models.ParseMeta("meta", f.Meta)
	if err != nil {
		for k, v := range models.ErrorFields(err) {
			fields[k] = v
		}
	}
	if len(fields) > 0 {
		return store.IntegrationInput{}, &models.Error{Code: models.CodeInvalid, Message: "Please correct the fields marked below.", Fields: fields}
	}
	bot := strings.TrimSpace(f.BotID)
	it := models.Integration{Type: f.Type, Name: f.Name, Description: f.Description, BotID: &bot, Meta: meta,
		SessionDuration: minutes * 60000}
	in := store.IntegrationInput{}
	switch f.Type {
	case models.IntegrationTelegram:
		it.Telegram = models.TelegramSettings{AllowFrom: f.AllowFrom, ContactCollection: f.ContactCollection, Stream: f.Stream, Intro: f.Intro}
		if tok := strings.TrimSpace(f.BotToken); tok != "" {
			in.BotToken = &tok
		}
	case models.IntegrationWebhook:
		it.Webhook = models.WebhookSettings{CallbackURL: f.CallbackURL}
	default:
		return in, models.FieldError("type", "Integration type must be telegram or webhook.")
	}
	in.Integration = it
	return in, nil
}

// handleIntegrationCreate handles POST /integrations. A webhook's signing
// secret is shown once, on the page that follows.
func (s *Server) handleIntegrationCreate(c *fiber.Ctx) error {
	var f integrationForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	f.BotToken = strings.TrimSpace(f.BotToken)
	in, err := f.input()
	if err == nil {
		var (
			it     *models.Integration
			secret string
		)
		it, secret, err = s.store.CreateIntegration(c.UserContext(), in)
		if err == nil {
			if it.Type == models.IntegrationWebhook {
				return s.renderSecret(c, it, secret)
			}
			setFlash(c, fmt.Sprintf("Integration %q created. Set it up with Telegram to start receiving messages.", integrationName(it)))
			return redirect(c, "/integrations/"+it.ID)
		}
	}
	if fields := models.ErrorFields(err); fields != nil {
		f.BotToken = "" // never echoed back into the page
		return s.renderIntegrationForm(c, fiber.StatusUnprocessableEntity, nil, f, fields)
	}
	return err
}

func (s *Server) renderSecret(c *fiber.Ctx, it *models.Integration, secret string) error {
	return s.render(c, fiber.StatusOK, tplIntegrationsSecret, integrationSecretPage{Page: s.page(c, "Signing secret of "+integrationName(it), integrationNav),
		Integration: it, Secret: secret, Curl: webhookCurl(s.eventURL(c, it), secret)})
}

// channelIntegration finds the Telegram or webhook integration of :id; a
// web chat widget has its own pages under /widgets (not_found here).
func (s *Server) channelIntegration(c *fiber.Ctx) (*models.Integration, error) {
	it, err := s.store.FindIntegration(c.UserContext(), c.Params("id"))
	if err != nil {
		return nil, err
	}
	if it.Type == models.IntegrationWidget {
		return nil, models.Errorf(models.CodeNotFound, "This integration is a web chat widget: it is managed under Widgets (/widgets/%s).", it.ID)
	}
	return it, nil
}

// handleIntegrationShow handles GET /integrations/:id: settings, where the
// platform posts, how to use it, and (Telegram) getWebhookInfo's health. A
// widget's settings are on its own page.
func (s *Server) handleIntegrationShow(c *fiber.Ctx) error {
	it, err := s.store.FindIntegration(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if it.Type == models.IntegrationWidget {
		return redirect(c, "/widgets/"+it.ID)
	}
	return s.renderIntegrationShow(c, fiber.StatusOK, it, "")
}

func (s *Server) renderIntegrationShow(c *fiber.Ctx, status int, it *models.Integration, setupErr string) error {
	pg := integrationShowPage{Page: s.page(c, integrationName(it), integrationNav), Integration: it, EventURL: s.eventURL(c, it),
		PublicURL: s.cfg.PublicURL, SetupError: setupErr}
	if it.Type == models.IntegrationTelegram {
		if it.Telegram.SetupAt != nil {
			info, err := s.channels.TelegramHealth(c.UserContext(), it.ID)
			if err != nil {
				pg.HealthError = models.ErrorMessage(err)
			} else {
				pg.Health = info
			}
		}
	} else {
		pg.Curl = webhookCurl(pg.EventURL, "")
	}
	return s.render(c, status, tplIntegrationsShow, pg)
}

// handleIntegrationEdit handles GET /integrations/:id/edit.
func (s *Server) handleIntegrationEdit(c *fiber.Ctx) error {
	it, err := s.channelIntegration(c)
	if err != nil {
		return err
	}
	f := integrationForm{Type: it.Type, Name: it.Name, Description: it.Description, BotID: models.Deref(it.BotID),
		SessionMinutes: strconv.FormatInt(it.SessionDuration/60000, 10), AllowFrom: it.Telegram.AllowFrom,
		ContactCollection: it.Telegram.ContactCollection, Stream: it.Telegram.Stream, Intro: it.Telegram.Intro,
		CallbackURL: it.Webhook.CallbackURL, Meta: it.Meta.String()}
	return s.renderIntegrationForm(c, fiber.StatusOK, it, f, nil)
}

// handleIntegrationUpdate handles POST /integrations/:id (a blank bot token keeps the stored one).
func (s *Server) handleIntegrationUpdate(c *fiber.Ctx) error {
	it, err := s.channelIntegration(c)
	if err != nil {
		return err
	}
	var f integrationForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	f.Type = it.Type
	in, err := f.input()
	if err == nil {
		in.Integration.ID = it.ID
		_, err = s.store.UpdateIntegration(c.UserContext(), in)
		if err == nil {
			msg := "Integration saved."
			if in.BotToken != nil {
				msg = "Integration saved with its new bot token: set it up again."
			}
			setFlash(c, msg)
			return redirect(c, "/integrations/"+it.ID)
		}
	}
	if fields := models.ErrorFields(err); fields != nil {
		f.BotToken = ""
		return s.renderIntegrationForm(c, fiber.StatusUnprocessableEntity, it, f, fields)
	}
	return err
}

// handleIntegrationSetup handles POST /integrations/:id/setup: getMe and
// setWebhook; a refusal is shown on the integration's page.
func (s *Server) handleIntegrationSetup(c *fiber.Ctx) error {
	it, err := s.channelIntegration(c)
	if err != nil {
		return err
	}
	if it.Type != models.IntegrationTelegram {
		return s.renderIntegrationShow(c, fiber.StatusUnprocessableEntity, it, "Only a Telegram integration is set up with Telegram.")
	}
	out, err := s.channels.SetupTelegram(c.UserContext(), it.ID)
	if err != nil {
		code := models.ErrorCode(err)
		if code != models.CodeInvalid && code != models.CodeUnavailable {
			return err
		}
		return s.renderIntegrationShow(c, fiber.StatusUnprocessableEntity, it, models.ErrorMessage(err))
	}
	setFlash(c, fmt.Sprintf("Set up: Telegram now sends @%s's messages to %s.", out.Telegram.Username, out.Telegram.WebhookURL))
	return redirect(c, "/integrations/"+it.ID)
}

// handleIntegrationRotateConfirm handles GET /integrations/:id/rotate.
func (s *Server) handleIntegrationRotateConfirm(c *fiber.Ctx) error {
	it, err := s.channelIntegration(c)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Rotate the signing secret of "+integrationName(it), integrationNav), Heading: fmt.Sprintf("Give %q a new signing secret?", integrationName(it)),
		Body: []string{"The current secret stops working at once: requests signed with it are refused (401) and callbacks are signed with the new one.",
			"The new secret is shown once, on the next page."},
		Action: "/integrations/" + it.ID + "/rotate", Button: "Rotate the secret", Cancel: "/integrations/" + it.ID,
	})
}

// handleIntegrationRotate handles POST /integrations/:id/rotate.
func (s *Server) handleIntegrationRotate(c *fiber.Ctx) error {
	it, err := s.channelIntegration(c)
	if err != nil {
		return err
	}
	secret, err := s.store.RotateSigningSecret(c.UserContext(), it.ID)
	if err != nil {
		return err
	}
	return s.renderSecret(c, it, secret)
}

// handleIntegrationDeleteConfirm handles GET /integrations/:id/delete.
func (s *Server) handleIntegrationDeleteConfirm(c *fiber.Ctx) error {
	it, err := s.channelIntegration(c)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Delete "+integrationName(it), integrationNav), Heading: fmt.Sprintf("Delete integration %q?", integrationName(it)),
		Body: []string{"The integration, its delivery audit (every inbound event and reply attempt) and its secrets are deleted. This cannot be undone.",
			"Its conversations stay readable in Conversations. The platform's requests are refused from now on."},
		Action: "/integrations/" + it.ID + "/delete", Button: "Delete integration", Cancel: "/integrations/" + it.ID,
	})
}

// handleIntegrationDelete handles POST /integrations/:id/delete.
func (s *Server) handleIntegrationDelete(c *fiber.Ctx) error {
	it, err := s.channelIntegration(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteIntegration(c.UserContext(), it.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Integration %q deleted.", integrationName(it)))
	return redirect(c, "/integrations")
}

// handleIntegrationEvents handles GET /integrations/:id/events?status=: the
// delivery audit, newest first, a page at a time.
func (s *Server) handleIntegrationEvents(c *fiber.Ctx) error {
	it, err := s.channelIntegration(c)
	if err != nil {
		return err
	}
	p, err := listPage(c)
	if err != nil {
		return err
	}
	status := c.Query("status")
	if status != "" && !containsString(eventStatuses, status) {
		return models.Errorf(models.CodeInvalid, "Unknown status %q: choose one of %s.", models.TruncateUTF8(status, 40), strings.Join(eventStatuses, ", "))
	}
	evs, next, err := s.store.FindEvents(c.UserContext(), models.EventFilter{Page: p, IntegrationID: it.ID, Status: status})
	if err != nil {
		return err
	}
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	ds, err := s.store.FindEventDeliveries(c.UserContext(), ids)
	if err != nil {
		return err
	}
	rows := make([]auditRow, len(evs))
	for i, ev := range evs {
		rows[i] = auditRow{Event: ev}
		if d, ok := ds[ev.ID]; ok {
			rows[i].Delivery = &d
		}
	}
	base := "/integrations/" + it.ID + "/events"
	if status != "" {
		base += "?status=" + status
	}
	return s.render(c, fiber.StatusOK, tplIntegrationsEvents, integrationEventsPage{Page: s.page(c, "Delivery audit · "+integrationName(it), integrationNav),
		Integration: it, Rows: rows, Status: status, Statuses: eventStatuses, Next: next, Cursor: p.Cursor, Base: base})
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// handleIntegrationEvent handles GET /integrations/:id/events/:eventId: one
// event's raw payload, what it produced, and its reply's attempts.
func (s *Server) handleIntegrationEvent(c *fiber.Ctx) error {
	it, err := s.channelIntegration(c)
	if err != nil {
		return err
	}
	ev, err := s.store.FindEvent(c.UserContext(), c.Params("eventId"))
	if err != nil {
		return err
	}
	if ev.IntegrationID != it.ID {
		return models.Errorf(models.CodeNotFound, "This integration has no such event.")
	}
	pg := integrationEventPage{Page: s.page(c, "Event "+ev.ExternalID, integrationNav), Integration: it, Event: ev, Payload: prettyJSON(ev.Payload)}
	d, err := s.store.FindEventDelivery(c.UserContext(), ev.ID)
	switch {
	case err == nil:
		pg.Delivery = d
	case models.ErrorCode(err) != models.CodeNotFound:
		return err
	}
	return s.render(c, fiber.StatusOK, tplIntegrationsEvent, pg)
}

// prettyJSON indents a JSON payload for reading; anything else (a payload
// cut at its bound) is shown as received. The template escapes it.
func prettyJSON(raw string) string {
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(raw), "", "  "); err != nil {
		return raw
	}
	return out.String()
}

// handleContactIndex handles GET /contacts?q=: contacts matching a name,
// nick, email or fingerprint, a page at a time.
func (s *Server) handleContactIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(c.Query("q"))
	if len(q) > maxContactSearchLength {
		return models.Errorf(models.CodeInvalid, "Search for at most %d characters.", maxContactSearchLength)
	}
	cs, next, err := s.store.FindContacts(c.UserContext(), models.ContactFilter{Page: p, Search: q})
	if err != nil {
		return err
	}
	if operator(c).MasksPersonalData() {
		for i := range cs {
			cs[i].Email = models.MaskPersonalData(cs[i].Email)
		}
	}
	base := "/contacts"
	if q != "" {
		base += "?q=" + url.QueryEscape(q)
	}
	return s.render(c, fiber.StatusOK, tplContactsIndex, contactIndexPage{Page: s.page(c, "Contacts", contactNav),
		Contacts: cs, Query: q, Next: next, Cursor: p.Cursor, Base: base})
}

// handleContactShow handles GET /contacts/:id: the contact and its conversations.
func (s *Server) handleContactShow(c *fiber.Ctx) error {
	ct, err := s.store.FindContact(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	p, err := listPage(c)
	if err != nil {
		return err
	}
	convs, next, err := s.store.FindConversations(c.UserContext(), models.ConversationFilter{Page: p, ContactID: ct.ID})
	if err != nil {
		return err
	}
	if operator(c).MasksPersonalData() {
		mask := models.MaskPersonalData
		ct.Email, ct.Phone, ct.Description = mask(ct.Email), mask(ct.Phone), mask(ct.Description)
		for i := range convs {
			convs[i].Name = mask(convs[i].Name)
		}
	}
	title := ct.Name
	if title == "" {
		title = ct.Fingerprint
	}
	return s.render(c, fiber.StatusOK, tplContactsShow, contactShowPage{Page: s.page(c, title, contactNav), Contact: ct,
		Conversations: convs, Next: next, Cursor: p.Cursor})
}
