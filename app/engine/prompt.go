package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"

	"parley/app/provider"
	"parley/models"
	"parley/models/store"
)

// retrieval is what a turn's search found, for its record: how (mode, and
// why it fell back) and the documents with their scores.
type retrieval struct {
	docs        []provider.Document
	instruction string
	mode, note  string
}

// retrieve searches each attached dataset with its own settings and merges the
// results best-first. instruction is the match or mismatch instruction.
func (e *Engine) retrieve(ctx context.Context, cfg config, question string) (retrieval, error) {
	var (
		out             retrieval
		match, mismatch []string
	)
	for _, d := range cfg.datasets {
		if d.SearchMaxRecords == 0 {
			continue
		}
		q := models.RecordQuery{DatasetIDs: []string{d.ID}, Text: question, Limit: d.SearchMaxRecords, MinScore: d.SearchMinScore}
		found, err := e.search(ctx, q)
		if err != nil {
			return retrieval{}, err
		}
		switch {
		case found.Mode == models.RetrievalFallback:
			out.mode = models.RetrievalFallback
		case found.Mode == models.RetrievalHybrid && out.mode != models.RetrievalFallback:
			out.mode = models.RetrievalHybrid
		case out.mode == "":
			out.mode = found.Mode
		}
		if found.Note != "" {
			out.note = strings.TrimPrefix(out.note+"; "+found.Note, "; ")
		}
		for _, f := range found.Records {
			text := f.Record.Text
			if d.RecordMaxTokens > 0 && provider.EstimateTokens(text) > d.RecordMaxTokens {
				text = models.TruncateUTF8(text, d.RecordMaxTokens*4)
			}
			out.docs = append(out.docs, provider.Document{ID: f.Record.ID, DatasetID: d.ID, Text: text, Source: f.Record.Source, Score: f.Score,
				Keyword: f.Keyword, Vector: f.Vector, Fused: f.Fused, Rerank: f.Rerank})
		}
		if len(found.Records) > 0 && d.MatchInstruction != "" {
			match = append(match, d.MatchInstruction)
		}
		if len(found.Records) == 0 && d.MismatchInstruction != "" {
			mismatch = append(mismatch, d.MismatchInstruction)
		}
	}
	slices.SortStableFunc(out.docs, func(a, b provider.Document) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if len(out.docs) > 0 {
		out.instruction = strings.Join(match, "\n")
	} else {
		out.docs, out.instruction = nil, strings.Join(mismatch, "\n")
	}
	return out, nil
}

// search runs one dataset's search through the retriever, or by keywords
// through the store when the engine has none.
func (e *Engine) search(ctx context.Context, q models.RecordQuery) (*models.Retrieval, error) {
	if e.opts.Retriever != nil {
		return e.opts.Retriever.Search(ctx, q)
	}
	return KeywordRetriever(e.opts.Store).Search(ctx, q)
}

// KeywordRetriever is a Retriever that searches by keywords only
// (store.SearchRecords), for callers wired without semantic retrieval.
func KeywordRetriever(st *store.Store) Retriever { return keywordRetriever{st} }

type keywordRetriever struct{ st *store.Store }

func (k keywordRetriever) SearchDataset(ctx context.Context, d *models.Dataset, q models.RecordQuery) (*models.Retrieval, error) {
	q.DatasetIDs = []string{d.ID}
	return k.Search(ctx, q)
}

func (k keywordRetriever) Search(ctx context.Context, q models.RecordQuery) (*models.Retrieval, error) {
	found, err := k.st.SearchRecords(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &models.Retrieval{Mode: models.RetrievalKeyword, Records: make([]models.RetrievedRecord, 0, len(found))}
	for _, f := range found {
		s := f.Score
		out.Records = append(out.Records, models.RetrievedRecord{Record: f.Record, Score: s, Keyword: &s})
	}
	return out, nil
}

// maxAbilities bounds the abilities offered in one turn.
const maxAbilities = 50

// loadAbilities returns the runners of the attached skillsets' abilities that
// have an action, and notes for the prompt of those that are instructions only.
func (e *Engine) loadAbilities(ctx context.Context, cfg config) ([]Runner, []string, error) {
	if l := cfg.loaded; l != nil {
		l.once.Do(func() { l.runners, l.notes = e.makeRunners(cfg.abilities) })
		return l.runners, l.notes, nil
	}
	runners, notes := e.makeRunners(cfg.abilities)
	return runners, notes, nil
}

// makeRunners turns abilities into runners; an ability without an action
// becomes a note for the prompt, one that does not load is skipped (logged).
func (e *Engine) makeRunners(abilities []models.Ability) ([]Runner, []string) {
	var (
		runners []Runner
		notes   []string
	)
	for _, a := range abilities {
		var r Runner
		if e.opts.Abilities != nil {
			var err error
			r, err = e.opts.Abilities(a)
			if err != nil {
				e.opts.Logger.Warn("ability skipped", "ability_id", a.ID, "error", err)
				continue
			}
		}
		if r != nil {
			runners = append(runners, r)
			continue
		}
		if a.Instruction != "" || a.Description != "" {
			notes = append(notes, fmt.Sprintf("%s: %s %s", a.Name, a.Description, a.Instruction))
		}
	}
	return runners, notes
}

// systemPrompt renders the backstory, the dataset instruction, the retrieved
// records and instruction-only abilities into one system message.
func systemPrompt(backstory, instruction string, docs []provider.Document, notes []string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(backstory))
	if instruction != "" {
		b.WriteString("\n\n" + strings.TrimSpace(instruction))
	}
	if len(docs) > 0 {
		b.WriteString("\n\nRecords from the knowledge base:\n")
		for i, d := range docs {
			fmt.Fprintf(&b, "[%d] %s\n", i+1, strings.TrimSpace(d.Text))
			if d.Source != "" {
				fmt.Fprintf(&b, "Source: %s\n", d.Source)
			}
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n\nAbilities:\n")
		for _, n := range notes {
			b.WriteString("- " + strings.TrimSpace(n) + "\n")
		}
	}
	return strings.TrimSpace(b.String())
}

// maxPromptBytes bounds the prompt kept per turn (before compression);
// longer message contents are cut, and the prompt says so.
const maxPromptBytes = 256 << 10

// encodePrompt keeps what the model received in its last call, as gzipped JSON.
func encodePrompt(req provider.Request) []byte {
	p := models.TurnPrompt{Model: req.Model}
	size := 0
	for _, m := range req.Messages {
		content := m.Content
		if len(m.ToolCalls) > 0 {
			calls, _ := json.Marshal(m.ToolCalls)
			content = strings.TrimSpace(content + "\n[tool calls] " + string(calls))
		}
		if size+len(content) > maxPromptBytes {
			content = models.TruncateUTF8(content, max(0, maxPromptBytes-size)) + "…"
			p.Truncated = true
		}
		size += len(content)
		p.Messages = append(p.Messages, models.PromptMessage{Role: m.Role, Content: content, Name: m.Name})
	}
	for _, t := range req.Tools {
		params, _ := json.Marshal(t.Parameters)
		p.Tools = append(p.Tools, models.PromptTool{Name: t.Name, Description: t.Description, Parameters: string(params)})
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	return buf.Bytes()
}

// gzipWriters are reused: a writer's tables cost more than compressing a prompt.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// DecodePrompt reads a turn's kept prompt (nil when none was kept).
func DecodePrompt(b []byte) (*models.TurnPrompt, error) {
	if len(b) == 0 {
		return nil, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("engine: prompt: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 4*maxPromptBytes))
	if err != nil {
		return nil, fmt.Errorf("engine: prompt: %w", err)
	}
	var p models.TurnPrompt
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("engine: prompt: %w", err)
	}
	return &p, nil
}

// Stateless is a completion with no stored conversation: the caller gives the
// configuration (a bot, or inline settings) and the whole history.
type Stateless struct {
	BotID      string
	Model      string
	Backstory  string
	DatasetID  string
	SkillsetID string
	// Messages is the history, oldest first; the last one should be the user's.
	Messages []models.Message
}

// Complete answers a stateless history. Nothing is stored: the messages in the
// result (context, activity, bot) have fresh ids but exist only in the reply.
func (e *Engine) Complete(ctx context.Context, in Stateless, emit func(Event)) (*Result, error) {
	if emit == nil {
		emit = func(Event) {}
	}
	conv := &models.Conversation{Model: in.Model, Backstory: in.Backstory}
	if in.BotID != "" {
		bot, err := e.opts.Store.FindBot(ctx, in.BotID)
		if err != nil {
			return nil, err
		}
		conv.Bot = bot
	}
	if in.DatasetID != "" {
		conv.DatasetID = &in.DatasetID
	}
	if in.SkillsetID != "" {
		conv.SkillsetID = &in.SkillsetID
	}
	history := in.Messages
	if len(history) > models.MaxPageSize {
		history = history[len(history)-models.MaxPageSize:]
	}
	if len(history) == 0 || history[len(history)-1].Type != models.MessageUser {
		return nil, models.FieldError("messages", "The last message must be the user's: it is the one answered.")
	}
	now := e.opts.Now().UTC()
	stamp := func(m models.Message) *models.Message {
		m.ID, m.CreatedAt, m.UpdatedAt = models.NewID(), now, now
		return &m
	}
	// Ids in order, so history can tell what came before the question. With
	// privacy on, the model sees the user's messages redacted, as stored ones are.
	var (
		stamped  []models.Message
		redacted int
	)
	for _, m := range history {
		if m.Type == models.MessageUser {
			m.Text, redacted = private(conv, m.Text)
		}
		stamped = append(stamped, *stamp(m))
	}
	user := stamped[len(stamped)-1]
	newestFirst := slices.Clone(stamped)
	slices.Reverse(newestFirst)
	sc := scope{
		config: func(ctx context.Context) (config, error) { return e.configOf(ctx, conv) },
		recent: func(context.Context) ([]models.Message, error) { return newestFirst, nil },
		start: func(_ context.Context, t *models.Turn) error {
			t.Status, t.StartedAt = models.TurnRunning, &now
			return nil
		},
		hold: func(_ *models.Turn, m models.Message) *models.Message { return stamp(m) },
		add: func(_ context.Context, _ *models.Turn, m models.Message, _ *models.TurnCall) (*models.Message, error) {
			return stamp(m), nil
		},
		finish: func(_ context.Context, t *models.Turn, m models.Message) (*models.Message, error) {
			end := e.opts.Now().UTC()
			t.FinishedAt = &end
			return stamp(m), nil
		},
	}
	t := &models.Turn{ID: models.NewID(), Status: models.TurnQueued, QueuedAt: now, Redactions: redacted}
	return e.answer(ctx, sc, &Result{Turn: t, User: &user}, emit)
}
