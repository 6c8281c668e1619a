package api

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
	"parley/models/store"
)

// telegramRequest is the body of integration/telegram/create and
// integration/telegram/{id}/update, with ChatBotKit's field names. Absent
// fields are kept on update; botToken is write-only (never shown again), and
// a new one clears what setup learned (run setup again). stream and intro
// are Parley's extensions.
type telegramRequest struct {
	Name              *string     `json:"name" validate:"omitempty,max=200"`
	Description       *string     `json:"description" validate:"omitempty,max=4000"`
	Meta              models.Meta `json:"meta"`
	BlueprintID       *string     `json:"blueprintId"`
	BotID             *string     `json:"botId" validate:"omitempty,max=36"`
	BotToken          *string     `json:"botToken" validate:"omitempty,max=200"`
	ContactCollection *bool       `json:"contactCollection"`
	SessionDuration   *int64      `json:"sessionDuration"`
	Attachments       *bool       `json:"attachments"`
	AllowFrom         *string     `json:"allowFrom" validate:"omitempty,max=20000"`
	Stream            *bool       `json:"stream"`
	Intro             *string     `json:"intro" validate:"omitempty,max=4000"`
}

// webhookRequest is the body of integration/webhook/create and
// integration/webhook/{id}/update (Parley's extension, in the same shape).
type webhookRequest struct {
	Name            *string     `json:"name" validate:"omitempty,max=200"`
	Description     *string     `json:"description" validate:"omitempty,max=4000"`
	Meta            models.Meta `json:"meta"`
	BlueprintID     *string     `json:"blueprintId"`
	BotID           *string     `json:"botId" validate:"omitempty,max=36"`
	SessionDuration *int64      `json:"sessionDuration"`
	CallbackURL     *string     `json:"callbackUrl" validate:"omitempty,max=2000"`
}

// telegramJSON is a Telegram integration as the API shows it: ChatBotKit's
// fields, then Parley's (what setup learned). The bot token never appears.
type telegramJSON struct {
	ID                string      `json:"id"`
	Name              string      `json:"name"`
	Description       string      `json:"description"`
	Meta              models.Meta `json:"meta"`
	CreatedAt         int64       `json:"createdAt"`
	UpdatedAt         int64       `json:"updatedAt"`
	BotID             string      `json:"botId,omitempty"`
	ContactCollection bool        `json:"contactCollection"`
	SessionDuration   int64       `json:"sessionDuration"`
	Attachments       bool        `json:"attachments"`
	AllowFrom         string      `json:"allowFrom"`
	Stream            bool        `json:"stream"`
	Intro             string      `json:"intro"`
	// Username is the Telegram bot's @username, known after setup.
	Username   string `json:"username,omitempty"`
	WebhookURL string `json:"webhookUrl,omitempty"`
	SetupAt    *int64 `json:"setupAt,omitempty"`
}

// webhookJSON is a webhook integration as the API shows it; the signing
// secret is only in the create response.
type webhookJSON struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	Description     string      `json:"description"`
	Meta            models.Meta `json:"meta"`
	CreatedAt       int64       `json:"createdAt"`
	UpdatedAt       int64       `json:"updatedAt"`
	BotID           string      `json:"botId,omitempty"`
	SessionDuration int64       `json:"sessionDuration"`
	CallbackURL     string      `json:"callbackUrl"`
	// EventURL is where the caller posts its signed events.
	EventURL string `json:"eventUrl"`
}

// webhookCreated answers integration/webhook/create: the id and the signing
// secret, shown this once.
type webhookCreated struct {
	ID            string `json:"id"`
	SigningSecret string `json:"signingSecret"`
}

// setupResponse answers integration/telegram/{id}/setup: ChatBotKit's id,
// then what Telegram said (Parley's extension).
type setupResponse struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	WebhookURL string `json:"webhookUrl"`
}

