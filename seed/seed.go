// Package seed loads Parley's demo data — a support bot for the fictional
// Northwind Cloud Storage, its help-center dataset, its skillset and a sample
// conversation — so a fresh install has something to try and tests have
// realistic fixtures. Loading is idempotent: every object is found by a fixed
// alias (or, for records, abilities and the conversation, by a fixed key
// inside its parent) before anything is created.
package seed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"parley/app/provider"
	"parley/app/provider/local"
	"parley/models"
	"parley/models/store"
)

// Fixed keys that make the demo data findable again.
const (
	botAlias      = "parley-demo-support"
	datasetAlias  = "parley-demo-faq"
	skillsetAlias = "parley-demo-skills"
	marker        = "parley-demo" // value of meta "seed" on everything seeded
)

// Result says what Run created or found.
type Result struct {
	BotID, DatasetID, SkillsetID, ConversationID string
	// The names of what was loaded, to show.
	BotName, DatasetName, SkillsetName, ConversationName string
	Created                                              bool // false when everything already existed
}

// Run loads the demo data; running it twice changes nothing (second run returns Created=false and the same ids).
func Run(ctx context.Context, s *store.Store) (*Result, error) {
	r := &Result{}

	ds, created, err := ensureDataset(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("seed: create dataset: %w", err)
	}
	r.DatasetID, r.DatasetName, r.Created = ds.ID, ds.Name, r.Created || created

	_, created, err = ensureRecords(ctx, s, ds.ID)
	if err != nil {
		return nil, fmt.Errorf("seed: create records: %w", err)
	}
	r.Created = r.Created || created

	ks, created, err := ensureSkillset(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("seed: create skillset: %w", err)
	}
	r.SkillsetID, r.SkillsetName, r.Created = ks.ID, ks.Name, r.Created || created

	created, err = ensureAbilities(ctx, s, ks.ID)
	if err != nil {
		return nil, fmt.Errorf("seed: create abilities: %w", err)
	}
	r.Created = r.Created || created

	bot, created, err := ensureBot(ctx, s, ds.ID, ks.ID)
	if err != nil {
		return nil, fmt.Errorf("seed: create bot: %w", err)
	}
	r.BotID, r.BotName, r.Created = bot.ID, bot.Name, r.Created || created

	conv, created, err := ensureConversation(ctx, s, bot.ID, ds)
	if err != nil {
		return nil, fmt.Errorf("seed: create conversation: %w", err)
	}
	r.ConversationID, r.ConversationName, r.Created = conv.ID, conv.Name, r.Created || created

	return r, nil
}

