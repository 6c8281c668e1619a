package handlers

import (
	"context"
	"fmt"
	"html/template"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// registerSupport registers support's review routes on conversations:
// review status and assignee, tags (and a bot's managed list of them), notes.
// Support, QA, builders and admins may review (conversation:rate).
func (s *Server) registerSupport() {
	s.handle(fiber.MethodPost, "/conversations/:id/review", models.PermConversationRate, s.handleReviewSave)
	s.handle(fiber.MethodPost, "/conversations/:id/tags", models.PermConversationRate, s.handleTagCreate)
	s.handle(fiber.MethodPost, "/conversations/:id/tags/:tagId", models.PermConversationRate, s.handleTagUpdate)
	s.handle(fiber.MethodGet, "/conversations/:id/tags/:tagId/delete", models.PermConversationRate, s.handleTagDeleteConfirm)
	s.handle(fiber.MethodPost, "/conversations/:id/tags/:tagId/delete", models.PermConversationRate, s.handleTagDelete)
	s.handle(fiber.MethodPost, "/conversations/:id/messages/:messageId/tags", models.PermConversationRate, s.handleMessageTag)
	s.handle(fiber.MethodPost, "/conversations/:id/messages/:messageId/tags/:tagId/delete", models.PermConversationRate, s.handleMessageUntag)
	s.handle(fiber.MethodPost, "/conversations/:id/messages/:messageId/notes", models.PermConversationRate, s.handleNoteCreate)
	s.handle(fiber.MethodPost, "/conversations/:id/notes/:noteId", models.PermConversationRate, s.handleNoteEdit)
	s.handle(fiber.MethodPost, "/conversations/:id/messages/:messageId/corrections", models.PermConversationRate, s.handleCorrectionCreate)
	// An admin lets a support operator see personal data unmasked.
	s.handle(fiber.MethodPost, "/operators/:id/personal-data", models.PermAdmin, s.handleSeePersonalData)
	// A builder approves a correction into a dataset.
	s.handle(fiber.MethodPost, "/conversations/:id/corrections/:correctionId/accept", models.PermConfigWrite, s.handleCorrectionAccept)
}

// masker returns how text is shown to the operator: personal data masked
// for those who may not see it (support, unless granted), as is otherwise.
// Masking happens here, on the server, so nothing unmasked reaches them.
func (s *Server) masker(o *models.Operator) func(string) string {
	if o.MasksPersonalData() {
		return models.MaskPersonalData
	}
	return func(s string) string { return s }
}

// supportFuncs are the template functions of support's pages.
func supportFuncs() template.FuncMap {
	return template.FuncMap{
		"reviewLabel": models.ReviewStatusLabel,
		"channelLabel": func(typ, name string) string {
			if typ == "" {
				return ""
			}
			if name == "" {
				return typ
			}
			return name + " (" + typ + ")"
		},
		"tagColors":    func() []string { return models.TagColors },
		"auditActions": func() []string { return []string{"create", "change", "delete", "export"} },
		"sub":          func(a, b int) int { return a - b },
		"mod":          func(a, b int) int { return a % max(b, 1) },
	}
}

// reviewer is the signed-in operator as the author of a review change.
func reviewer(c *fiber.Ctx) models.Reviewer {
	op := operator(c)
	name := op.Name
	if name == "" {
		name = op.Email
	}
	return models.Reviewer{ID: op.ID, Name: name}
}

// messageReview is what the transcript shows and offers for reviewing one
// message: its tags, its notes, and the bot's tags to add.
type messageReview struct {
	CSRF      string
	ConvID    string
	MsgID     string
	CanReview bool
	Tags      []models.MessageTag
	Notes     []models.Note
	Available []models.Tag
	// Bot answers: corrections suggested, the datasets a builder may accept
	// one into, and the turn a test case can be made from.
	Answer      bool
	Corrections []models.Correction
	Datasets    []models.Dataset
	CanAccept   bool
	CanPropose  bool
	TurnID      string
}

// reviewEntries adds each user and bot message's review (tags and notes)
// to its entry and masks personal data for viewers who may not see it: in
// the text, the earlier answer, ability calls and notes. Every timeline
// entry goes through here (page, older pages, live updates, fragments).
func (s *Server) reviewEntries(ctx context.Context, v viewer, convID string, es []entryView) ([]entryView, error) {
	var ids []string
	for _, e := range es {
		if e.Msg.Type == models.MessageUser || e.Msg.Type == models.MessageBot {
			ids = append(ids, e.Msg.ID)
		}
	}
	var (
		tags      map[string][]models.MessageTag
		notes     map[string][]models.Note
		corrs     map[string][]models.Correction
		available []models.Tag
		datasets  []models.Dataset
		err       error
	)
	if len(ids) > 0 {
		if tags, err = s.store.FindMessageTags(ctx, convID, ids); err != nil {
			return nil, err
		}
		if notes, err = s.store.FindNotes(ctx, convID, ids); err != nil {
			return nil, err
		}
		if corrs, err = s.store.FindCorrections(ctx, convID, ids); err != nil {
			return nil, err
		}
		if v.CanRate {
			if available, err = s.store.FindConversationTags(ctx, convID); err != nil {
				return nil, err
			}
		}
		if v.CanEdit {
			if datasets, err = s.store.FindConversationDatasets(ctx, convID); err != nil {
				return nil, err
			}
		}
	}
	for i := range es {
		e := &es[i]
		if e.Msg.Type == models.MessageUser || e.Msg.Type == models.MessageBot {
			r := &messageReview{CSRF: v.CSRF, ConvID: convID, MsgID: e.Msg.ID, CanReview: v.CanRate, Tags: tags[e.Msg.ID], Notes: notes[e.Msg.ID],
				Answer: e.Msg.Type == models.MessageBot, Corrections: corrs[e.Msg.ID], Datasets: datasets, CanAccept: v.CanEdit, CanPropose: v.CanPropose}
			if e.Turn != nil {
				r.TurnID = e.Turn.ID
			}
			on := map[string]bool{}
			for _, t := range r.Tags {
				on[t.TagID] = true
			}
			for _, t := range available {
				if !on[t.ID] {
					r.Available = append(r.Available, t)
				}
			}
			e.Review = r
		}
		if v.Mask {
			maskEntry(e)
		}
	}
	return es, nil
}

// maskEntry masks the personal data an entry shows.
func maskEntry(e *entryView) {
	mask := models.MaskPersonalData
	e.Msg.Text, e.Msg.Meta = mask(e.Msg.Text), models.MaskMeta(e.Msg.Meta)
	if e.Earlier != nil {
		earlier := *e.Earlier
		earlier.Text = mask(earlier.Text)
		e.Earlier = &earlier
		e.Changes = models.DiffWords(earlier.Text, e.Msg.Text)
	}
	if e.Call != nil {
		call := *e.Call
		call.Input, call.Output, call.Error = mask(call.Input), mask(call.Output), mask(call.Error)
		e.Call = &call
	}
	if e.Turn != nil && e.Turn.Error != "" {
		t := *e.Turn
		t.Error = mask(t.Error)
		e.Turn = &t
	}
	if e.Review != nil {
		for i := range e.Review.Notes {
			n := &e.Review.Notes[i]
			n.Text = mask(n.Text)
			for j := range n.Revisions {
				n.Revisions[j].Text = mask(n.Revisions[j].Text)
			}
		}
		for i := range e.Review.Corrections {
			e.Review.Corrections[i].Text = mask(e.Review.Corrections[i].Text)
		}
	}
}

// reviewDone answers a review change: htmx gets the message's entry again
// (msgID "": the review card), a plain form a redirect back to it.
func (s *Server) reviewDone(c *fiber.Ctx, convID, msgID, flash string) error {
	ctx := c.UserContext()
	if msgID != "" {
		m, err := s.store.FindMessage(ctx, convID, msgID)
		if err != nil {
			return err
		}
		s.turns.Changed(m)
		if isHTMX(c) {
			e, err := s.entryFor(ctx, viewerOf(c), *m)
			if err != nil {
				return err
			}
			return s.render(c, fiber.StatusOK, tplTimelineEntry, e)
		}
		setFlash(c, flash)
		return redirect(c, "/conversations/"+convID+"?at="+msgID+"#m-"+msgID)
	}
	if isHTMX(c) {
		d, err := s.reviewCard(c, convID)
		if err != nil {
			return err
		}
		d.Saved = flash
		return s.render(c, fiber.StatusOK, tplReviewCard, d)
	}
	setFlash(c, flash)
	return redirect(c, "/conversations/"+convID)
}

// reviewCardData is the transcript's review card: status, assignee, the
// bot's tags and the latest review changes.
type reviewCardData struct {
	CSRF      string
	ConvID    string
	CanReview bool
	HasBot    bool
	Review    reviewState
	Statuses  []statusOption
	Operators []models.Operator
	Tags      []models.Tag
	Events    []models.ReviewEvent
	Saved     string
	Errors    map[string]string
	TagName   string
	TagColor  string
	// Edit is the tag whose rename was refused: its row shows the input
	// kept and the messages next to the fields.
	Edit tagEdit
	// TagSaved says what a change of the tag list did; the list stays open.
	TagSaved string
}

// tagEdit is a refused rename or recolour of one tag, shown again.
type tagEdit struct {
	ID     string
	Name   string
	Color  string
	Errors map[string]string
}

// reviewState is a conversation's review status and assignee.
type reviewState struct {
	Status       string
	AssigneeID   string
	AssigneeName string
}

// reviewEventsShown is how many of the latest review changes the card lists.
const reviewEventsShown = 10

func (s *Server) reviewCard(c *fiber.Ctx, convID string) (reviewCardData, error) {
	ctx := c.UserContext()
	op := operator(c)
	d := reviewCardData{CSRF: csrfToken(c), ConvID: convID, CanReview: op.Can(models.PermConversationRate), Statuses: statusOptions(), TagColor: "gray"}
	r, err := s.store.FindReview(ctx, convID)
	if err != nil {
		return d, err
	}
	d.Review = reviewState{Status: r.Status, AssigneeID: models.Deref(r.AssigneeID), AssigneeName: r.AssigneeName}
	conv, err := s.store.FindConversation(ctx, convID)
	if err != nil {
		return d, err
	}
	d.HasBot = conv.BotID != nil
	if d.Tags, err = s.store.FindConversationTags(ctx, convID); err != nil {
		return d, err
	}
	if d.CanReview {
		if d.Operators, _, err = s.store.FindOperators(ctx, models.Page{Limit: filterOptionLimit, Order: models.OrderAsc}); err != nil {
			return d, err
		}
	}
	d.Events, _, err = s.store.FindReviewEvents(ctx, convID, models.Page{Limit: reviewEventsShown})
	return d, err
}

// reviewForm is the review card's form: a status and an assignee ("me": the
// signed-in operator, "": nobody).
type reviewForm struct {
	Status   string `form:"status"`
	Assignee string `form:"assignee"`
}

// handleReviewSave handles POST /conversations/:id/review: the review
// status and the assignee, each change recorded with who made it.
func (s *Server) handleReviewSave(c *fiber.Ctx) error {
	convID := strings.Clone(c.Params("id"))
	var f reviewForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	ctx := c.UserContext()
	if _, err := s.store.FindReview(ctx, convID); err != nil {
		return err
	}
	who := reviewer(c)
	if f.Assignee == "me" {
		f.Assignee = who.ID
	}
	if err := s.store.SaveReview(ctx, convID, f.Status, f.Assignee, who); err != nil {
		return err
	}
	return s.reviewDone(c, convID, "", "Review saved.")
}

// tagForm is a new tag of the conversation's bot.
type tagForm struct {
	Name  string `form:"name"`
	Color string `form:"color"`
}

// handleTagCreate handles POST /conversations/:id/tags: a new tag in the
// managed list of the conversation's bot. A bad name re-renders the review
// card with the message next to the field and the input kept (422).
func (s *Server) handleTagCreate(c *fiber.Ctx) error {
	convID := strings.Clone(c.Params("id"))
	ctx := c.UserContext()
	conv, err := s.store.FindConversation(ctx, convID)
	if err != nil {
		return err
	}
	if conv.BotID == nil {
		return models.Errorf(models.CodeInvalid, "Tags belong to a bot: this conversation has none.")
	}
	var f tagForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	if _, err := s.store.CreateTag(ctx, models.Tag{BotID: *conv.BotID, Name: f.Name, Color: f.Color}); err != nil {
		fields := models.ErrorFields(err)
		if fields == nil {
			return err
		}
		d, derr := s.reviewCard(c, convID)
		if derr != nil {
			return derr
		}
		d.Errors, d.TagName, d.TagColor = fields, f.Name, f.Color
		if isHTMX(c) {
			return s.render(c, fiber.StatusUnprocessableEntity, tplReviewCard, d)
		}
		return err
	}
	return s.tagsDone(c, convID, "Tag "+strings.TrimSpace(f.Name)+" added.")
}

// tagsDone answers a change of the bot's tag list: htmx gets the review
// card with the list open and what changed, a plain form a redirect back to
// the transcript with it as the flash.
func (s *Server) tagsDone(c *fiber.Ctx, convID, flash string) error {
	if !isHTMX(c) {
		return s.reviewDone(c, convID, "", flash)
	}
	d, err := s.reviewCard(c, convID)
	if err != nil {
		return err
	}
	d.TagSaved = flash
	return s.render(c, fiber.StatusOK, tplReviewCard, d)
}

// handleTagUpdate handles POST /conversations/:id/tags/:tagId: renames and
// recolours a tag of the conversation's bot (in the audit log, in the same
// transaction). A bad name re-renders the review card with the message
// next to that tag's field and the input kept (422).
func (s *Server) handleTagUpdate(c *fiber.Ctx) error {
	convID, tagID := strings.Clone(c.Params("id")), strings.Clone(c.Params("tagId"))
	var f tagForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	err := s.store.Audited(c.UserContext(), func(ctx context.Context) (*models.AuditEvent, error) {
		old, _, err := s.store.CountTagMessages(ctx, convID, tagID)
		if err != nil {
			return nil, err
		}
		t, err := s.store.UpdateTag(ctx, convID, tagID, f.Name, f.Color)
		if err != nil {
			return nil, err
		}
		e := auditEvent(c, "change", "tags", t.ID, fmt.Sprintf("tag %q (%s) of bot %s is now %q (%s)", old.Name, old.Color, t.BotID, t.Name, t.Color))
		return &e, nil
	})
	if err != nil {
		fields := models.ErrorFields(err)
		if fields == nil || !isHTMX(c) {
			return err
		}
		d, derr := s.reviewCard(c, convID)
		if derr != nil {
			return derr
		}
		d.Edit = tagEdit{ID: tagID, Name: f.Name, Color: f.Color, Errors: fields}
		return s.render(c, fiber.StatusUnprocessableEntity, tplReviewCard, d)
	}
	return s.tagsDone(c, convID, "Tag "+strings.TrimSpace(f.Name)+" saved.")
}

// handleTagDeleteConfirm handles GET /conversations/:id/tags/:tagId/delete:
// asks before deleting a tag, saying how many messages carry it.
func (s *Server) handleTagDeleteConfirm(c *fiber.Ctx) error {
	convID, tagID := strings.Clone(c.Params("id")), strings.Clone(c.Params("tagId"))
	t, n, err := s.store.CountTagMessages(c.UserContext(), convID, tagID)
	if err != nil {
		return err
	}
	carry := "No message carries it."
	switch {
	case n == 1:
		carry = "1 message carries it: the tag will be taken off it."
	case n > 1:
		carry = fmt.Sprintf("%d messages carry it: the tag will be taken off all of them.", n)
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Delete tag "+t.Name, "conversations"), Heading: fmt.Sprintf("Delete tag %q?", t.Name),
		Body:   []string{carry, "The tag is deleted from this bot's list for every conversation. This cannot be undone."},
		Action: "/conversations/" + convID + "/tags/" + t.ID + "/delete", Button: "Delete tag", Cancel: "/conversations/" + convID,
	})
}