func toTelegram(it *models.Integration) telegramJSON {
	out := telegramJSON{ID: it.ID, Name: it.Name, Description: it.Description, Meta: meta(it.Meta),
		CreatedAt: ms(it.CreatedAt), UpdatedAt: ms(it.UpdatedAt), ContactCollection: it.Telegram.ContactCollection,
		SessionDuration: it.SessionDuration, AllowFrom: it.Telegram.AllowFrom, Stream: it.Telegram.Stream,
		Intro: it.Telegram.Intro, Username: it.Telegram.Username, WebhookURL: it.Telegram.WebhookURL}
	if it.BotID != nil {
		out.BotID = *it.BotID
	}
	if it.Telegram.SetupAt != nil {
		t := ms(*it.Telegram.SetupAt)
		out.SetupAt = &t
	}
	return out
}

func toWebhook(it *models.Integration) webhookJSON {
	out := webhookJSON{ID: it.ID, Name: it.Name, Description: it.Description, Meta: meta(it.Meta),
		CreatedAt: ms(it.CreatedAt), UpdatedAt: ms(it.UpdatedAt), SessionDuration: it.SessionDuration,
		CallbackURL: it.Webhook.CallbackURL, EventURL: "/channels/webhook/" + it.ID}
	if it.BotID != nil {
		out.BotID = *it.BotID
	}
	return out
}

// apply copies the given fields onto it and returns the bot token to save (nil: keep).
func (r *telegramRequest) apply(it *models.Integration) (*string, error) {
	if err := noBlueprint(r.BlueprintID); err != nil {
		return nil, err
	}
	if r.Attachments != nil && *r.Attachments {
		return nil, models.FieldError("attachments", "Parley's Telegram integration answers text messages only: leave attachments out or false.")
	}
	applyCommon(it, r.Name, r.Description, r.Meta, r.BotID, r.SessionDuration)
	if r.ContactCollection != nil {
		it.Telegram.ContactCollection = *r.ContactCollection
	}
	if r.Stream != nil {
		it.Telegram.Stream = *r.Stream
	}
	setStr(&it.Telegram.AllowFrom, r.AllowFrom)
	setStr(&it.Telegram.Intro, r.Intro)
	return r.BotToken, nil
}

func (r *webhookRequest) apply(it *models.Integration) error {
	if err := noBlueprint(r.BlueprintID); err != nil {
		return err
	}
	applyCommon(it, r.Name, r.Description, r.Meta, r.BotID, r.SessionDuration)
	setStr(&it.Webhook.CallbackURL, r.CallbackURL)
	return nil
}

func applyCommon(it *models.Integration, name, description *string, m models.Meta, botID *string, session *int64) {
	setStr(&it.Name, name)
	setStr(&it.Description, description)
	if m != nil {
		it.Meta = m
	}
	if botID != nil {
		v := strings.TrimSpace(*botID)
		it.BotID = &v
	}
	if session != nil {
		it.SessionDuration = *session
	}
}

// clearFields makes a form-style field error readable on its own: the
// store's "correct the fields marked below" becomes the fields' messages.
func clearFields(err error) error {
	var me *models.Error
	if !errors.As(err, &me) || len(me.Fields) == 0 || me.Code != models.CodeInvalid {
		return err
	}
	keys := make([]string, 0, len(me.Fields))
	for k := range me.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	msgs := make([]string, 0, len(keys))
	for _, k := range keys {
		msgs = append(msgs, me.Fields[k])
	}
	return &models.Error{Code: me.Code, Message: strings.Join(msgs, " "), Fields: me.Fields}
}

// findIntegration returns the integration of the route's type (another
// type's id is not found, as ChatBotKit keeps each type apart).
func (a *API) findIntegration(ctx context.Context, id, typ string) (*models.Integration, error) {
	it, err := a.store.FindIntegration(ctx, id)
	if err != nil {
		return nil, err
	}
	if it.Type != typ {
		return nil, models.Errorf(models.CodeNotFound, "Integration not found.")
	}
	it.Bot = nil
	return it, nil
}

