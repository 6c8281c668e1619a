package handlers

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"parley/models"
	"parley/models/store"
)

// exportBatch is how many conversations, and how many messages of one, an
// export reads at a time: memory stays bounded however much is exported.
const exportBatch = 100

// registerExport registers the exports: the list's current filter, and one
// conversation, each as JSONL (a conversation per line) or CSV (a message
// per row).
func (s *Server) registerExport() {
	s.handle(fiber.MethodGet, "/conversations/export", models.PermConversationRead, s.handleExport)
	s.handle(fiber.MethodGet, "/conversations/:id/export", models.PermConversationRead, s.handleConversationExport)
}

// exportSource lists the conversations of an export, a page at a time.
type exportSource func(ctx context.Context, cursor string) ([]models.Conversation, string, error)

// handleExport handles GET /conversations/export?format=jsonl|csv&<the list's
// filter>: every conversation the filter keeps — with search words, every
// conversation with a message the search finds, in the order of its first
// hit — streamed.
func (s *Server) handleExport(c *fiber.Ctx) error {
	f := parseListFilter(c)
	me := operator(c)
	q, errs := f.query(me)
	for _, msg := range errs {
		return models.Errorf(models.CodeInvalid, "%s", msg)
	}
	if q.Text != "" {
		return s.export(c, "conversations", f.values(nil).Encode(), s.searchExportSource(q, me))
	}
	cq := q.ConversationQuery
	src := func(ctx context.Context, cursor string) ([]models.Conversation, string, error) {
		cq.Page = models.Page{Cursor: cursor, Limit: exportBatch}
		rows, next, err := s.store.FindConversationRows(ctx, cq)
		convs := make([]models.Conversation, len(rows))
		for i, r := range rows {
			convs[i] = r.Conversation
		}
		return convs, next, err
	}
	return s.export(c, "conversations", f.values(nil).Encode(), src)
}

// searchExportSource lists the conversations of a message search's hits, a
// page of hits at a time, each conversation once; hits the operator may not
// see (matched only in masked personal data) do not count.
func (s *Server) searchExportSource(q models.MessageSearch, me *models.Operator) exportSource {
	mask := s.masker(me)
	terms := models.MessageSearchTerms(q.Text)
	seen := map[string]bool{}
	return func(ctx context.Context, cursor string) ([]models.Conversation, string, error) {
		q.Page = models.Page{Cursor: cursor, Limit: exportBatch}
		hits, next, err := s.store.SearchMessages(ctx, q)
		if err != nil {
			return nil, "", err
		}
		var ids []string
		for _, h := range hits {
			if seen[h.ConversationID] {
				continue
			}
			if _, ok := visibleSnippet(me, mask, h, terms); !ok {
				continue
			}
			seen[h.ConversationID] = true
			ids = append(ids, h.ConversationID)
		}
		found, err := s.store.FindConversationsByID(ctx, ids)
		if err != nil {
			return nil, "", err
		}
		convs := make([]models.Conversation, 0, len(ids))
		for _, id := range ids {
			if conv, ok := found[id]; ok { // not deleted since
				convs = append(convs, conv)
			}
		}
		return convs, next, nil
	}
}

// handleConversationExport handles GET /conversations/:id/export?format=jsonl|csv.
func (s *Server) handleConversationExport(c *fiber.Ctx) error {
	conv, err := s.store.FindConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	src := func(context.Context, string) ([]models.Conversation, string, error) {
		return []models.Conversation{*conv}, "", nil
	}
	return s.export(c, "conversation-"+shortID(conv.ID), "conversation="+conv.ID, src)
}

// export streams the conversations of src in the requested format, masked
// for the operator, and records the export in the audit log.
func (s *Server) export(c *fiber.Ctx, name, what string, src exportSource) error {
	format := c.Query("format", "jsonl")
	if format != "jsonl" && format != "csv" {
		return models.Errorf(models.CodeInvalid, "Choose jsonl or csv as the export's format.")
	}
	op := operator(c)
	// The entry is written before anything is exported: an export that
	// cannot be recorded does not run.
	if err := s.store.RecordAudit(c.UserContext(), auditEvent(c, "export", "conversations", "", format+" "+what)); err != nil {
		return err
	}
	// The body is written after the handler returns: keep nothing of the
	// request but copies, and a context that outlives it.
	ctx := context.WithoutCancel(c.UserContext())
	e := exporter{store: s.store, mask: s.masker(op), masked: op.MasksPersonalData(), src: src}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-%s.%s"`, name, time.Now().UTC().Format("20060102-150405"), format))
	if format == "csv" {
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	} else {
		c.Set(fiber.HeaderContentType, "application/jsonl; charset=utf-8")
	}
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		var err error
		if format == "csv" {
			err = e.csv(ctx, w)
		} else {
			err = e.jsonl(ctx, w)
		}
		if err != nil {
			s.log.Error("export stopped", "err", err, "format", format)
			// The status is sent: say so in the file itself.
			if format == "csv" {
				fmt.Fprintf(w, "# export stopped: %s\n", models.ErrorMessage(err))
			} else {
				b, _ := json.Marshal(map[string]string{"error": "export stopped: " + models.ErrorMessage(err)})
				fmt.Fprintf(w, "%s\n", b)
			}
		}
		_ = w.Flush()
	})
	return nil
}