// handleTagDelete handles POST /conversations/:id/tags/:tagId/delete: deletes
// a tag of the conversation's bot and takes it off every message, with its
// entry in the audit log in the same transaction.
func (s *Server) handleTagDelete(c *fiber.Ctx) error {
	convID, tagID := strings.Clone(c.Params("id")), strings.Clone(c.Params("tagId"))
	var name string
	var n int64
	err := s.store.Audited(c.UserContext(), func(ctx context.Context) (*models.AuditEvent, error) {
		t, carried, err := s.store.DeleteTag(ctx, convID, tagID)
		if err != nil {
			return nil, err
		}
		name, n = t.Name, carried
		e := auditEvent(c, "delete", "tags", t.ID, fmt.Sprintf("tag %q of bot %s, taken off %d messages", t.Name, t.BotID, carried))
		return &e, nil
	})
	if err != nil {
		return err
	}
	msgs := "messages"
	if n == 1 {
		msgs = "message"
	}
	return s.tagsDone(c, convID, fmt.Sprintf("Tag %s deleted and taken off %d %s.", name, n, msgs))
}

// handleMessageTag handles POST /conversations/:id/messages/:messageId/tags:
// puts a tag (tagId) of the conversation's bot on the message.
func (s *Server) handleMessageTag(c *fiber.Ctx) error {
	convID, msgID := strings.Clone(c.Params("id")), strings.Clone(c.Params("messageId"))
	tagID := strings.Clone(c.FormValue("tagId"))
	if err := s.store.TagMessage(c.UserContext(), convID, msgID, tagID, reviewer(c)); err != nil {
		return err
	}
	return s.reviewDone(c, convID, msgID, "Tag added.")
}

