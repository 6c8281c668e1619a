package handlers

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// filterOptionLimit bounds the options of the list's tag, operator and
// channel filters.
const filterOptionLimit = 100

// listFilter is the conversation list's filter form, as it reads in the URL.
// Every field is optional; they combine.
type listFilter struct {
	Q           string // full-text search over user and bot messages
	BotID       string
	Integration string
	Contact     string
	From, To    string
	Rating      string // up, down
	Rater       string // operator, end_user, api
	Tag         string
	Status      string
	Assignee    string // an operator id, or "me"
	Error       bool
	Unanswered  bool
	Tests       bool
}

// parseListFilter reads the filter from the query string. The bot may come
// as botId (older links) or bot; integration and contact are what the
// integrations and contacts pages link with.
func parseListFilter(c *fiber.Ctx) listFilter {
	f := listFilter{
		Q: strings.TrimSpace(c.Query("q")), BotID: c.Query("bot", c.Query("botId")), Integration: c.Query("integration"),
		Contact: strings.TrimSpace(c.Query("contact")), From: c.Query("from"), To: c.Query("to"), Rating: c.Query("rating"),
		Rater: c.Query("rater"), Tag: c.Query("tag"), Status: c.Query("status"), Assignee: c.Query("assignee"),
		Error: c.Query("error") == "1", Unanswered: c.Query("unanswered") == "1", Tests: c.Query("tests") == "1",
	}
	// Fiber reuses its buffers: keep copies.
	for _, p := range []*string{&f.Q, &f.BotID, &f.Integration, &f.Contact, &f.From, &f.To, &f.Rating, &f.Rater, &f.Tag, &f.Status, &f.Assignee} {
		*p = strings.Clone(*p)
	}
	return f
}

// query turns the filter into the store's query for the operator me; a
// field that cannot be used gets a message in errs and is left out (the list
// is shown without it).
func (f listFilter) query(me *models.Operator) (q models.MessageSearch, errs map[string]string) {
	errs = map[string]string{}
	bad := func(field, msg string) { errs[field] = msg }
	q.Text = f.Q
	if len(f.Q) > 500 {
		bad("q", "Search for at most 500 characters.")
		q.Text = ""
	}
	id := func(field, v, msg string) string {
		if v != "" && !models.ValidID(v) {
			bad(field, msg)
			return ""
		}
		return v
	}
	q.BotID = id("bot", f.BotID, "The bot filter is not valid. Choose a bot from the list.")
	q.IntegrationID = id("integration", f.Integration, "The channel filter is not valid. Choose a channel from the list.")
	q.TagID = id("tag", f.Tag, "The tag filter is not valid. Choose a tag from the list.")
	if len(f.Contact) > 100 {
		bad("contact", "A contact id has at most 100 characters.")
	} else {
		q.ContactID = f.Contact
	}
	since, until, err := dateRange(f.From, f.To)
	if fe := models.ErrorFields(err); fe != nil {
		for k, v := range fe {
			bad(k, v)
		}
	} else {
		q.Since, q.Until = since, until
	}
	switch f.Rating {
	case "", models.RatingUp, models.RatingDown:
		q.Rating = f.Rating
	default:
		bad("rating", "Choose up or down.")
	}
	switch f.Rater {
	case "", models.RaterOperator, models.RaterEndUser, models.RaterAPI:
		q.RaterKind = f.Rater
	default:
		bad("rater", "Choose who rated from the list.")
	}
	if f.Status != "" && !models.ValidReviewStatus(f.Status) {
		bad("status", "Choose a review status from the list.")
	} else {
		q.ReviewStatus = f.Status
	}
	if f.Assignee == "me" && me != nil {
		q.AssigneeID = me.ID
	} else {
		q.AssigneeID = id("assignee", f.Assignee, "Choose an operator from the list.")
	}
	q.HasError, q.Unanswered, q.IncludeTests = f.Error, f.Unanswered, f.Tests
	if len(errs) == 0 {
		errs = nil
	}
	return q, errs
}

// values is the filter as URL parameters, leaving out the fields in skip
// (those that were not applied).
func (f listFilter) values(skip map[string]string) url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if _, bad := skip[k]; val != "" && !bad {
			v.Set(k, val)
		}
	}
	flag := func(k string, on bool) {
		if on {
			v.Set(k, "1")
		}
	}
	set("q", f.Q)
	set("bot", f.BotID)
	set("integration", f.Integration)
	set("contact", f.Contact)
	if _, bad := skip["to"]; !bad {
		if _, bad := skip["from"]; !bad {
			set("from", f.From)
			set("to", f.To)
		}
	}
	set("rating", f.Rating)
	set("rater", f.Rater)
	set("tag", f.Tag)
	set("status", f.Status)
	set("assignee", f.Assignee)
	flag("error", f.Error)
	flag("unanswered", f.Unanswered)
	flag("tests", f.Tests)
	return v
}

// Active reports whether any filter is set.
func (f listFilter) Active() bool { return len(f.values(nil)) > 0 }

// conversationRow is a list row with what the page shows for it.
type conversationRow struct {
	models.ConversationRow
	Item conversationItem
	// First is the first user message, shortened (and masked for those who
	// may not see personal data).
	First string
}

// searchHit is a search result with its highlighted snippet.
type searchHit struct {
	models.MessageHit
	Title   string
	Snippet []models.SnippetPart
}

