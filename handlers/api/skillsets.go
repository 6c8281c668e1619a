package api

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// skillsetRequest is the body of skillset/create and skillset/{skillsetId}/update.
type skillsetRequest struct {
	Alias       *string     `json:"alias" validate:"omitempty,max=100"`
	Name        *string     `json:"name" validate:"omitempty,max=200"`
	Description *string     `json:"description" validate:"omitempty,max=4000"`
	Meta        models.Meta `json:"meta"`
	BlueprintID *string     `json:"blueprintId"`
	Visibility  *string     `json:"visibility" validate:"omitempty,oneof=private protected public"`
}

func (r *skillsetRequest) apply(k *models.Skillset) {
	k.Alias = optional(k.Alias, r.Alias)
	setStr(&k.Name, r.Name)
	setStr(&k.Description, r.Description)
	setStr(&k.Visibility, r.Visibility)
	if r.Meta != nil {
		k.Meta = r.Meta
	}
}

type skillsetJSON struct {
	ID          string      `json:"id"`
	Alias       *string     `json:"alias,omitempty"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Meta        models.Meta `json:"meta"`
	CreatedAt   int64       `json:"createdAt"`
	UpdatedAt   int64       `json:"updatedAt"`
	Visibility  string      `json:"visibility"`
}

func toSkillset(k *models.Skillset) skillsetJSON {
	return skillsetJSON{ID: k.ID, Alias: k.Alias, Name: k.Name, Description: k.Description, Meta: meta(k.Meta),
		CreatedAt: ms(k.CreatedAt), UpdatedAt: ms(k.UpdatedAt), Visibility: k.Visibility}
}

// handleSkillsetList handles GET /api/v1/skillset/list.
func (a *API) handleSkillsetList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	return sendList(a, c, p, a.store.FindSkillsets, toSkillset, func(k *models.Skillset) string { return k.ID })
}

// handleSkillsetFetch handles GET /api/v1/skillset/{skillsetId}/fetch.
func (a *API) handleSkillsetFetch(c *fiber.Ctx) error {
	k, err := a.store.FindSkillset(c.UserContext(), c.Params("skillsetId"))
	if err != nil {
		return err
	}
	return c.JSON(toSkillset(k))
}

// handleSkillsetCreate handles POST /api/v1/skillset/create.
func (a *API) handleSkillsetCreate(c *fiber.Ctx) error {
	var r skillsetRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := noBlueprint(r.BlueprintID); err != nil {
		return err
	}
	k := models.Skillset{Visibility: models.VisibilityPrivate}
	r.apply(&k)
	created, err := a.store.CreateSkillset(c.UserContext(), k)
	if err != nil {
		return err
	}
	return c.JSON(idResponse{ID: created.ID})
}

// handleSkillsetUpdate handles POST /api/v1/skillset/{skillsetId}/update.
func (a *API) handleSkillsetUpdate(c *fiber.Ctx) error {
	k, err := a.store.FindSkillset(c.UserContext(), c.Params("skillsetId"))
	if err != nil {
		return err
	}
	var r skillsetRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := noBlueprint(r.BlueprintID); err != nil {
		return err
	}
	r.apply(k)
	if _, err := a.store.UpdateSkillset(c.UserContext(), *k); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: k.ID})
}

// handleSkillsetDelete handles POST /api/v1/skillset/{skillsetId}/delete.
func (a *API) handleSkillsetDelete(c *fiber.Ctx) error {
	return a.deleteByID(c, "skillsetId", a.store.DeleteSkillset)
}

// abilityRequest is the body of ability/create (name required) and ability/update.
// An action that runs is named in meta.action, as in the dashboard
// ("builtin:calculator", "fetch": see the README); without one, the
// instruction only goes into the prompt.
type abilityRequest struct {
	Name        *string     `json:"name" validate:"omitempty,max=200"`
	Description *string     `json:"description" validate:"omitempty,max=4000"`
	Meta        models.Meta `json:"meta"`
	BlueprintID *string     `json:"blueprintId"`
	SecretID    *string     `json:"secretId" validate:"omitempty,max=36"`
	FileID      *string     `json:"fileId" validate:"omitempty,max=36"`
	BotID       *string     `json:"botId" validate:"omitempty,max=36"`
	SpaceID     *string     `json:"spaceId"`
	Instruction *string     `json:"instruction" validate:"omitempty,max=20000"`
}

func (r *abilityRequest) apply(ab *models.Ability) {
	setStr(&ab.Name, r.Name)
	setStr(&ab.Description, r.Description)
	setStr(&ab.Instruction, r.Instruction)
	if r.Meta != nil {
		ab.Meta = r.Meta
	}
	ab.SecretID = optional(ab.SecretID, r.SecretID)
	ab.FileID = optional(ab.FileID, r.FileID)
	ab.BotID = optional(ab.BotID, r.BotID)
}

// optional applies an optional id: absent keeps cur, "" clears it.
func optional(cur, v *string) *string {
	if v == nil {
		return cur
	}
	if s := strings.TrimSpace(*v); s != "" {
		return &s
	}
	return nil
}

func (r *abilityRequest) check() error {
	if err := noBlueprint(r.BlueprintID); err != nil {
		return err
	}
	if r.SpaceID != nil && *r.SpaceID != "" {
		return models.FieldError("spaceId", "Parley has no spaces: leave spaceId out.")
	}
	return nil
}

type abilityJSON struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Meta        models.Meta `json:"meta"`
	CreatedAt   int64       `json:"createdAt"`
	UpdatedAt   int64       `json:"updatedAt"`
	SecretID    *string     `json:"secretId,omitempty"`
	FileID      *string     `json:"fileId,omitempty"`
	BotID       *string     `json:"botId,omitempty"`
	Instruction string      `json:"instruction"`
}

func toAbility(ab *models.Ability) abilityJSON {
	return abilityJSON{ID: ab.ID, Name: ab.Name, Description: ab.Description, Meta: meta(ab.Meta),
		CreatedAt: ms(ab.CreatedAt), UpdatedAt: ms(ab.UpdatedAt), SecretID: ab.SecretID, FileID: ab.FileID,
		BotID: ab.BotID, Instruction: ab.Instruction}
}

// handleAbilityList handles GET /api/v1/skillset/{skillsetId}/ability/list.
func (a *API) handleAbilityList(c *fiber.Ctx) error {
	k, err := a.store.FindSkillset(c.UserContext(), c.Params("skillsetId"))
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	return sendList(a, c, p, func(ctx context.Context, p models.Page) ([]models.Ability, string, error) {
		return a.store.FindAbilities(ctx, k.ID, p)
	}, toAbility, func(ab *models.Ability) string { return ab.ID })
}

// handleAbilityFetch handles GET /api/v1/skillset/{skillsetId}/ability/{abilityId}/fetch.
func (a *API) handleAbilityFetch(c *fiber.Ctx) error {
	ab, err := a.store.FindAbility(c.UserContext(), c.Params("skillsetId"), c.Params("abilityId"))
	if err != nil {
		return err
	}
	return c.JSON(toAbility(ab))
}

// handleAbilityCreate handles POST /api/v1/skillset/{skillsetId}/ability/create.
func (a *API) handleAbilityCreate(c *fiber.Ctx) error {
	k, err := a.store.FindSkillset(c.UserContext(), c.Params("skillsetId"))
	if err != nil {
		return err
	}
	var r abilityRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := r.check(); err != nil {
		return err
	}
	if r.Name == nil || strings.TrimSpace(*r.Name) == "" {
		return models.FieldError("name", "Name is required.")
	}
	ab := models.Ability{SkillsetID: k.ID}
	r.apply(&ab)
	if err := a.checkAbility(c.UserContext(), ab); err != nil {
		return err
	}
	created, err := a.store.CreateAbility(c.UserContext(), ab)
	if err != nil {
		return err
	}
	return c.JSON(idResponse{ID: created.ID})
}

// handleAbilityUpdate handles POST /api/v1/skillset/{skillsetId}/ability/{abilityId}/update.
func (a *API) handleAbilityUpdate(c *fiber.Ctx) error {
	ab, err := a.store.FindAbility(c.UserContext(), c.Params("skillsetId"), c.Params("abilityId"))
	if err != nil {
		return err
	}
	var r abilityRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := r.check(); err != nil {
		return err
	}
	if r.Name != nil && strings.TrimSpace(*r.Name) == "" {
		return models.FieldError("name", "Name cannot be empty.")
	}
	r.apply(ab)
	if r.Meta != nil { // an unchanged action was checked when it was saved
		if err := a.checkAbility(c.UserContext(), *ab); err != nil {
			return err
		}
	}
	if _, err := a.store.UpdateAbility(c.UserContext(), *ab); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: ab.ID})
}

// handleAbilityDelete handles POST /api/v1/skillset/{skillsetId}/ability/{abilityId}/delete.
func (a *API) handleAbilityDelete(c *fiber.Ctx) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	id := c.Params("abilityId")
	if err := a.store.DeleteAbility(c.UserContext(), c.Params("skillsetId"), id); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: id})
}
