package api

import (
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
	"parley/models/store"
)

// botRequest is the body of bot/create and bot/{botId}/update. Absent fields
// are left as they are on update. datasetId and skillsetId are ChatBotKit's
// single attachment: giving one replaces the bot's datasets (skillsets) with
// it, and "" detaches them all.
type botRequest struct {
	Alias       *string     `json:"alias" validate:"omitempty,max=100"`
	Name        *string     `json:"name" validate:"omitempty,max=200"`
	Description *string     `json:"description" validate:"omitempty,max=4000"`
	Meta        models.Meta `json:"meta"`
	Model       *string     `json:"model" validate:"omitempty,max=200"`
	Backstory   *string     `json:"backstory" validate:"omitempty,max=100000"`
	DatasetID   *string     `json:"datasetId" validate:"omitempty,max=36"`
	SkillsetID  *string     `json:"skillsetId" validate:"omitempty,max=36"`
	Privacy     *bool       `json:"privacy"`
	Moderation  *bool       `json:"moderation"`
	BlueprintID *string     `json:"blueprintId"`
	Visibility  *string     `json:"visibility" validate:"omitempty,oneof=private protected public"`
}

// botJSON is a bot as the API shows it. datasetIds and skillsetIds (a Parley
// extension) list every attachment; datasetId and skillsetId name the first.
type botJSON struct {
	ID          string      `json:"id"`
	Alias       *string     `json:"alias,omitempty"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Meta        models.Meta `json:"meta"`
	CreatedAt   int64       `json:"createdAt"`
	UpdatedAt   int64       `json:"updatedAt"`
	Model       string      `json:"model"`
	Backstory   string      `json:"backstory"`
	DatasetID   string      `json:"datasetId,omitempty"`
	SkillsetID  string      `json:"skillsetId,omitempty"`
	DatasetIDs  []string    `json:"datasetIds"`
	SkillsetIDs []string    `json:"skillsetIds"`
	Privacy     bool        `json:"privacy"`
	Moderation  bool        `json:"moderation"`
	Visibility  string      `json:"visibility"`
	// Version (a Parley extension) is the number of the bot's latest
	// version, the one that answers now.
	Version int `json:"version,omitempty"`
}

// versionedBot is a bot with the number of its latest version.
type versionedBot struct {
	models.Bot
	Version int
}

// withVersions pairs bots with their latest version numbers.
func (a *API) withVersions(ctx context.Context, bots []models.Bot) ([]versionedBot, error) {
	ids := make([]string, 0, len(bots))
	for _, b := range bots {
		ids = append(ids, b.ID)
	}
	nums, err := a.store.LatestBotVersions(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]versionedBot, 0, len(bots))
	for _, b := range bots {
		out = append(out, versionedBot{Bot: b, Version: nums[b.ID]})
	}
	return out, nil
}

func toVersionedBot(v *versionedBot) botJSON {
	out := toBot(&v.Bot)
	out.Version = v.Version
	return out
}

func toBot(b *models.Bot) botJSON {
	out := botJSON{ID: b.ID, Alias: b.Alias, Name: b.Name, Description: b.Description, Meta: meta(b.Meta),
		CreatedAt: ms(b.CreatedAt), UpdatedAt: ms(b.UpdatedAt), Model: b.Model, Backstory: b.Backstory,
		Privacy: b.Privacy, Moderation: b.Moderation, Visibility: b.Visibility,
		DatasetIDs: []string{}, SkillsetIDs: []string{}}
	for _, d := range b.Datasets {
		out.DatasetIDs = append(out.DatasetIDs, d.ID)
	}
	for _, k := range b.Skillsets {
		out.SkillsetIDs = append(out.SkillsetIDs, k.ID)
	}
	if len(out.DatasetIDs) > 0 {
		out.DatasetID = out.DatasetIDs[0]
	}
	if len(out.SkillsetIDs) > 0 {
		out.SkillsetID = out.SkillsetIDs[0]
	}
	return out
}

// meta never shows null.
func meta(m models.Meta) models.Meta {
	if m == nil {
		return models.Meta{}
	}
	return m
}

func noBlueprint(id *string) error {
	if id != nil && *id != "" {
		return models.FieldError("blueprintId", "Parley has no blueprints: leave blueprintId out.")
	}
	return nil
}

// apply copies the given fields onto b and returns the attachment lists to write.
func (r *botRequest) apply(b *models.Bot) (datasets, skillsets []string) {
	setStr(&b.Name, r.Name)
	setStr(&b.Description, r.Description)
	setStr(&b.Model, r.Model)
	setStr(&b.Backstory, r.Backstory)
	setStr(&b.Visibility, r.Visibility)
	b.Alias = optional(b.Alias, r.Alias)
	if r.Meta != nil {
		b.Meta = r.Meta
	}
	if r.Privacy != nil {
		b.Privacy = *r.Privacy
	}
	if r.Moderation != nil {
		b.Moderation = *r.Moderation
	}
	return single(r.DatasetID), single(r.SkillsetID)
}

// single maps ChatBotKit's one optional id onto an attachment list: nil leaves
// the attachments alone, "" clears them.
func single(id *string) []string {
	if id == nil {
		return nil
	}
	if v := strings.TrimSpace(*id); v != "" {
		return []string{v}
	}
	return []string{}
}

func setStr(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

// attachmentField renames the store's list fields to the API's single ones.
func attachmentField(err error) error {
	var me *models.Error
	if !errors.As(err, &me) || me.Fields == nil {
		return err
	}
	for from, to := range map[string]string{"datasetIds": "datasetId", "skillsetIds": "skillsetId"} {
		if msg, ok := me.Fields[from]; ok {
			return models.FieldError(to, msg)
		}
	}
	return err
}

// handleBotList handles GET /api/v1/bot/list.
func (a *API) handleBotList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	return sendList(a, c, p, func(ctx context.Context, p models.Page) ([]versionedBot, string, error) {
		bots, next, err := a.store.FindBots(ctx, models.BotFilter{Page: p})
		if err != nil {
			return nil, "", err
		}
		vs, err := a.withVersions(ctx, bots)
		return vs, next, err
	}, toVersionedBot, func(b *versionedBot) string { return b.ID })
}

// handleBotFetch handles GET /api/v1/bot/{botId}/fetch.
func (a *API) handleBotFetch(c *fiber.Ctx) error {
	b, err := a.store.FindBot(c.UserContext(), c.Params("botId"))
	if err != nil {
		return err
	}
	vs, err := a.withVersions(c.UserContext(), []models.Bot{*b})
	if err != nil {
		return err
	}
	return c.JSON(toVersionedBot(&vs[0]))
}

// handleBotCreate handles POST /api/v1/bot/create.
func (a *API) handleBotCreate(c *fiber.Ctx) error {
	var r botRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := noBlueprint(r.BlueprintID); err != nil {
		return err
	}
	if err := a.checkModel(c.UserContext(), r.Model); err != nil {
		return err
	}
	b := models.Bot{Model: "local", Visibility: models.VisibilityPrivate}
	ds, ks := r.apply(&b)
	created, err := a.store.CreateBot(c.UserContext(), store.BotInput{Bot: b, DatasetIDs: ds, SkillsetIDs: ks})
	if err != nil {
		return attachmentField(err)
	}
	return c.JSON(idResponse{ID: created.ID})
}

// handleBotUpdate handles POST /api/v1/bot/{botId}/update.
func (a *API) handleBotUpdate(c *fiber.Ctx) error {
	b, err := a.store.FindBot(c.UserContext(), c.Params("botId"))
	if err != nil {
		return err
	}
	var r botRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := noBlueprint(r.BlueprintID); err != nil {
		return err
	}
	if err := a.checkModel(c.UserContext(), r.Model); err != nil {
		return err
	}
	ds, ks := r.apply(b)
	b.Datasets, b.Skillsets = nil, nil
	if _, err := a.store.UpdateBot(c.UserContext(), store.BotInput{Bot: *b, DatasetIDs: ds, SkillsetIDs: ks}); err != nil {
		return attachmentField(err)
	}
	return c.JSON(idResponse{ID: b.ID})
}

// handleBotDelete handles POST /api/v1/bot/{botId}/delete.
func (a *API) handleBotDelete(c *fiber.Ctx) error {
	return a.deleteByID(c, "botId", a.store.DeleteBot)
}