// exporter writes conversations out, a batch at a time.
type exporter struct {
	store *store.Store
	mask  func(string) string
	// masked: the viewer sees personal data masked, in the conversations'
	// names and meta as in the text.
	masked bool
	src    exportSource
}

// each calls fn for every conversation of the source with its extras, a
// page (and its extras) at a time.
func (e exporter) each(ctx context.Context, fn func(models.Conversation, *store.ConversationExtras) error) error {
	cursor := ""
	for {
		convs, next, err := e.src(ctx, cursor)
		if err != nil {
			return err
		}
		ids := make([]string, len(convs))
		for i, c := range convs {
			ids[i] = c.ID
		}
		extras, err := e.store.FindConversationExtras(ctx, ids)
		if err != nil {
			return err
		}
		for _, c := range convs {
			if e.masked {
				c.Name, c.Meta = models.MaskPersonalData(c.Name), models.MaskMeta(c.Meta)
			}
			if err := fn(c, extras[c.ID]); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// messages calls fn for every message of a conversation, oldest first, in pages.
func (e exporter) messages(ctx context.Context, convID string, fn func(models.Message) error) error {
	cursor := ""
	for {
		msgs, next, err := e.store.FindMessages(ctx, convID, models.Page{Cursor: cursor, Limit: exportBatch, Order: models.OrderAsc})
		if err != nil {
			return err
		}
		for _, m := range msgs {
			m.Text = e.mask(m.Text)
			if err := fn(m); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// exportMessage is a message in a JSONL export.
type exportMessage struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Text      string    `json:"text"`
	TurnID    *string   `json:"turnId,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// exportTurn is a turn's figures in a JSONL export.
type exportTurn struct {
	ID            string  `json:"id"`
	UserMessageID *string `json:"userMessageId,omitempty"`
	BotMessageID  *string `json:"botMessageId,omitempty"`
	Status        string  `json:"status"`
	Provider      string  `json:"provider"`
	Model         string  `json:"model"`
	BotVersion    int     `json:"botVersion,omitempty"`
	LatencyMs     int64   `json:"latencyMs"`
	TTFTMs        *int64  `json:"ttftMs,omitempty"`
	InputTokens   int64   `json:"inputTokens"`
	OutputTokens  int64   `json:"outputTokens"`
	EndReason     string  `json:"endReason"`
	ErrorStage    string  `json:"errorStage,omitempty"`
	Error         string  `json:"error,omitempty"`
}

// exportTag is a tag on a message in a JSONL export.
type exportTag struct {
	MessageID string    `json:"messageId"`
	Name      string    `json:"name"`
	Color     string    `json:"color"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

// jsonl writes one JSON object per conversation and line: the conversation,
// its review, then its messages, ratings, tags, notes, corrections and turns.
func (e exporter) jsonl(ctx context.Context, w io.Writer) error {
	return e.each(ctx, func(c models.Conversation, x *store.ConversationExtras) error {
		head, err := json.Marshal(struct {
			ID            string      `json:"id"`
			Name          string      `json:"name"`
			BotID         *string     `json:"botId,omitempty"`
			Kind          string      `json:"kind"`
			ContactID     *string     `json:"contactId,omitempty"`
			IntegrationID *string     `json:"integrationId,omitempty"`
			Meta          models.Meta `json:"meta"`
			CreatedAt     time.Time   `json:"createdAt"`
			ReviewStatus  string      `json:"reviewStatus"`
			AssigneeID    *string     `json:"assigneeId,omitempty"`
		}{c.ID, c.Name, c.BotID, c.Kind, c.ContactID, c.IntegrationID, c.Meta, c.CreatedAt, x.ReviewStatus, x.AssigneeID})
		if err != nil {
			return err
		}
		if _, err := w.Write(head[:len(head)-1]); err != nil {
			return err
		}
		if _, err := io.WriteString(w, `,"messages":[`); err != nil {
			return err
		}
		n := 0
		err = e.messages(ctx, c.ID, func(m models.Message) error {
			b, err := json.Marshal(exportMessage{m.ID, m.Type, m.Text, m.TurnID, m.CreatedAt})
			if err != nil {
				return err
			}
			if n > 0 {
				if _, err := io.WriteString(w, ","); err != nil {
					return err
				}
			}
			n++
			_, err = w.Write(b)
			return err
		})
		if err != nil {
			return err
		}
		tags := make([]exportTag, 0, len(x.Tags))
		for _, t := range x.Tags {
			et := exportTag{MessageID: t.MessageID, By: t.CreatedBy, At: t.CreatedAt}
			if t.Tag != nil {
				et.Name, et.Color = t.Tag.Name, t.Tag.Color
			}
			tags = append(tags, et)
		}
		for i := range x.Notes {
			x.Notes[i].Text = e.mask(x.Notes[i].Text)
			for j := range x.Notes[i].Revisions {
				x.Notes[i].Revisions[j].Text = e.mask(x.Notes[i].Revisions[j].Text)
			}
		}
		for i := range x.Corrections {
			x.Corrections[i].Text = e.mask(x.Corrections[i].Text)
		}
		turns := make([]exportTurn, 0, len(x.Turns))
		for _, t := range x.Turns {
			turns = append(turns, exportTurn{t.ID, t.UserMessageID, t.BotMessageID, t.Status, t.Provider, t.Model, t.BotVersion,
				t.LatencyMs, t.TTFTMs, t.InputTokens, t.OutputTokens, t.EndReason, t.ErrorStage, e.mask(t.Error)})
		}
		tail, err := json.Marshal(struct {
			Ratings     []models.Rating     `json:"ratings"`
			Tags        []exportTag         `json:"tags"`
			Notes       []models.Note       `json:"notes"`
			Corrections []models.Correction `json:"corrections"`
			Turns       []exportTurn        `json:"turns"`
		}{nonNil(x.Ratings), tags, nonNil(x.Notes), nonNil(x.Corrections), turns})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, "],"); err != nil {
			return err
		}
		if _, err := w.Write(tail[1:]); err != nil {
			return err
		}
		_, err = io.WriteString(w, "\n")
		return err
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// csvHeader names the CSV export's columns.
var csvHeader = []string{"conversation_id", "conversation_name", "bot_id", "kind", "review_status", "message_id", "type", "created_at",
	"text", "turn_status", "latency_ms", "input_tokens", "output_tokens", "ratings_up", "ratings_down", "tags", "notes"}

// csv writes one row per message, with its conversation, its turn's figures,
// its votes, tags and notes.
func (e exporter) csv(ctx context.Context, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	err := e.each(ctx, func(c models.Conversation, x *store.ConversationExtras) error {
		turns := map[string]models.Turn{}
		for _, t := range x.Turns {
			turns[t.ID] = t
		}
		ups, downs := map[string]int{}, map[string]int{}
		for _, r := range x.Ratings {
			if r.Up() {
				ups[r.MessageID]++
			} else {
				downs[r.MessageID]++
			}
		}
		tags, notes := map[string][]string{}, map[string][]string{}
		for _, t := range x.Tags {
			if t.Tag != nil {
				tags[t.MessageID] = append(tags[t.MessageID], t.Tag.Name)
			}
		}
		for _, n := range x.Notes {
			notes[n.MessageID] = append(notes[n.MessageID], n.AuthorName+": "+e.mask(n.Text))
		}
		err := e.messages(ctx, c.ID, func(m models.Message) error {
			var status, latency, in, out string
			if m.TurnID != nil {
				if t, ok := turns[*m.TurnID]; ok {
					status, latency = t.Status, strconv.FormatInt(t.LatencyMs, 10)
					in, out = strconv.FormatInt(t.InputTokens, 10), strconv.FormatInt(t.OutputTokens, 10)
				}
			}
			return cw.Write([]string{c.ID, csvSafe(c.Name), models.Deref(c.BotID), c.Kind, x.ReviewStatus, m.ID, m.Type, m.CreatedAt.UTC().Format(time.RFC3339),
				csvSafe(m.Text), status, latency, in, out, strconv.Itoa(ups[m.ID]), strconv.Itoa(downs[m.ID]),
				csvSafe(strings.Join(tags[m.ID], "; ")), csvSafe(strings.Join(notes[m.ID], " | "))})
		})
		cw.Flush()
		if err != nil {
			return err
		}
		return cw.Error()
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}

// csvSafe keeps a spreadsheet from running a cell as a formula (CSV
// injection): text starting with = + - @ or a tab gets a leading quote.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
