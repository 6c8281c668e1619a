package handlers

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// registerSkillsets registers the skillset and ability routes.
func (s *Server) registerSkillsets() {
	s.handle(fiber.MethodGet, "/skillsets", models.PermConfigRead, s.handleSkillsetIndex)
	s.handle(fiber.MethodGet, "/skillsets/new", models.PermConfigWrite, s.handleSkillsetNew)
	s.handle(fiber.MethodPost, "/skillsets", models.PermConfigWrite, s.handleSkillsetCreate)
	s.handle(fiber.MethodGet, "/skillsets/:id", models.PermConfigRead, s.handleSkillsetShow)
	s.handle(fiber.MethodGet, "/skillsets/:id/edit", models.PermConfigWrite, s.handleSkillsetEdit)
	s.handle(fiber.MethodPost, "/skillsets/:id", models.PermConfigWrite, s.handleSkillsetUpdate)
	s.handle(fiber.MethodGet, "/skillsets/:id/delete", models.PermConfigWrite, s.handleSkillsetDeleteConfirm)
	s.handle(fiber.MethodPost, "/skillsets/:id/delete", models.PermConfigWrite, s.handleSkillsetDelete)
	s.handle(fiber.MethodGet, "/skillsets/:id/abilities/new", models.PermConfigWrite, s.handleAbilityNew)
	s.handle(fiber.MethodPost, "/skillsets/:id/abilities", models.PermConfigWrite, s.handleAbilityCreate)
	s.handle(fiber.MethodGet, "/skillsets/:id/abilities/:abilityId/edit", models.PermConfigWrite, s.handleAbilityEdit)
	s.handle(fiber.MethodPost, "/skillsets/:id/abilities/:abilityId", models.PermConfigWrite, s.handleAbilityUpdate)
	s.handle(fiber.MethodGet, "/skillsets/:id/abilities/:abilityId", models.PermConfigRead, s.handleAbilityShow)
	s.handle(fiber.MethodPost, "/skillsets/:id/abilities/:abilityId/try", models.PermConversationRun, s.handleAbilityTry)
	s.handle(fiber.MethodGet, "/skillsets/:id/abilities/:abilityId/delete", models.PermConfigWrite, s.handleAbilityDeleteConfirm)
	s.handle(fiber.MethodPost, "/skillsets/:id/abilities/:abilityId/delete", models.PermConfigWrite, s.handleAbilityDelete)
}

// skillsetForm is the body of the skillset form; its names are the model's JSON
// names, so the store's validation messages land next to the right field.
type skillsetForm struct {
	Name        string `form:"name" validate:"required,max=200"`
	Description string `form:"description" validate:"max=4000"`
	Meta        string `form:"meta"`
}

type skillsetFormPage struct {
	Page
	Form     skillsetForm
	Errors   map[string]string
	Action   string
	Skillset *models.Skillset
}

type skillsetIndexPage struct {
	Page
	Skillsets []models.Skillset
	Next      string
	Cursor    string
}

type skillsetShowPage struct {
	Page
	Skillset  *models.Skillset
	Bots      []models.BotRef
	Abilities []models.Ability
	Next      string
	Cursor    string
}

type abilityFormPage struct {
	Page
	Form     abilityForm
	Errors   map[string]string
	Action   string
	Skillset *models.Skillset
	Ability  *models.Ability
	// Secrets are the vault's secret names, offered for fetch headers.
	Secrets []string
}

// Choices are the kinds of action the picker offers.
func (abilityFormPage) Choices() []actionChoice { return actionChoices }

// ParamTypes are the types a fetch parameter may have.
func (abilityFormPage) ParamTypes() []string { return paramTypes }

// handleSkillsetIndex handles GET /skillsets.
func (s *Server) handleSkillsetIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	ks, next, err := s.store.FindSkillsets(c.UserContext(), p)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplSkillsetsIndex, skillsetIndexPage{Page: s.page(c, "Skillsets", "skillsets"),
		Skillsets: ks, Next: next, Cursor: p.Cursor})
}

// handleSkillsetNew handles GET /skillsets/new.
func (s *Server) handleSkillsetNew(c *fiber.Ctx) error {
	return s.renderSkillsetForm(c, fiber.StatusOK, nil, skillsetForm{}, nil)
}