func (a *API) listIntegrations(c *fiber.Ctx, typ string, conv func(*models.Integration) any) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	return sendList(a, c, p, func(ctx context.Context, p models.Page) ([]models.Integration, string, error) {
		return a.store.FindIntegrations(ctx, models.IntegrationFilter{Page: p, Type: typ})
	}, conv, func(it *models.Integration) string { return it.ID })
}

// handleTelegramList handles GET /api/v1/integration/telegram/list.
func (a *API) handleTelegramList(c *fiber.Ctx) error {
	return a.listIntegrations(c, models.IntegrationTelegram, func(it *models.Integration) any { return toTelegram(it) })
}

// handleTelegramFetch handles GET /api/v1/integration/telegram/{telegramIntegrationId}/fetch.
func (a *API) handleTelegramFetch(c *fiber.Ctx) error {
	it, err := a.findIntegration(c.UserContext(), c.Params("telegramIntegrationId"), models.IntegrationTelegram)
	if err != nil {
		return err
	}
	return c.JSON(toTelegram(it))
}

// handleTelegramCreate handles POST /api/v1/integration/telegram/create.
func (a *API) handleTelegramCreate(c *fiber.Ctx) error {
	var r telegramRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	it := models.Integration{Type: models.IntegrationTelegram, Meta: models.Meta{}}
	token, err := r.apply(&it)
	if err != nil {
		return err
	}
	created, _, err := a.store.CreateIntegration(c.UserContext(), store.IntegrationInput{Integration: it, BotToken: token})
	if err != nil {
		return clearFields(err)
	}
	return c.JSON(idResponse{ID: created.ID})
}

// handleTelegramUpdate handles POST /api/v1/integration/telegram/{telegramIntegrationId}/update.
func (a *API) handleTelegramUpdate(c *fiber.Ctx) error {
	var r telegramRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	it, err := a.findIntegration(c.UserContext(), c.Params("telegramIntegrationId"), models.IntegrationTelegram)
	if err != nil {
		return err
	}
	token, err := r.apply(it)
	if err != nil {
		return err
	}
	if _, err := a.store.UpdateIntegration(c.UserContext(), store.IntegrationInput{Integration: *it, BotToken: token}); err != nil {
		return clearFields(err)
	}
	return c.JSON(idResponse{ID: it.ID})
}

// handleTelegramDelete handles POST /api/v1/integration/telegram/{telegramIntegrationId}/delete.
func (a *API) handleTelegramDelete(c *fiber.Ctx) error {
	return a.deleteIntegration(c, c.Params("telegramIntegrationId"), models.IntegrationTelegram)
}

// handleTelegramSetup handles POST /api/v1/integration/telegram/{telegramIntegrationId}/setup:
// getMe, then setWebhook to PARLEY_PUBLIC_URL with a new secret token.
func (a *API) handleTelegramSetup(c *fiber.Ctx) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	it, err := a.opts.SetupTelegram(c.UserContext(), c.Params("telegramIntegrationId"))
	if err != nil {
		return err
	}
	return c.JSON(setupResponse{ID: it.ID, Username: it.Telegram.Username, WebhookURL: it.Telegram.WebhookURL})
}

func (a *API) deleteIntegration(c *fiber.Ctx, id, typ string) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	if _, err := a.findIntegration(c.UserContext(), id, typ); err != nil {
		return err
	}
	if err := a.store.DeleteIntegration(c.UserContext(), id); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: id})
}

// handleWebhookList handles GET /api/v1/integration/webhook/list.
func (a *API) handleWebhookList(c *fiber.Ctx) error {
	return a.listIntegrations(c, models.IntegrationWebhook, func(it *models.Integration) any { return toWebhook(it) })
}

// handleWebhookFetch handles GET /api/v1/integration/webhook/{webhookIntegrationId}/fetch.
func (a *API) handleWebhookFetch(c *fiber.Ctx) error {
	it, err := a.findIntegration(c.UserContext(), c.Params("webhookIntegrationId"), models.IntegrationWebhook)
	if err != nil {
		return err
	}
	return c.JSON(toWebhook(it))
}

