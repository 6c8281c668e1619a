package handlers

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/app/providers"
	"parley/models"
	"parley/models/store"
)

// pickerLimit bounds how many datasets or skillsets a picker offers.
const pickerLimit = 200

// registerBots registers the bot routes.
func (s *Server) registerBots() {
	s.handle(fiber.MethodGet, "/bots", models.PermConfigRead, s.handleBotIndex)
	s.handle(fiber.MethodGet, "/bots/new", models.PermConfigWrite, s.handleBotNew)
	s.handle(fiber.MethodPost, "/bots", models.PermConfigWrite, s.handleBotCreate)
	s.handle(fiber.MethodGet, "/bots/:id", models.PermConfigRead, s.handleBotShow)
	s.handle(fiber.MethodGet, "/bots/:id/edit", models.PermConfigWrite, s.handleBotEdit)
	s.handle(fiber.MethodPost, "/bots/:id", models.PermConfigWrite, s.handleBotUpdate)
	s.handle(fiber.MethodGet, "/bots/:id/delete", models.PermConfigWrite, s.handleBotDeleteConfirm)
	s.handle(fiber.MethodPost, "/bots/:id/delete", models.PermConfigWrite, s.handleBotDelete)
	s.handle(fiber.MethodPost, "/bots/:id/datasets", models.PermConfigWrite, s.handleBotAttachDataset)
	s.handle(fiber.MethodPost, "/bots/:id/datasets/:datasetId/detach", models.PermConfigWrite, s.handleBotDetachDataset)
	s.handle(fiber.MethodPost, "/bots/:id/skillsets", models.PermConfigWrite, s.handleBotAttachSkillset)
	s.handle(fiber.MethodPost, "/bots/:id/skillsets/:skillsetId/detach", models.PermConfigWrite, s.handleBotDetachSkillset)
	s.registerBotVersions()
}

type botForm struct {
	Name        string   `form:"name" validate:"required,max=200"`
	Description string   `form:"description" validate:"max=4000"`
	Backstory   string   `form:"backstory" validate:"max=100000"`
	Model       string   `form:"model" validate:"max=200"`
	Privacy     bool     `form:"privacy"`
	Moderation  bool     `form:"moderation"`
	Meta        string   `form:"meta"`
	DatasetIDs  []string `form:"datasetIds"`
	SkillsetIDs []string `form:"skillsetIds"`
	// Note is kept with the version the save makes.
	Note string `form:"note" validate:"max=500"`
}

type botFormPage struct {
	Page
	Form      botForm
	Errors    map[string]string
	Datasets  []models.Dataset
	Skillsets []models.Skillset
	Action    string
	Bot       *models.Bot
	// Models are the models bots can name (the picker; typing another works too).
	Models []providers.ModelOption
}

type botIndexPage struct {
	Page
	Bots   []models.Bot
	Next   string
	Cursor string
}

type botShowPage struct {
	Page
	Bot           *models.Bot
	Attach        botAttachments
	Conversations []models.Conversation
	// Version is the bot's latest version, the one that answers now.
	Version *models.BotVersion
}

// botAttachments is the data of the attachments fragment.
type botAttachments struct {
	Bot       *models.Bot
	Datasets  []models.Dataset  // attachable
	Skillsets []models.Skillset // attachable
	CSRF      string
	CanWrite  bool
	Errors    map[string]string
}

// handleBotIndex handles GET /bots.
func (s *Server) handleBotIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	bots, next, err := s.store.FindBots(c.UserContext(), models.BotFilter{Page: p})
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplBotsIndex, botIndexPage{Page: s.page(c, "Bots", "bots"), Bots: bots, Next: next, Cursor: p.Cursor})
}

// handleBotNew handles GET /bots/new.
func (s *Server) handleBotNew(c *fiber.Ctx) error {
	return s.renderBotForm(c, fiber.StatusOK, nil, botForm{Model: "local"}, nil)
}

func (s *Server) renderBotForm(c *fiber.Ctx, status int, b *models.Bot, f botForm, errs map[string]string) error {
	ds, err := s.store.AllDatasetNames(c.UserContext(), pickerLimit)
	if err != nil {
		return err
	}
	ks, err := s.store.AllSkillsetNames(c.UserContext(), pickerLimit)
	if err != nil {
		return err
	}
	title, action := "New bot", "/bots"
	if b != nil {
		title, action = "Edit "+b.Name, "/bots/"+b.ID
	}
	catalog, err := s.opts.Providers.Catalog(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, status, tplBotsForm, botFormPage{Page: s.page(c, title, "bots"), Form: f, Errors: errs,
		Datasets: ds, Skillsets: ks, Action: action, Bot: b, Models: catalog})
}

