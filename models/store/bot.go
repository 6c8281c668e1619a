package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"parley/models"
)

// BotInput is what a create or update writes: the bot's fields and, when the
// ID lists are non-nil, the full set of attached datasets and skillsets.
type BotInput struct {
	Bot         models.Bot
	DatasetIDs  []string // nil: leave attachments as they are
	SkillsetIDs []string // nil: leave attachments as they are
	// Note is the optional note of the version the change makes.
	Note string
}

// CreateBot validates and inserts a bot with its attachments and its version
// 1, in one transaction.
func (s *Store) CreateBot(ctx context.Context, in BotInput) (*models.Bot, error) {
	b := in.Bot
	b.ID = models.NewID()
	normalizeBot(&b)
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := checkNote(in.Note); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Omit("Datasets", "Skillsets").Create(&b).Error; err != nil {
			return translate(err, "bot")
		}
		if err := s.setAttachments(tx, b.ID, in.DatasetIDs, in.SkillsetIDs); err != nil {
			return err
		}
		_, err := s.versionBots(tx, []string{b.ID}, in.Note)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.FindBot(ctx, b.ID)
}

// UpdateBot validates and saves every field of the bot and, when given, its
// attachments; a change to what answers makes a new version, in the same
// transaction.
func (s *Store) UpdateBot(ctx context.Context, in BotInput) (*models.Bot, error) {
	b := in.Bot
	normalizeBot(&b)
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := checkNote(in.Note); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var cur models.Bot
		if err := tx.Select("id", "created_at").First(&cur, "id = ?", b.ID).Error; err != nil {
			return translate(err, "bot")
		}
		b.CreatedAt = cur.CreatedAt
		if err := update(tx, &b, b.ID, "bot", "Datasets", "Skillsets", "VersionID"); err != nil {
			return err
		}
		if err := s.setAttachments(tx, b.ID, in.DatasetIDs, in.SkillsetIDs); err != nil {
			return err
		}
		_, err := s.versionBots(tx, []string{b.ID}, in.Note)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.FindBot(ctx, b.ID)
}

func normalizeBot(b *models.Bot) {
	b.Name = strings.TrimSpace(b.Name)
	if b.Alias != nil && strings.TrimSpace(*b.Alias) == "" {
		b.Alias = nil
	}
	if b.Visibility == "" {
		b.Visibility = models.VisibilityPrivate
	}
	if b.Meta == nil {
		b.Meta = models.Meta{}
	}
}

// setAttachments replaces a bot's datasets and skillsets (nil lists are left alone).
// Unknown ids are an invalid-input error naming the field.
func (s *Store) setAttachments(tx *gorm.DB, botID string, datasetIDs, skillsetIDs []string) error {
	now := s.now()
	if datasetIDs != nil {
		ids := dedupe(datasetIDs)
		if err := checkIDs(tx, &models.Dataset{}, ids, "datasetIds", "dataset"); err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM bot_datasets WHERE bot_id = ?", botID).Error; err != nil {
			return translate(err, "bot")
		}
		for _, id := range ids {
			if err := tx.Exec("INSERT INTO bot_datasets (bot_id, dataset_id, created_at) VALUES (?, ?, ?)", botID, id, now).Error; err != nil {
				return translate(err, "bot dataset")
			}
		}
	}
	if skillsetIDs != nil {
		ids := dedupe(skillsetIDs)
		if err := checkIDs(tx, &models.Skillset{}, ids, "skillsetIds", "skillset"); err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM bot_skillsets WHERE bot_id = ?", botID).Error; err != nil {
			return translate(err, "bot")
		}
		for _, id := range ids {
			if err := tx.Exec("INSERT INTO bot_skillsets (bot_id, skillset_id, created_at) VALUES (?, ?, ?)", botID, id, now).Error; err != nil {
				return translate(err, "bot skillset")
			}
		}
	}
	return nil
}

// maxAttachments bounds how many datasets or skillsets one bot may use.
const maxAttachments = 50

// maxUsedBy bounds how many bots a "used by" list names.
const maxUsedBy = 200

// checkIDs makes sure every id names an existing row of model's table.
func checkIDs(tx *gorm.DB, model any, ids []string, field, what string) error {
	if len(ids) > maxAttachments {
		return models.FieldError(field, "A bot can use at most 50 of these.")
	}
	if len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		if !models.ValidID(id) {
			return models.FieldError(field, "Unknown "+what+" id: "+id+".")
		}
	}
	var found []string
	if err := tx.Model(model).Where("id IN ?", ids).Pluck("id", &found).Error; err != nil {
		return translate(err, what)
	}
	if len(found) != len(ids) {
		have := map[string]bool{}
		for _, id := range found {
			have[id] = true
		}
		for _, id := range ids {
			if !have[id] {
				return models.FieldError(field, "Unknown "+what+" id: "+id+".")
			}
		}
	}
	return nil
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// FindBot returns a bot with its datasets and skillsets.
func (s *Store) FindBot(ctx context.Context, id string) (*models.Bot, error) {
	if !models.ValidID(id) {
		return nil, notFound("bot")
	}
	var b models.Bot
	err := s.conn(ctx).
		Preload("Datasets", func(db *gorm.DB) *gorm.DB { return db.Order("datasets.name") }).
		Preload("Skillsets", func(db *gorm.DB) *gorm.DB { return db.Order("skillsets.name") }).
		First(&b, "id = ?", id).Error
	if err != nil {
		return nil, translate(err, "bot")
	}
	return &b, nil
}

