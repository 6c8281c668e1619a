package api

import (
	"github.com/gofiber/fiber/v2"

	"parley/models"
	"parley/models/store"
)

// widgetRequest is the body of integration/widget/create and
// integration/widget/{widgetIntegrationId}/update, in ChatBotKit's names;
// absent fields are kept on update. requireIdentity and tokenLifetime are
// Parley's extensions.
type widgetRequest struct {
	Name                *string     `json:"name" validate:"omitempty,max=200"`
	Description         *string     `json:"description" validate:"omitempty,max=4000"`
	Meta                models.Meta `json:"meta"`
	BlueprintID         *string     `json:"blueprintId"`
	BotID               *string     `json:"botId" validate:"omitempty,max=36"`
	Theme               *string     `json:"theme"`
	Layout              *string     `json:"layout"`
	Title               *string     `json:"title"`
	Intro               *string     `json:"intro"`
	Initial             *string     `json:"initial"`
	Placeholder         *string     `json:"placeholder"`
	Origin              *string     `json:"origin"`
	SessionDuration     *int64      `json:"sessionDuration"`
	Language            *string     `json:"language"`
	Stream              *bool       `json:"stream"`
	ContactCollection   *bool       `json:"contactCollection"`
	ExportConversation  *bool       `json:"exportConversation"`
	RestartConversation *bool       `json:"restartConversation"`
	PoweredBy           *bool       `json:"poweredBy"`
	RequireIdentity     *bool       `json:"requireIdentity"`
	TokenLifetime       *int64      `json:"tokenLifetime"`
}