// handleWebhookCreate handles POST /api/v1/integration/webhook/create; the
// answer carries the signing secret, shown this once.
func (a *API) handleWebhookCreate(c *fiber.Ctx) error {
	var r webhookRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	it := models.Integration{Type: models.IntegrationWebhook, Meta: models.Meta{}}
	if err := r.apply(&it); err != nil {
		return err
	}
	created, secret, err := a.store.CreateIntegration(c.UserContext(), store.IntegrationInput{Integration: it})
	if err != nil {
		return clearFields(err)
	}
	return c.JSON(webhookCreated{ID: created.ID, SigningSecret: secret})
}

// handleWebhookUpdate handles POST /api/v1/integration/webhook/{webhookIntegrationId}/update.
func (a *API) handleWebhookUpdate(c *fiber.Ctx) error {
	var r webhookRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	it, err := a.findIntegration(c.UserContext(), c.Params("webhookIntegrationId"), models.IntegrationWebhook)
	if err != nil {
		return err
	}
	if err := r.apply(it); err != nil {
		return err
	}
	if _, err := a.store.UpdateIntegration(c.UserContext(), store.IntegrationInput{Integration: *it}); err != nil {
		return clearFields(err)
	}
	return c.JSON(idResponse{ID: it.ID})
}

// handleWebhookDelete handles POST /api/v1/integration/webhook/{webhookIntegrationId}/delete.
func (a *API) handleWebhookDelete(c *fiber.Ctx) error {
	return a.deleteIntegration(c, c.Params("webhookIntegrationId"), models.IntegrationWebhook)
}

// handleWebhookRotate handles POST /api/v1/integration/webhook/{webhookIntegrationId}/secret/rotate:
// a new signing secret, shown this once; the old one stops working.
func (a *API) handleWebhookRotate(c *fiber.Ctx) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	id := c.Params("webhookIntegrationId")
	if _, err := a.findIntegration(c.UserContext(), id, models.IntegrationWebhook); err != nil {
		return err
	}
	secret, err := a.store.RotateSigningSecret(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(webhookCreated{ID: id, SigningSecret: secret})
}