// handleMessageUntag handles POST /conversations/:id/messages/:messageId/tags/:tagId/delete.
func (s *Server) handleMessageUntag(c *fiber.Ctx) error {
	convID, msgID, tagID := strings.Clone(c.Params("id")), strings.Clone(c.Params("messageId")), strings.Clone(c.Params("tagId"))
	if err := s.store.UntagMessage(c.UserContext(), convID, msgID, tagID, reviewer(c)); err != nil {
		return err
	}
	return s.reviewDone(c, convID, msgID, "Tag removed.")
}

// handleNoteCreate handles POST /conversations/:id/messages/:messageId/notes.
func (s *Server) handleNoteCreate(c *fiber.Ctx) error {
	convID, msgID := strings.Clone(c.Params("id")), strings.Clone(c.Params("messageId"))
	if _, err := s.store.AddNote(c.UserContext(), convID, msgID, c.FormValue("text"), reviewer(c)); err != nil {
		return err
	}
	return s.reviewDone(c, convID, msgID, "Note added.")
}

// handleNoteEdit handles POST /conversations/:id/notes/:noteId: a new text
// for a note; the one it replaces is kept in its history.
func (s *Server) handleNoteEdit(c *fiber.Ctx) error {
	convID, noteID := strings.Clone(c.Params("id")), strings.Clone(c.Params("noteId"))
	n, err := s.store.EditNote(c.UserContext(), convID, noteID, c.FormValue("text"), reviewer(c))
	if err != nil {
		return err
	}
	return s.reviewDone(c, convID, n.MessageID, "Note saved.")
}