func (s *Server) renderSkillsetForm(c *fiber.Ctx, status int, k *models.Skillset, f skillsetForm, errs map[string]string) error {
	title, action := "New skillset", "/skillsets"
	if k != nil {
		title, action = "Edit "+k.Name, "/skillsets/"+k.ID
	}
	return s.render(c, status, tplSkillsetsForm, skillsetFormPage{Page: s.page(c, title, "skillsets"), Form: f, Errors: errs,
		Action: action, Skillset: k})
}

// skillset reads the form into a skillset, or returns an invalid-input error.
func (f *skillsetForm) skillset() (models.Skillset, error) {
	f.Name = strings.TrimSpace(f.Name)
	if err := models.Validate(f); err != nil {
		return models.Skillset{}, err
	}
	meta, err := models.ParseMeta("meta", f.Meta)
	if err != nil {
		return models.Skillset{}, err
	}
	return models.Skillset{Name: f.Name, Description: f.Description, Meta: meta}, nil
}

// handleSkillsetCreate handles POST /skillsets.
func (s *Server) handleSkillsetCreate(c *fiber.Ctx) error {
	var f skillsetForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	k, err := f.skillset()
	if err == nil {
		var created *models.Skillset
		created, err = s.store.CreateSkillset(c.UserContext(), k)
		if err == nil {
			setFlash(c, fmt.Sprintf("Skillset %q created. Add its first ability.", created.Name))
			return redirect(c, "/skillsets/"+created.ID)
		}
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderSkillsetForm(c, fiber.StatusUnprocessableEntity, nil, f, fields)
	}
	return err
}

// handleSkillsetShow handles GET /skillsets/:id: details, the bots using it and
// its abilities, one cursor page at a time.
func (s *Server) handleSkillsetShow(c *fiber.Ctx) error {
	k, err := s.store.FindSkillset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	p, err := listPage(c)
	if err != nil {
		return err
	}
	bots, err := s.store.BotsUsingSkillset(c.UserContext(), k.ID)
	if err != nil {
		return err
	}
	abilities, next, err := s.store.FindAbilities(c.UserContext(), k.ID, p)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplSkillsetsShow, skillsetShowPage{Page: s.page(c, k.Name, "skillsets"), Skillset: k,
		Bots: bots, Abilities: abilities, Next: next, Cursor: p.Cursor})
}

// handleSkillsetEdit handles GET /skillsets/:id/edit.
func (s *Server) handleSkillsetEdit(c *fiber.Ctx) error {
	k, err := s.store.FindSkillset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	f := skillsetForm{Name: k.Name, Description: k.Description, Meta: k.Meta.String()}
	return s.renderSkillsetForm(c, fiber.StatusOK, k, f, nil)
}

// handleSkillsetUpdate handles POST /skillsets/:id.
func (s *Server) handleSkillsetUpdate(c *fiber.Ctx) error {
	k, err := s.store.FindSkillset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	var f skillsetForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	in, err := f.skillset()
	if err == nil {
		// Fields the form does not show are kept.
		in.ID, in.Alias, in.Visibility = k.ID, k.Alias, k.Visibility
		_, err = s.store.UpdateSkillset(c.UserContext(), in)
		if err == nil {
			setFlash(c, "Skillset saved.")
			return redirect(c, "/skillsets/"+k.ID)
		}
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderSkillsetForm(c, fiber.StatusUnprocessableEntity, k, f, fields)
	}
	return err
}

// skillsetUsedBy names the bots that use a skillset, for confirmation pages.
func skillsetUsedBy(bots []models.BotRef) string {
	names := make([]string, len(bots))
	for i, b := range bots {
		names[i] = b.Name
		if names[i] == "" {
			names[i] = "(unnamed " + b.ID + ")"
		}
	}
	return strings.Join(names, ", ")
}