// channelRoutes are the integration and contact routes (ChatBotKit's
// integration/telegram and contact families; integration/webhook is
// Parley's extension in the same shapes).
func (a *API) channelRoutes() []Route {
	get, post := fiber.MethodGet, fiber.MethodPost
	return []Route{
		{Method: get, Path: "/integration/telegram/list", OperationID: "listTelegramIntegrations", Tag: "integration", Summary: "List Telegram integrations", Query: listQuery, Stream: true,
			Response: list[telegramJSON]{}, handler: a.handleTelegramList},
		{Method: get, Path: "/integration/telegram/:telegramIntegrationId/fetch", OperationID: "fetchTelegramIntegration", Tag: "integration", Summary: "Fetch a Telegram integration (the bot token is never shown)",
			Response: telegramJSON{}, handler: a.handleTelegramFetch},
		{Method: post, Path: "/integration/telegram/create", OperationID: "createTelegramIntegration", Tag: "integration", Summary: "Create a Telegram integration (botId and botToken required; then call setup)",
			Request: telegramRequest{}, Response: idResponse{}, handler: a.handleTelegramCreate},
		{Method: post, Path: "/integration/telegram/:telegramIntegrationId/update", OperationID: "updateTelegramIntegration", Tag: "integration", Summary: "Update a Telegram integration (absent fields are kept; a new botToken needs setup again)",
			Request: telegramRequest{}, Response: idResponse{}, handler: a.handleTelegramUpdate},
		{Method: post, Path: "/integration/telegram/:telegramIntegrationId/delete", OperationID: "deleteTelegramIntegration", Tag: "integration", Summary: "Delete a Telegram integration with its delivery audit (its conversations are kept)",
			Request: struct{}{}, Response: idResponse{}, handler: a.handleTelegramDelete},
		{Method: post, Path: "/integration/telegram/:telegramIntegrationId/setup", OperationID: "setupTelegramIntegration", Tag: "integration", Summary: "Set up the bot: getMe checks the token, setWebhook points it at PARLEY_PUBLIC_URL with a new secret token",
			Request: struct{}{}, Response: setupResponse{}, handler: a.handleTelegramSetup},

		{Method: get, Path: "/integration/webhook/list", OperationID: "listWebhookIntegrations", Tag: "integration", Extension: true, Summary: "List generic webhook integrations", Query: listQuery, Stream: true,
			Response: list[webhookJSON]{}, handler: a.handleWebhookList},
		{Method: get, Path: "/integration/webhook/:webhookIntegrationId/fetch", OperationID: "fetchWebhookIntegration", Tag: "integration", Extension: true, Summary: "Fetch a webhook integration (the signing secret is never shown)",
			Response: webhookJSON{}, handler: a.handleWebhookFetch},
		{Method: post, Path: "/integration/webhook/create", OperationID: "createWebhookIntegration", Tag: "integration", Extension: true, Summary: "Create a webhook integration; the answer holds its signing secret, shown this once",
			Request: webhookRequest{}, Response: webhookCreated{}, handler: a.handleWebhookCreate},
		{Method: post, Path: "/integration/webhook/:webhookIntegrationId/update", OperationID: "updateWebhookIntegration", Tag: "integration", Extension: true, Summary: "Update a webhook integration (absent fields are kept)",
			Request: webhookRequest{}, Response: idResponse{}, handler: a.handleWebhookUpdate},
		{Method: post, Path: "/integration/webhook/:webhookIntegrationId/delete", OperationID: "deleteWebhookIntegration", Tag: "integration", Extension: true, Summary: "Delete a webhook integration with its delivery audit (its conversations are kept)",
			Request: struct{}{}, Response: idResponse{}, handler: a.handleWebhookDelete},
		{Method: post, Path: "/integration/webhook/:webhookIntegrationId/secret/rotate", OperationID: "rotateWebhookIntegrationSecret", Tag: "integration", Extension: true, Summary: "Give the webhook a new signing secret, shown this once (the old one stops working)",
			Request: struct{}{}, Response: webhookCreated{}, handler: a.handleWebhookRotate},

		{Method: get, Path: "/contact/list", OperationID: "listContacts", Tag: "contact", Summary: "List contacts", Query: listQuery, Stream: true,
			Response: list[contactJSON]{}, handler: a.handleContactList},
		{Method: get, Path: "/contact/:contactId/fetch", OperationID: "fetchContact", Tag: "contact", Summary: "Fetch a contact",
			Response: contactJSON{}, handler: a.handleContactFetch},
		{Method: post, Path: "/contact/create", OperationID: "createContact", Tag: "contact", Summary: "Create a contact (without a fingerprint it gets a random one)",
			Request: contactRequest{}, Response: idResponse{}, handler: a.handleContactCreate},
		{Method: post, Path: "/contact/ensure", OperationID: "ensureContact", Tag: "contact", Summary: "Get or create the contact with this fingerprint (race-safe)",
			Request: contactRequest{}, Response: ensureResponse{}, handler: a.handleContactEnsure},
		{Method: post, Path: "/contact/:contactId/update", OperationID: "updateContact", Tag: "contact", Summary: "Update a contact (absent fields are kept)",
			Request: contactRequest{}, Response: idResponse{}, handler: a.handleContactUpdate},
		{Method: post, Path: "/contact/:contactId/delete", OperationID: "deleteContact", Tag: "contact", Summary: "Delete a contact (its conversations are kept, without it)",
			Request: struct{}{}, Response: idResponse{}, handler: a.handleContactDelete},
		{Method: get, Path: "/contact/:contactId/conversation/list", OperationID: "listContactConversations", Tag: "contact", Summary: "List a contact's conversations", Query: listQuery, Stream: true,
			Response: list[conversationJSON]{}, handler: a.handleContactConversations},
	}
}