// handleCorrectionCreate handles POST /conversations/:id/messages/:messageId/corrections:
// "Suggest a correction" on a bot answer, kept with the review.
func (s *Server) handleCorrectionCreate(c *fiber.Ctx) error {
	convID, msgID := strings.Clone(c.Params("id")), strings.Clone(c.Params("messageId"))
	if _, err := s.store.SuggestCorrection(c.UserContext(), convID, msgID, c.FormValue("text"), reviewer(c)); err != nil {
		return err
	}
	return s.reviewDone(c, convID, msgID, "Correction suggested.")
}

// handleCorrectionAccept handles POST /conversations/:id/corrections/:correctionId/accept:
// a builder makes a suggested correction a record of a dataset (datasetId).
func (s *Server) handleCorrectionAccept(c *fiber.Ctx) error {
	convID, corrID := strings.Clone(c.Params("id")), strings.Clone(c.Params("correctionId"))
	ctx := c.UserContext()
	rec, err := s.store.AcceptCorrection(ctx, convID, corrID, strings.Clone(c.FormValue("datasetId")), reviewer(c))
	if err != nil {
		return err
	}
	msgID, _ := rec.Meta["messageId"].(string)
	return s.reviewDone(c, convID, msgID, "Correction added to the dataset as a record.")
}

// handleSeePersonalData handles POST /operators/:id/personal-data (see=1 or
// 0): whether a support operator sees personal data unmasked.
func (s *Server) handleSeePersonalData(c *fiber.Ctx) error {
	see := c.FormValue("see")
	if see != "1" && see != "0" {
		return models.Errorf(models.CodeInvalid, "Choose whether the operator sees personal data.")
	}
	if err := s.store.SetSeePersonalData(c.UserContext(), strings.Clone(c.Params("id")), see == "1"); err != nil {
		return err
	}
	if see == "1" {
		setFlash(c, "The operator now sees personal data unmasked.")
	} else {
		setFlash(c, "Personal data is masked for the operator again.")
	}
	return redirect(c, "/operators")
}