// handleSkillsetDeleteConfirm handles GET /skillsets/:id/delete: it names the
// bots that lose the skillset and counts the abilities deleted with it.
func (s *Server) handleSkillsetDeleteConfirm(c *fiber.Ctx) error {
	k, err := s.store.FindSkillset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	bots, err := s.store.BotsUsingSkillset(c.UserContext(), k.ID)
	if err != nil {
		return err
	}
	// One bounded page is enough to say how many abilities go.
	abilities, more, err := s.store.FindAbilities(c.UserContext(), k.ID, models.Page{Limit: models.MaxPageSize})
	if err != nil {
		return err
	}
	body := []string{"The skillset will be deleted. This cannot be undone."}
	switch {
	case more != "":
		body = append(body, fmt.Sprintf("More than %d abilities are deleted with it.", len(abilities)))
	case len(abilities) == 1:
		body = append(body, "Its 1 ability is deleted with it.")
	case len(abilities) > 1:
		body = append(body, fmt.Sprintf("Its %d abilities are deleted with it.", len(abilities)))
	default:
		body = append(body, "It has no abilities.")
	}
	switch len(bots) {
	case 0:
		body = append(body, "No bot uses it.")
	case 1:
		body = append(body, fmt.Sprintf("It is used by bot %s: deleting detaches it from that bot.", skillsetUsedBy(bots)))
	default:
		body = append(body, fmt.Sprintf("It is used by bots %s: deleting detaches it from them.", skillsetUsedBy(bots)))
	}
	body = append(body, "Conversations set up with it keep their messages.")
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Delete "+k.Name, "skillsets"), Heading: fmt.Sprintf("Delete skillset %q?", k.Name),
		Body: body, Action: "/skillsets/" + k.ID + "/delete", Button: "Delete skillset", Cancel: "/skillsets/" + k.ID,
	})
}

// handleSkillsetDelete handles POST /skillsets/:id/delete.
func (s *Server) handleSkillsetDelete(c *fiber.Ctx) error {
	k, err := s.store.FindSkillset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteSkillset(c.UserContext(), k.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Skillset %q deleted.", k.Name))
	return redirect(c, "/skillsets")
}

// findAbility loads the skillset and the ability named by the path; an ability
// of another skillset is not found.
func (s *Server) findAbility(c *fiber.Ctx) (*models.Skillset, *models.Ability, error) {
	k, err := s.store.FindSkillset(c.UserContext(), c.Params("id"))
	if err != nil {
		return nil, nil, err
	}
	a, err := s.store.FindAbility(c.UserContext(), k.ID, c.Params("abilityId"))
	if err != nil {
		return nil, nil, err
	}
	return k, a, nil
}

// handleAbilityNew handles GET /skillsets/:id/abilities/new.
func (s *Server) handleAbilityNew(c *fiber.Ctx) error {
	k, err := s.store.FindSkillset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.renderAbilityForm(c, fiber.StatusOK, k, nil, abilityForm{}, nil)
}

func (s *Server) renderAbilityForm(c *fiber.Ctx, status int, k *models.Skillset, a *models.Ability, f abilityForm, errs map[string]string) error {
	title, action := "New ability", "/skillsets/"+k.ID+"/abilities"
	if a != nil {
		title, action = "Edit ability "+a.Name, "/skillsets/"+k.ID+"/abilities/"+a.ID
	}
	if f.Editor == "" {
		f.Editor = editorForm
	}
	secrets, err := s.store.VaultSecretNames(c.UserContext(), 200)
	if err != nil {
		return err
	}
	return s.render(c, status, tplAbilityForm, abilityFormPage{Page: s.page(c, title, "skillsets"), Form: f, Errors: errs,
		Action: action, Skillset: k, Ability: a, Secrets: secrets})
}

// abilityFormError re-renders the form: after a switch between the form and
// the JSON view (200), or with the field errors (422).
func (s *Server) abilityFormError(c *fiber.Ctx, k *models.Skillset, a *models.Ability, f abilityForm, err error) error {
	if err == errSwitched {
		return s.renderAbilityForm(c, fiber.StatusOK, k, a, f, nil)
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderAbilityForm(c, fiber.StatusUnprocessableEntity, k, a, f, fields)
	}
	return err
}

// handleAbilityCreate handles POST /skillsets/:id/abilities.
func (s *Server) handleAbilityCreate(c *fiber.Ctx) error {
	k, err := s.store.FindSkillset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	var f abilityForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	a, err := f.ability()
	if err == nil {
		a.SkillsetID = k.ID
		err = s.checkAbility(c.UserContext(), a)
	}
	if err == nil {
		var created *models.Ability
		created, err = s.store.CreateAbility(c.UserContext(), a)
		if err == nil {
			setFlash(c, fmt.Sprintf("Ability %q added. Try it below.", created.Name))
			return redirect(c, "/skillsets/"+k.ID+"/abilities/"+created.ID)
		}
	}
	return s.abilityFormError(c, k, nil, f, err)
}

// handleAbilityEdit handles GET /skillsets/:id/abilities/:abilityId/edit.
func (s *Server) handleAbilityEdit(c *fiber.Ctx) error {
	k, a, err := s.findAbility(c)
	if err != nil {
		return err
	}
	return s.renderAbilityForm(c, fiber.StatusOK, k, a, abilityFormOf(a), nil)
}

// handleAbilityUpdate handles POST /skillsets/:id/abilities/:abilityId.
func (s *Server) handleAbilityUpdate(c *fiber.Ctx) error {
	k, a, err := s.findAbility(c)
	if err != nil {
		return err
	}
	var f abilityForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	in, err := f.ability()
	if err == nil {
		// Fields the form does not show are kept.
		in.ID, in.SkillsetID, in.BotID, in.SecretID, in.FileID = a.ID, a.SkillsetID, a.BotID, a.SecretID, a.FileID
		err = s.checkAbility(c.UserContext(), in)
	}
	if err == nil {
		_, err = s.store.UpdateAbility(c.UserContext(), in)
		if err == nil {
			setFlash(c, fmt.Sprintf("Ability %q saved.", in.Name))
			return redirect(c, "/skillsets/"+k.ID+"/abilities/"+a.ID)
		}
	}
	return s.abilityFormError(c, k, a, f, err)
}

// abilityShowPage is an ability's own page: what it is and does, and Try it.
type abilityShowPage struct {
	Page
	Skillset *models.Skillset
	Ability  *models.Ability
	Form     abilityForm
	try      abilityTry
}

// Try is the page's Try it card.
func (p abilityShowPage) Try() (abilityTry, error) { return p.try, nil }

// Choices are the kinds of action, to name this ability's.
func (abilityShowPage) Choices() []actionChoice { return actionChoices }

// handleAbilityShow handles GET /skillsets/:id/abilities/:abilityId: the
// ability, read-only, with Try it (for everyone who may run conversations).
func (s *Server) handleAbilityShow(c *fiber.Ctx) error {
	k, a, err := s.findAbility(c)
	if err != nil {
		return err
	}
	t, err := s.abilityTryOf(c, k, a)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplAbilityShow, abilityShowPage{Page: s.page(c, a.Name, "skillsets"),
		Skillset: k, Ability: a, Form: abilityFormOf(a), try: t})
}