// findByAlias returns the row of T with the alias, or nil when there is none.
func findByAlias[T any](ctx context.Context, s *store.Store, alias string) (*T, error) {
	var v T
	err := s.DB().WithContext(ctx).Where("alias = ?", alias).Take(&v).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// findOrCreate looks a top-level object up by alias and creates it when
// missing. When a concurrent Run created it first (the alias is unique), the
// conflict is answered by looking it up again.
func findOrCreate[T any](ctx context.Context, s *store.Store, alias string, create func() (*T, error)) (*T, bool, error) {
	found, err := findByAlias[T](ctx, s, alias)
	if err != nil || found != nil {
		return found, false, err
	}
	v, err := create()
	if models.ErrorCode(err) == models.CodeConflict {
		found, ferr := findByAlias[T](ctx, s, alias)
		if ferr == nil && found != nil {
			return found, false, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func ensureDataset(ctx context.Context, s *store.Store) (*models.Dataset, bool, error) {
	return findOrCreate(ctx, s, datasetAlias, func() (*models.Dataset, error) {
		return s.CreateDataset(ctx, demoDataset())
	})
}

// ensureRecords creates the FAQ records the dataset lacks (a record is known by
// its source) and returns every FAQ record's id by source.
func ensureRecords(ctx context.Context, s *store.Store, datasetID string) (map[string]string, bool, error) {
	sources := make([]string, len(faq))
	for i, f := range faq {
		sources[i] = f.Source
	}
	var have []models.DatasetRecord
	err := s.DB().WithContext(ctx).Select("id", "source").
		Where("dataset_id = ? AND source IN ?", datasetID, sources).Order("id").Find(&have).Error
	if err != nil {
		return nil, false, err
	}
	ids := make(map[string]string, len(faq))
	for _, r := range have {
		if _, ok := ids[r.Source]; !ok {
			ids[r.Source] = r.ID
		}
	}
	created := false
	for _, f := range faq {
		if _, ok := ids[f.Source]; ok {
			continue
		}
		r, err := s.CreateRecord(ctx, models.DatasetRecord{
			DatasetID: datasetID,
			Text:      f.Text,
			Source:    f.Source,
			Meta:      models.Meta{"seed": marker, "title": f.Title},
		})
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", f.Source, err)
		}
		ids[f.Source] = r.ID
		created = true
	}
	return ids, created, nil
}

func ensureSkillset(ctx context.Context, s *store.Store) (*models.Skillset, bool, error) {
	return findOrCreate(ctx, s, skillsetAlias, func() (*models.Skillset, error) {
		return s.CreateSkillset(ctx, demoSkillset())
	})
}

// ensureAbilities creates the abilities the skillset lacks (an ability is known by its name).
func ensureAbilities(ctx context.Context, s *store.Store, skillsetID string) (bool, error) {
	want := demoAbilities()
	names := make([]string, len(want))
	for i, a := range want {
		names[i] = a.Name
	}
	var have []string
	err := s.DB().WithContext(ctx).Model(&models.Ability{}).
		Where("skillset_id = ? AND name IN ?", skillsetID, names).Pluck("name", &have).Error
	if err != nil {
		return false, err
	}
	created := false
	for _, a := range want {
		if slices.Contains(have, a.Name) {
			continue
		}
		a.SkillsetID = skillsetID
		if _, err := s.CreateAbility(ctx, a); err != nil {
			return false, fmt.Errorf("%s: %w", a.Name, err)
		}
		created = true
	}
	return created, nil
}

// ensureBot finds or creates the demo bot and makes sure the demo dataset and
// skillset are attached to it, keeping any other attachments an operator added.
func ensureBot(ctx context.Context, s *store.Store, datasetID, skillsetID string) (*models.Bot, bool, error) {
	found, created, err := findOrCreate(ctx, s, botAlias, func() (*models.Bot, error) {
		return s.CreateBot(ctx, store.BotInput{
			Bot:         demoBot(),
			DatasetIDs:  []string{datasetID},
			SkillsetIDs: []string{skillsetID},
		})
	})
	if err != nil || created {
		return found, created, err
	}
	bot, err := s.FindBot(ctx, found.ID)
	if err != nil {
		return nil, false, err
	}
	dsIDs, hasDS := attachedIDs(bot.Datasets, func(d models.Dataset) string { return d.ID }, datasetID)
	ksIDs, hasKS := attachedIDs(bot.Skillsets, func(k models.Skillset) string { return k.ID }, skillsetID)
	if hasDS && hasKS {
		return bot, false, nil
	}
	bot, err = s.UpdateBot(ctx, store.BotInput{Bot: *bot, DatasetIDs: dsIDs, SkillsetIDs: ksIDs})
	if err != nil {
		return nil, false, fmt.Errorf("attach: %w", err)
	}
	return bot, true, nil
}

// attachedIDs returns the ids of items with want added, and whether want was already there.
func attachedIDs[T any](items []T, id func(T) string, want string) ([]string, bool) {
	ids := make([]string, 0, len(items)+1)
	has := false
	for _, it := range items {
		ids = append(ids, id(it))
		has = has || id(it) == want
	}
	if !has {
		ids = append(ids, want)
	}
	return ids, has
}

// ensureConversation finds the sample conversation by its bot, name and seed
// marker, or creates it with its messages.
func ensureConversation(ctx context.Context, s *store.Store, botID string, ds *models.Dataset) (*models.Conversation, bool, error) {
	var candidates []models.Conversation
	err := s.DB().WithContext(ctx).Where("bot_id = ? AND name = ?", botID, conversationName).
		Order("id").Limit(20).Find(&candidates).Error
	if err != nil {
		return nil, false, err
	}
	for i := range candidates {
		if candidates[i].Meta["seed"] == marker {
			return &candidates[i], false, nil
		}
	}
	conv, questions := demoConversation(botID)
	c, err := s.CreateConversation(ctx, conv, nil)
	if err != nil {
		return nil, false, err
	}
	for _, q := range questions {
		if err := storeExchange(ctx, s, c, botID, ds, q); err != nil {
			return nil, false, err
		}
	}
	return c, true, nil
}

// storeExchange stores one exchange as a turn of the seeded bot stores it:
// the question with its turn, the context with the records the dataset's
// search finds for it (as a turn searches: the dataset's limit and minimum
// score), then the offline provider's answer from those records, with the
// turn's figures.
func storeExchange(ctx context.Context, s *store.Store, c *models.Conversation, botID string, ds *models.Dataset, question string) error {
	found, err := s.SearchRecords(ctx, models.RecordQuery{DatasetIDs: []string{ds.ID}, Text: question,
		Limit: ds.SearchMaxRecords, MinScore: ds.SearchMinScore})
	if err != nil {
		return err
	}
	var (
		records []models.TurnRecord
		docs    []provider.Document
		ctxText string
	)
	for i, f := range found {
		if i > 0 {
			ctxText += "\n\n"
		}
		ctxText += f.Record.Text + "\nSource: " + f.Record.Source
		records = append(records, models.TurnRecord{Rank: i + 1, RecordID: f.Record.ID, DatasetID: ds.ID, Source: f.Record.Source,
			Score: float64(int(f.Score*10000+0.5)) / 10000})
		docs = append(docs, provider.Document{ID: f.Record.ID, DatasetID: ds.ID, Text: f.Record.Text, Source: f.Record.Source, Score: f.Score})
	}
	answer, err := local.New().Complete(ctx, provider.Request{Model: "local", Documents: docs,
		Messages: []provider.Message{{Role: provider.RoleUser, Content: question}}}, nil)
	if err != nil {
		return err
	}
	var sources []any
	for _, line := range strings.Split(answer.Text, "\n") {
		if src, ok := strings.CutPrefix(line, "Source: "); ok {
			sources = append(sources, src)
		}
	}
	_, t, _, err := s.PostUserMessage(ctx, models.Message{ConversationID: c.ID, Text: question}, true, 0)
	if err != nil {
		return err
	}
	t.BotID = &botID
	if v, err := s.LatestBotVersion(ctx, botID); err == nil && v != nil {
		t.BotVersionID, t.BotVersion = &v.ID, v.Number
	}
	if err := s.StartTurn(ctx, t); err != nil {
		return err
	}
	if ctxText != "" {
		t.Records = records
		if _, err := s.AddTurnMessage(ctx, t, models.Message{ConversationID: c.ID, Type: models.MessageContext, Text: ctxText}, nil); err != nil {
			return err
		}
	}
	t.Status, t.Provider, t.Model, t.EndReason = models.TurnDone, "local", "local", models.EndStop
	t.LatencyMs, t.InputTokens, t.OutputTokens = 12, int64(len(question)/4+400), int64(answer.Usage.OutputTokens)
	_, err = s.FinishTurn(ctx, t, models.Message{Type: models.MessageBot, Text: answer.Text, Meta: models.Meta{"sources": sources}})
	return err
}