func (r *widgetRequest) apply(it *models.Integration) {
	setStr(&it.Name, r.Name)
	setStr(&it.Description, r.Description)
	if r.Meta != nil {
		it.Meta = r.Meta
	}
	if r.BotID != nil {
		it.BotID = r.BotID
	}
	w := &it.Widget
	for _, f := range []struct {
		dst *string
		v   *string
	}{{&w.Theme, r.Theme}, {&w.Layout, r.Layout}, {&w.Title, r.Title}, {&w.Intro, r.Intro}, {&w.Initial, r.Initial},
		{&w.Placeholder, r.Placeholder}, {&w.Origin, r.Origin}, {&w.Language, r.Language}} {
		setStr(f.dst, f.v)
	}
	for _, f := range []struct {
		dst *bool
		v   *bool
	}{{&w.Stream, r.Stream}, {&w.ContactCollection, r.ContactCollection}, {&w.ExportConversation, r.ExportConversation},
		{&w.RestartConversation, r.RestartConversation}, {&w.PoweredBy, r.PoweredBy}, {&w.RequireIdentity, r.RequireIdentity}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if r.SessionDuration != nil {
		it.SessionDuration = *r.SessionDuration
	}
	if r.TokenLifetime != nil {
		w.TokenLifetime = *r.TokenLifetime
	}
}

// widgetJSON is a widget integration as the API shows it.
type widgetJSON struct {
	ID                  string      `json:"id"`
	Name                string      `json:"name"`
	Description         string      `json:"description"`
	Meta                models.Meta `json:"meta"`
	BotID               string      `json:"botId,omitempty"`
	Theme               string      `json:"theme"`
	Layout              string      `json:"layout"`
	Title               string      `json:"title"`
	Intro               string      `json:"intro"`
	Initial             string      `json:"initial"`
	Placeholder         string      `json:"placeholder"`
	Origin              string      `json:"origin"`
	SessionDuration     int64       `json:"sessionDuration"`
	Language            string      `json:"language"`
	Stream              bool        `json:"stream"`
	ContactCollection   bool        `json:"contactCollection"`
	ExportConversation  bool        `json:"exportConversation"`
	RestartConversation bool        `json:"restartConversation"`
	PoweredBy           bool        `json:"poweredBy"`
	RequireIdentity     bool        `json:"requireIdentity"`
	TokenLifetime       int64       `json:"tokenLifetime"`
	CreatedAt           int64       `json:"createdAt"`
	UpdatedAt           int64       `json:"updatedAt"`
}

func toWidget(it *models.Integration) widgetJSON {
	w := it.Widget
	out := widgetJSON{ID: it.ID, Name: it.Name, Description: it.Description, Meta: meta(it.Meta), Theme: w.Theme, Layout: w.Layout,
		Title: w.Title, Intro: w.Intro, Initial: w.Initial, Placeholder: w.Placeholder, Origin: w.Origin, SessionDuration: it.SessionDuration,
		Language: w.Language, Stream: w.Stream, ContactCollection: w.ContactCollection, ExportConversation: w.ExportConversation,
		RestartConversation: w.RestartConversation, PoweredBy: w.PoweredBy, RequireIdentity: w.RequireIdentity, TokenLifetime: w.TokenLifetime,
		CreatedAt: ms(it.CreatedAt), UpdatedAt: ms(it.UpdatedAt)}
	if it.BotID != nil {
		out.BotID = *it.BotID
	}
	return out
}

// widgetCreateResponse is ChatBotKit's {id} plus, once, the identity secret
// that signs user ids (Parley's extension).
type widgetCreateResponse struct {
	ID             string `json:"id"`
	IdentitySecret string `json:"identitySecret"`
}

// widgetSetupResponse is ChatBotKit's {id} plus the script to embed.
type widgetSetupResponse struct {
	ID     string `json:"id"`
	Script string `json:"script"`
}

// widgetRoutes are the widget integration's routes, appended to the table.
func (a *API) widgetRoutes() []Route {
	get, post := fiber.MethodGet, fiber.MethodPost
	return []Route{
		{Method: get, Path: "/integration/widget/list", OperationID: "listWidgetIntegrations", Tag: "integration", Summary: "List widget integrations", Query: listQuery, Stream: true,
			Response: list[widgetJSON]{}, handler: a.handleWidgetList},
		{Method: get, Path: "/integration/widget/:widgetIntegrationId/fetch", OperationID: "fetchWidgetIntegration", Tag: "integration", Summary: "Fetch a widget integration",
			Response: widgetJSON{}, handler: a.handleWidgetFetch},
		{Method: post, Path: "/integration/widget/create", OperationID: "createWidgetIntegration", Tag: "integration", Summary: "Create a widget integration (its identity secret is returned once)",
			Request: widgetRequest{}, Response: widgetCreateResponse{}, handler: a.handleWidgetCreate},
		{Method: post, Path: "/integration/widget/:widgetIntegrationId/update", OperationID: "updateWidgetIntegration", Tag: "integration", Summary: "Update a widget integration (absent fields are kept)",
			Request: widgetRequest{}, Response: idResponse{}, handler: a.handleWidgetUpdate},
		{Method: post, Path: "/integration/widget/:widgetIntegrationId/delete", OperationID: "deleteWidgetIntegration", Tag: "integration", Summary: "Delete a widget integration (its conversations are kept, its session tokens end)",
			Request: struct{}{}, Response: idResponse{}, handler: a.handleWidgetDelete},
		{Method: post, Path: "/integration/widget/:widgetIntegrationId/setup", OperationID: "setupWidgetIntegration", Tag: "integration", Summary: "Set a widget integration up: answers the script to embed",
			Request: struct{}{}, Response: widgetSetupResponse{}, handler: a.handleWidgetSetup},
	}
}

// findWidget returns the widget integration of the path, or not_found.
func (a *API) findWidget(c *fiber.Ctx) (*models.Integration, error) {
	return a.findIntegration(c.UserContext(), c.Params("widgetIntegrationId"), models.IntegrationWidget)
}

// handleWidgetList handles GET /api/v1/integration/widget/list.
func (a *API) handleWidgetList(c *fiber.Ctx) error {
	return a.listIntegrations(c, models.IntegrationWidget, func(it *models.Integration) any { return toWidget(it) })
}

// handleWidgetFetch handles GET /api/v1/integration/widget/{widgetIntegrationId}/fetch.
func (a *API) handleWidgetFetch(c *fiber.Ctx) error {
	it, err := a.findWidget(c)
	if err != nil {
		return err
	}
	return c.JSON(toWidget(it))
}

// handleWidgetCreate handles POST /api/v1/integration/widget/create.
func (a *API) handleWidgetCreate(c *fiber.Ctx) error {
	var r widgetRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := noBlueprint(r.BlueprintID); err != nil {
		return err
	}
	it := models.Integration{Type: models.IntegrationWidget, Meta: models.Meta{}}
	r.apply(&it)
	created, secret, err := a.store.CreateIntegration(c.UserContext(), store.IntegrationInput{Integration: it})
	if err != nil {
		return err
	}
	return c.JSON(widgetCreateResponse{ID: created.ID, IdentitySecret: secret})
}

// handleWidgetUpdate handles POST /api/v1/integration/widget/{widgetIntegrationId}/update.
func (a *API) handleWidgetUpdate(c *fiber.Ctx) error {
	it, err := a.findWidget(c)
	if err != nil {
		return err
	}
	var r widgetRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := noBlueprint(r.BlueprintID); err != nil {
		return err
	}
	r.apply(it)
	if _, err := a.store.UpdateIntegration(c.UserContext(), store.IntegrationInput{Integration: *it}); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: it.ID})
}

// handleWidgetDelete handles POST /api/v1/integration/widget/{widgetIntegrationId}/delete.
func (a *API) handleWidgetDelete(c *fiber.Ctx) error {
	return a.deleteIntegration(c, c.Params("widgetIntegrationId"), models.IntegrationWidget)
}

// handleWidgetSetup handles POST /api/v1/integration/widget/{widgetIntegrationId}/setup:
// a widget needs no outside setup; the answer names the script to embed.
func (a *API) handleWidgetSetup(c *fiber.Ctx) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	it, err := a.findWidget(c)
	if err != nil {
		return err
	}
	return c.JSON(widgetSetupResponse{ID: it.ID, Script: c.BaseURL() + "/widget/" + it.ID + ".js"})
}