type conversationIndexPage struct {
	Page
	Filter       listFilter
	Rows         []conversationRow
	Hits         []searchHit
	Bots         []models.Bot
	Tags         []tagOption
	Operators    []models.Operator
	Integrations []models.Integration
	Statuses     []statusOption
	Next         string
	Cursor       string
	PagerBase    string
	ExportQuery  string
	Queue        bool
	Errors       map[string]string
}

// tagOption is a tag in the filter, with its bot's name when tags of several
// bots are listed.
type tagOption struct {
	models.Tag
	BotName string
}

// statusOption is a review status with its label.
type statusOption struct{ Value, Label string }

func statusOptions() []statusOption {
	out := make([]statusOption, 0, len(models.ReviewStatuses))
	for _, st := range models.ReviewStatuses {
		out = append(out, statusOption{st, models.ReviewStatusLabel(st)})
	}
	return out
}

// handleConversationIndex handles GET /conversations: the conversations the
// filter keeps (see listFilter), newest first, with triage columns; with ?q=
// the messages that contain the words instead, each linking to its place
// in its transcript. ?assignee=me is "My queue". A filter that cannot be used
// is shown next to its field (422) and the list is shown without it.
func (s *Server) handleConversationIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	me := operator(c)
	f := parseListFilter(c)
	q, errs := f.query(me)
	q.Page = p
	status := fiber.StatusOK
	if errs != nil {
		status = fiber.StatusUnprocessableEntity
	}
	title := "Conversations"
	if f.Assignee == "me" {
		title = "My queue"
	}
	d := conversationIndexPage{Page: s.page(c, title, "conversations"), Filter: f, Cursor: p.Cursor, Errors: errs,
		Statuses: statusOptions(), Queue: f.Assignee == "me"}
	mask := s.masker(me)
	if q.Text != "" {
		hits, next, err := s.store.SearchMessages(ctx, q)
		if err != nil {
			return err
		}
		terms := models.MessageSearchTerms(q.Text)
		for _, h := range hits {
			title := mask(h.ConversationName)
			if title == "" {
				title = "Conversation " + shortID(h.ConversationID)
			}
			snip, ok := visibleSnippet(me, mask, h, terms)
			if !ok {
				continue
			}
			d.Hits = append(d.Hits, searchHit{MessageHit: h, Title: title, Snippet: snip})
		}
		d.Next = next
	} else {
		rows, next, err := s.store.FindConversationRows(ctx, q.ConversationQuery)
		if err != nil {
			return err
		}
		for _, r := range rows {
			d.Rows = append(d.Rows, conversationRow{ConversationRow: r, Item: newConversationItem(r.Conversation, me),
				First: models.TruncateUTF8(mask(r.FirstUserMessage), 140)})
		}
		d.Next = next
	}
	if err := s.listOptions(c, &d, q); err != nil {
		return err
	}
	v := f.values(errs)
	d.PagerBase = "/conversations"
	if len(v) > 0 {
		d.PagerBase += "?" + v.Encode()
	}
	d.ExportQuery = v.Encode()
	return s.render(c, status, tplConversationsIndex, d)
}

// listOptions fills the choices of the filter form.
func (s *Server) listOptions(c *fiber.Ctx, d *conversationIndexPage, q models.MessageSearch) error {
	ctx := c.UserContext()
	bots, _, err := s.store.FindBots(ctx, models.BotFilter{Page: models.Page{Limit: botFilterLimit}})
	if err != nil {
		return err
	}
	if q.BotID != "" && !hasBot(bots, q.BotID) {
		// The chosen bot is beyond the first page of bots: still show it as selected.
		if b, err := s.store.FindBot(ctx, q.BotID); err == nil {
			bots = append(bots, *b)
		} else if models.ErrorCode(err) != models.CodeNotFound {
			return err
		}
	}
	d.Bots = bots
	names := map[string]string{}
	for _, b := range bots {
		names[b.ID] = b.Name
	}
	var tags []models.Tag
	if q.BotID != "" {
		tags, err = s.store.FindTags(ctx, q.BotID)
	} else {
		tags, err = s.store.FindAllTags(ctx, filterOptionLimit)
	}
	if err != nil {
		return err
	}
	for _, t := range tags {
		o := tagOption{Tag: t}
		if q.BotID == "" {
			o.BotName = names[t.BotID]
		}
		d.Tags = append(d.Tags, o)
	}
	if d.Operators, _, err = s.store.FindOperators(ctx, models.Page{Limit: filterOptionLimit, Order: models.OrderAsc}); err != nil {
		return err
	}
	d.Integrations, _, err = s.store.FindIntegrations(ctx, models.IntegrationFilter{Page: models.Page{Limit: filterOptionLimit}})
	return err
}

// hasHit reports whether a snippet shows a searched word.
func hasHit(parts []models.SnippetPart) bool {
	for _, p := range parts {
		if p.Hit {
			return true
		}
	}
	return false
}

// visibleSnippet is a search hit's snippet as the operator may see it; ok is
// false when, for an operator whose view is masked, the hit matched only in
// masked personal data (showing it, or exporting its conversation, would
// tell what that is).
func visibleSnippet(me *models.Operator, mask func(string) string, h models.MessageHit, terms []string) (snip []models.SnippetPart, ok bool) {
	snip = models.Snippet(mask(h.Text), terms)
	return snip, !me.MasksPersonalData() || hasHit(snip)
}