// FindBots lists bots with their datasets and skillsets, newest first by
// default, one cursor page at a time.
func (s *Store) FindBots(ctx context.Context, f models.BotFilter) ([]models.Bot, string, error) {
	q := s.conn(ctx).Model(&models.Bot{}).
		Preload("Datasets", func(db *gorm.DB) *gorm.DB { return db.Order("datasets.name") }).
		Preload("Skillsets", func(db *gorm.DB) *gorm.DB { return db.Order("skillsets.name") })
	if f.DatasetID != "" {
		q = q.Where("id IN (SELECT bot_id FROM bot_datasets WHERE dataset_id = ?)", f.DatasetID)
	}
	if f.SkillsetID != "" {
		q = q.Where("id IN (SELECT bot_id FROM bot_skillsets WHERE skillset_id = ?)", f.SkillsetID)
	}
	bots, next, err := paginate(q, f.Page, "id", func(b *models.Bot) string { return b.ID })
	if err != nil {
		return nil, "", translate(err, "bots")
	}
	return bots, next, nil
}

// CountBots counts all bots.
func (s *Store) CountBots(ctx context.Context) (int64, error) {
	var n int64
	err := s.conn(ctx).Model(&models.Bot{}).Count(&n).Error
	return n, translate(err, "bots")
}

// DeleteBot deletes a bot and its versions. Its conversations stay readable:
// they keep their messages (and their turns the version number that
// answered) and lose only the link to the bot.
func (s *Store) DeleteBot(ctx context.Context, id string) error {
	// Explicit, so behaviour does not depend on the foreign keys alone.
	return s.deleteRow(ctx, &models.Bot{}, id, "bot", "UPDATE conversations SET bot_id = NULL WHERE bot_id = ?",
		"DELETE FROM bot_versions WHERE bot_id = ?")
}

// botsUsing names the bots attached to a dataset or skillset (join table and column given).
func (s *Store) botsUsing(ctx context.Context, table, col, id string) ([]models.BotRef, error) {
	var refs []models.BotRef
	err := s.conn(ctx).Model(&models.Bot{}).Select("bots.id, bots.name").
		Joins("JOIN "+table+" j ON j.bot_id = bots.id").Where("j."+col+" = ?", id).
		Order("bots.name").Limit(maxUsedBy).Scan(&refs).Error
	return refs, translate(err, "bots")
}

// Counts returns the number of rows of the main tables, for the dashboard.
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range []string{"bots", "datasets", "skillsets", "conversations"} {
		var n int64
		if err := s.conn(ctx).Table(t).Count(&n).Error; err != nil {
			return nil, translate(err, t)
		}
		out[t] = n
	}
	return out, nil
}

// AttachDataset attaches one dataset to a bot (attaching twice is harmless),
// making a new version of the bot.
func (s *Store) AttachDataset(ctx context.Context, botID, datasetID string) error {
	return s.attach(ctx, "bot_datasets", "dataset_id", &models.Dataset{}, "datasetId", "dataset", botID, datasetID)
}

// DetachDataset detaches a dataset from a bot, making a new version of the bot.
func (s *Store) DetachDataset(ctx context.Context, botID, datasetID string) error {
	return s.detach(ctx, "bot_datasets", "dataset_id", botID, datasetID)
}

// AttachSkillset attaches one skillset to a bot (attaching twice is
// harmless), making a new version of the bot.
func (s *Store) AttachSkillset(ctx context.Context, botID, skillsetID string) error {
	return s.attach(ctx, "bot_skillsets", "skillset_id", &models.Skillset{}, "skillsetId", "skillset", botID, skillsetID)
}

// DetachSkillset detaches a skillset from a bot, making a new version of the bot.
func (s *Store) DetachSkillset(ctx context.Context, botID, skillsetID string) error {
	return s.detach(ctx, "bot_skillsets", "skillset_id", botID, skillsetID)
}

func (s *Store) attach(ctx context.Context, table, col string, model any, field, what, botID, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkIDs(tx, &models.Bot{}, []string{botID}, "botId", "bot"); err != nil {
			return notFound("bot")
		}
		if err := checkIDs(tx, model, []string{id}, field, what); err != nil {
			return err
		}
		var n int64
		if err := tx.Table(table).Where("bot_id = ? AND "+col+" = ?", botID, id).Count(&n).Error; err != nil {
			return translate(err, what)
		}
		if n > 0 {
			return nil
		}
		if err := tx.Table(table).Where("bot_id = ?", botID).Count(&n).Error; err != nil {
			return translate(err, what)
		}
		if n >= maxAttachments {
			return models.FieldError(field, "A bot can use at most 50 of these.")
		}
		if err := tx.Exec("INSERT INTO "+table+" (bot_id, "+col+", created_at) VALUES (?, ?, ?)", botID, id, s.now()).Error; err != nil {
			return translate(err, what)
		}
		_, err := s.versionBots(tx, []string{botID}, "")
		return err
	})
}

func (s *Store) detach(ctx context.Context, table, col, botID, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("DELETE FROM "+table+" WHERE bot_id = ? AND "+col+" = ?", botID, id)
		if res.Error != nil {
			return translate(res.Error, "attachment")
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.CodeNotFound, "That is not attached to this bot.")
		}
		_, err := s.versionBots(tx, []string{botID}, "")
		return err
	})
}