// input reads the form into a store input, or returns an invalid-input error.
func (f *botForm) input() (store.BotInput, error) {
	f.Name = strings.TrimSpace(f.Name)
	f.Model = strings.TrimSpace(f.Model)
	if f.DatasetIDs == nil {
		f.DatasetIDs = []string{}
	}
	if f.SkillsetIDs == nil {
		f.SkillsetIDs = []string{}
	}
	if err := models.Validate(f); err != nil {
		return store.BotInput{}, err
	}
	meta, err := models.ParseMeta("meta", f.Meta)
	if err != nil {
		return store.BotInput{}, err
	}
	return store.BotInput{
		Bot: models.Bot{Name: f.Name, Description: f.Description, Backstory: f.Backstory, Model: f.Model,
			Privacy: f.Privacy, Moderation: f.Moderation, Meta: meta},
		DatasetIDs: f.DatasetIDs, SkillsetIDs: f.SkillsetIDs, Note: strings.TrimSpace(f.Note),
	}, nil
}

// handleBotCreate handles POST /bots.
func (s *Server) handleBotCreate(c *fiber.Ctx) error {
	var f botForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	in, err := f.input()
	if err == nil {
		err = s.checkModel(c.UserContext(), in.Bot.Model)
	}
	if err == nil {
		var b *models.Bot
		b, err = s.store.CreateBot(c.UserContext(), in)
		if err == nil {
			setFlash(c, fmt.Sprintf("Bot %q created.", b.Name))
			return redirect(c, "/bots/"+b.ID)
		}
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderBotForm(c, fiber.StatusUnprocessableEntity, nil, f, fields)
	}
	return err
}

// handleBotShow handles GET /bots/:id.
func (s *Server) handleBotShow(c *fiber.Ctx) error {
	b, err := s.store.FindBot(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	att, err := s.botAttachments(c, b, nil)
	if err != nil {
		return err
	}
	convs, _, err := s.store.FindConversations(c.UserContext(), models.ConversationFilter{BotID: b.ID, Page: models.Page{Limit: 5}})
	if err != nil {
		return err
	}
	v, err := s.store.LatestBotVersion(c.UserContext(), b.ID)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplBotsShow, botShowPage{Page: s.page(c, b.Name, "bots"), Bot: b, Attach: att, Conversations: convs, Version: v})
}

// botAttachments lists what can still be attached to b.
func (s *Server) botAttachments(c *fiber.Ctx, b *models.Bot, errs map[string]string) (botAttachments, error) {
	a := botAttachments{Bot: b, CSRF: csrfToken(c), CanWrite: operator(c).Can(models.PermConfigWrite), Errors: errs}
	if !a.CanWrite {
		return a, nil
	}
	ds, err := s.store.AllDatasetNames(c.UserContext(), pickerLimit)
	if err != nil {
		return a, err
	}
	have := map[string]bool{}
	for _, d := range b.Datasets {
		have[d.ID] = true
	}
	for _, d := range ds {
		if !have[d.ID] {
			a.Datasets = append(a.Datasets, d)
		}
	}
	ks, err := s.store.AllSkillsetNames(c.UserContext(), pickerLimit)
	if err != nil {
		return a, err
	}
	for _, k := range b.Skillsets {
		have[k.ID] = true
	}
	for _, k := range ks {
		if !have[k.ID] {
			a.Skillsets = append(a.Skillsets, k)
		}
	}
	return a, nil
}