// handleAbilityDeleteConfirm handles GET /skillsets/:id/abilities/:abilityId/delete.
func (s *Server) handleAbilityDeleteConfirm(c *fiber.Ctx) error {
	k, a, err := s.findAbility(c)
	if err != nil {
		return err
	}
	bots, err := s.store.BotsUsingSkillset(c.UserContext(), k.ID)
	if err != nil {
		return err
	}
	body := []string{fmt.Sprintf("The ability is removed from skillset %q. This cannot be undone.", k.Name)}
	switch len(bots) {
	case 0:
	case 1:
		body = append(body, fmt.Sprintf("Bot %s uses this skillset and will no longer have this ability.", skillsetUsedBy(bots)))
	default:
		body = append(body, fmt.Sprintf("Bots %s use this skillset and will no longer have this ability.", skillsetUsedBy(bots)))
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Delete "+a.Name, "skillsets"), Heading: fmt.Sprintf("Delete ability %q?", a.Name),
		Body: body, Action: "/skillsets/" + k.ID + "/abilities/" + a.ID + "/delete", Button: "Delete ability",
		Cancel: "/skillsets/" + k.ID,
	})
}

// handleAbilityDelete handles POST /skillsets/:id/abilities/:abilityId/delete.
func (s *Server) handleAbilityDelete(c *fiber.Ctx) error {
	k, a, err := s.findAbility(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteAbility(c.UserContext(), k.ID, a.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Ability %q deleted.", a.Name))
	return redirect(c, "/skillsets/"+k.ID)
}