// handleBotEdit handles GET /bots/:id/edit.
func (s *Server) handleBotEdit(c *fiber.Ctx) error {
	b, err := s.store.FindBot(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	f := botForm{Name: b.Name, Description: b.Description, Backstory: b.Backstory, Model: b.Model,
		Privacy: b.Privacy, Moderation: b.Moderation, Meta: b.Meta.String()}
	for _, d := range b.Datasets {
		f.DatasetIDs = append(f.DatasetIDs, d.ID)
	}
	for _, k := range b.Skillsets {
		f.SkillsetIDs = append(f.SkillsetIDs, k.ID)
	}
	return s.renderBotForm(c, fiber.StatusOK, b, f, nil)
}

// handleBotUpdate handles POST /bots/:id.
func (s *Server) handleBotUpdate(c *fiber.Ctx) error {
	b, err := s.store.FindBot(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	var f botForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	in, err := f.input()
	if err == nil {
		err = s.checkModel(c.UserContext(), in.Bot.Model)
	}
	if err == nil {
		// Fields the form does not show are kept.
		in.Bot.ID, in.Bot.Alias, in.Bot.Visibility = b.ID, b.Alias, b.Visibility
		_, err = s.store.UpdateBot(c.UserContext(), in)
		if err == nil {
			setFlash(c, "Bot saved.")
			return redirect(c, "/bots/"+b.ID)
		}
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderBotForm(c, fiber.StatusUnprocessableEntity, b, f, fields)
	}
	return err
}

// handleBotDeleteConfirm handles GET /bots/:id/delete.
func (s *Server) handleBotDeleteConfirm(c *fiber.Ctx) error {
	b, err := s.store.FindBot(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Delete "+b.Name, "bots"), Heading: fmt.Sprintf("Delete bot %q?", b.Name),
		Body: []string{"The bot and its configuration will be deleted. This cannot be undone.",
			"Its conversations stay readable in Conversations, marked as belonging to a deleted bot. Attached datasets and skillsets are kept."},
		Action: "/bots/" + b.ID + "/delete", Button: "Delete bot", Cancel: "/bots/" + b.ID,
	})
}

// handleBotDelete handles POST /bots/:id/delete.
func (s *Server) handleBotDelete(c *fiber.Ctx) error {
	b, err := s.store.FindBot(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteBot(c.UserContext(), b.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Bot %q deleted.", b.Name))
	return redirect(c, "/bots")
}

// attachForm is the body of the attach forms.
type attachForm struct {
	ID string `form:"id"`
}

// attachResult re-renders the attachments fragment for htmx, or goes back to the bot page.
func (s *Server) attachResult(c *fiber.Ctx, botID string, opErr error, field string) error {
	if opErr != nil && models.ErrorCode(opErr) != models.CodeInvalid {
		return opErr
	}
	if c.Get("HX-Request") != "true" {
		if opErr != nil {
			return opErr
		}
		return redirect(c, "/bots/"+botID)
	}
	b, err := s.store.FindBot(c.UserContext(), botID)
	if err != nil {
		return err
	}
	var errs map[string]string
	status := fiber.StatusOK
	if opErr != nil {
		errs, status = map[string]string{field: models.ErrorMessage(opErr)}, fiber.StatusUnprocessableEntity
	}
	a, err := s.botAttachments(c, b, errs)
	if err != nil {
		return err
	}
	return s.render(c, status, tplBotAttach, a)
}

func (s *Server) attachFormID(c *fiber.Ctx, field, what string) (string, error) {
	var f attachForm
	if err := c.BodyParser(&f); err != nil {
		return "", badForm(err)
	}
	if f.ID == "" {
		return "", models.FieldError(field, "Choose a "+what+" to attach.")
	}
	return f.ID, nil
}

// handleBotAttachDataset handles POST /bots/:id/datasets.
func (s *Server) handleBotAttachDataset(c *fiber.Ctx) error {
	botID := c.Params("id")
	id, err := s.attachFormID(c, "datasetId", "dataset")
	if err == nil {
		err = s.store.AttachDataset(c.UserContext(), botID, id)
	}
	return s.attachResult(c, botID, err, "datasetId")
}

// handleBotDetachDataset handles POST /bots/:id/datasets/:datasetId/detach.
func (s *Server) handleBotDetachDataset(c *fiber.Ctx) error {
	botID := c.Params("id")
	return s.attachResult(c, botID, s.store.DetachDataset(c.UserContext(), botID, c.Params("datasetId")), "datasetId")
}

// handleBotAttachSkillset handles POST /bots/:id/skillsets.
func (s *Server) handleBotAttachSkillset(c *fiber.Ctx) error {
	botID := c.Params("id")
	id, err := s.attachFormID(c, "skillsetId", "skillset")
	if err == nil {
		err = s.store.AttachSkillset(c.UserContext(), botID, id)
	}
	return s.attachResult(c, botID, err, "skillsetId")
}

// handleBotDetachSkillset handles POST /bots/:id/skillsets/:skillsetId/detach.
func (s *Server) handleBotDetachSkillset(c *fiber.Ctx) error {
	botID := c.Params("id")
	return s.attachResult(c, botID, s.store.DetachSkillset(c.UserContext(), botID, c.Params("skillsetId")), "skillsetId")
}
