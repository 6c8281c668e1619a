package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"parley/models"
)

// actorKey carries the actor of a request's writes in its context.
type actorKey struct{}

// WithActor returns ctx carrying who makes the writes done with it: the
// dashboard sets the signed-in operator, the API the calling secret.
func WithActor(ctx context.Context, a models.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorOf returns the actor ctx carries, or the system when it carries none.
func ActorOf(ctx context.Context) models.Actor {
	if ctx != nil {
		if a, ok := ctx.Value(actorKey{}).(models.Actor); ok && a.Kind != "" {
			return a
		}
	}
	return models.SystemActor
}

// snapshotAbilities bounds the abilities of a skillset in a snapshot: the
// engine offers a turn the first 50 by id, so those are what answers.
const snapshotAbilities = 50

// checkNote refuses a version note that is too long or not storable text.
func checkNote(note string) error {
	return models.Validate(struct {
		Note string `json:"note" validate:"max=500"`
	}{note})
}

// versionBots records, in tx, a new version of each bot whose snapshot
// differs from its latest version (or that has none yet), made by the actor
// of tx's context and with note. Each bot is locked first (PostgreSQL: its
// row, FOR NO KEY UPDATE, which the KEY SHARE locks that writing attachments
// takes do not block, so attaching and versioning cannot deadlock; SQLite
// transactions are already one writer at a time), so concurrent changes get
// consecutive numbers, never the same one; the unique index on (bot_id,
// number) guards it too. Bots gone meanwhile are
// skipped. It returns the versions made.
func (s *Store) versionBots(tx *gorm.DB, botIDs []string, note string) ([]models.BotVersion, error) {
	ids := slices.Clone(botIDs)
	slices.Sort(ids) // one lock order for every transaction
	ids = slices.Compact(ids)
	actor := ActorOf(tx.Statement.Context)
	var made []models.BotVersion
	for _, id := range ids {
		if s.dialect == Postgres {
			var locked []string
			if err := tx.Raw("SELECT id FROM bots WHERE id = ? FOR NO KEY UPDATE", id).Scan(&locked).Error; err != nil {
				return nil, translate(err, "bot")
			}
			if len(locked) == 0 {
				continue
			}
		}
		snap, ok, err := botSnapshot(tx, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		var last models.BotVersion
		if err := tx.Where("bot_id = ?", id).Order("number DESC").Limit(1).Find(&last).Error; err != nil {
			return nil, translate(err, "bot version")
		}
		if last.ID != "" && last.Snapshot.Equal(snap) {
			continue
		}
		v := models.BotVersion{ID: models.NewID(), BotID: id, Number: last.Number + 1, Snapshot: snap,
			CreatedByKind: models.TruncateUTF8(actor.Kind, 20), CreatedByID: models.TruncateUTF8(actor.ID, 100),
			CreatedByName: models.TruncateUTF8(actor.Name, 254), CreatedAt: s.now(), Note: strings.TrimSpace(note)}
		if err := tx.Create(&v).Error; err != nil {
			return nil, translate(err, "bot version")
		}
		if err := tx.Model(&models.Bot{}).Where("id = ?", id).UpdateColumn("version_id", v.ID).Error; err != nil {
			return nil, translate(err, "bot")
		}
		made = append(made, v)
	}
	return made, nil
}

// botSnapshot reads what decides the bot's answers now, in tx; ok is false
// when there is no such bot.
func botSnapshot(tx *gorm.DB, botID string) (snap models.BotSnapshot, ok bool, err error) {
	var bots []models.Bot
	if err := tx.Select("id", "backstory", "model", "privacy", "moderation").Where("id = ?", botID).Limit(1).Find(&bots).Error; err != nil {
		return snap, false, translate(err, "bot")
	}
	if len(bots) == 0 {
		return snap, false, nil
	}
	b := bots[0]
	snap = models.BotSnapshot{Backstory: b.Backstory, Model: b.Model, Privacy: b.Privacy, Moderation: b.Moderation}
	var ds []models.Dataset
	err = tx.Model(&models.Dataset{}).Select("datasets.*").Joins("JOIN bot_datasets j ON j.dataset_id = datasets.id").
		Where("j.bot_id = ?", botID).Order("datasets.id").Limit(maxAttachments).Find(&ds).Error
	if err != nil {
		return snap, false, translate(err, "datasets")
	}
	for _, d := range ds {
		snap.Datasets = append(snap.Datasets, models.DatasetSnapshot{ID: d.ID, Name: d.Name,
			SearchMaxRecords: d.SearchMaxRecords, SearchMinScore: d.SearchMinScore, RecordMaxTokens: d.RecordMaxTokens,
			MatchInstruction: d.MatchInstruction, MismatchInstruction: d.MismatchInstruction})
	}
	var ks []models.Skillset
	err = tx.Model(&models.Skillset{}).Select("skillsets.id", "skillsets.name").Joins("JOIN bot_skillsets j ON j.skillset_id = skillsets.id").
		Where("j.bot_id = ?", botID).Order("skillsets.id").Limit(maxAttachments).Find(&ks).Error
	if err != nil {
		return snap, false, translate(err, "skillsets")
	}
	for _, k := range ks {
		var abs []models.Ability
		if err := tx.Where("skillset_id = ?", k.ID).Order("id").Limit(snapshotAbilities).Find(&abs).Error; err != nil {
			return snap, false, translate(err, "abilities")
		}
		ks := models.SkillsetSnapshot{ID: k.ID, Name: k.Name}
		for _, a := range abs {
			ks.Abilities = append(ks.Abilities, models.AbilitySnapshot{ID: a.ID, Name: a.Name,
				Description: a.Description, Instruction: a.Instruction, Meta: a.Meta})
		}
		snap.Skillsets = append(snap.Skillsets, ks)
	}
	return snap, true, nil
}

// botIDsUsing returns the ids of the bots a dataset or skillset is attached
// to (join table and column given), in tx.
func botIDsUsing(tx *gorm.DB, table, col, id string) ([]string, error) {
	var ids []string
	err := tx.Table(table).Where(col+" = ?", id).Order("bot_id").Pluck("bot_id", &ids).Error
	return ids, translate(err, "bots")
}

// versionBotsUsing makes, in tx, a new version of each bot a dataset or
// skillset (join table and column given) is attached to whose snapshot changed.
func (s *Store) versionBotsUsing(tx *gorm.DB, table, col, id string) error {
	ids, err := botIDsUsing(tx, table, col, id)
	if err != nil {
		return err
	}
	_, err = s.versionBots(tx, ids, "")
	return err
}

// deleteUsed deletes a dataset or skillset like deleteRow and then makes a
// new version of each bot it was attached to (join table and column given),
// in the same transaction.
func (s *Store) deleteUsed(ctx context.Context, model any, id, what, table, col string, cleanup ...string) error {
	if !models.ValidID(id) {
		return notFound(what)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		ids, err := botIDsUsing(tx, table, col, id)
		if err != nil {
			return err
		}
		if err := deleteRowTx(tx, model, id, what, cleanup...); err != nil {
			return err
		}
		_, err = s.versionBots(tx, ids, "")
		return err
	})
}

// FindBotVersions lists a bot's versions, newest first: limit of them (at
// most MaxPageSize) numbered below before (0: from the latest). next is the
// before of the following page (0 on the last). Errors: not_found (the bot).
func (s *Store) FindBotVersions(ctx context.Context, botID string, before, limit int) (versions []models.BotVersion, next int, err error) {
	if err := s.botExists(ctx, botID); err != nil {
		return nil, 0, err
	}
	limit = models.Page{Limit: limit}.Normalize().Limit
	q := s.conn(ctx).Where("bot_id = ?", botID)
	if before > 0 {
		q = q.Where("number < ?", before)
	}
	if err := q.Order("number DESC").Limit(limit + 1).Find(&versions).Error; err != nil {
		return nil, 0, translate(err, "bot versions")
	}
	if len(versions) > limit {
		versions = versions[:limit]
		next = versions[limit-1].Number
	}
	return versions, next, nil
}

// BotVersionNumbers lists (up to limit) a bot's latest versions without their
// snapshots, newest first, for pickers.
func (s *Store) BotVersionNumbers(ctx context.Context, botID string, limit int) ([]models.BotVersion, error) {
	var vs []models.BotVersion
	err := s.conn(ctx).Select("id", "bot_id", "number", "created_at", "note").
		Where("bot_id = ?", botID).Order("number DESC").Limit(limit).Find(&vs).Error
	return vs, translate(err, "bot versions")
}

// FindBotVersion returns version number of a bot. Errors: not_found.
func (s *Store) FindBotVersion(ctx context.Context, botID string, number int) (*models.BotVersion, error) {
	if !models.ValidID(botID) || number < 1 {
		return nil, notFound("bot version")
	}
	var v models.BotVersion
	if err := s.conn(ctx).First(&v, "bot_id = ? AND number = ?", botID, number).Error; err != nil {
		return nil, translate(err, "bot version")
	}
	return &v, nil
}

// LatestBotVersion returns the bot's latest version without its snapshot
// (id, number, author, time), or nil when the bot has none (it is gone).
func (s *Store) LatestBotVersion(ctx context.Context, botID string) (*models.BotVersion, error) {
	var vs []models.BotVersion
	err := s.conn(ctx).Select("id", "bot_id", "number", "created_by_kind", "created_by_id", "created_by_name", "created_at", "note").
		Where("bot_id = ?", botID).Order("number DESC").Limit(1).Find(&vs).Error
	if err != nil {
		return nil, translate(err, "bot version")
	}
	if len(vs) == 0 {
		return nil, nil
	}
	return &vs[0], nil
}

// LatestBotVersions returns the latest version number of each of the bots
// (bots without versions are left out).
func (s *Store) LatestBotVersions(ctx context.Context, botIDs []string) (map[string]int, error) {
	out := map[string]int{}
	if len(botIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		BotID  string
		Number int
	}
	err := s.conn(ctx).Model(&models.BotVersion{}).Select("bot_id, MAX(number) AS number").
		Where("bot_id IN ?", botIDs).Group("bot_id").Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "bot versions")
	}
	for _, r := range rows {
		out[r.BotID] = r.Number
	}
	return out, nil
}

func (s *Store) botExists(ctx context.Context, botID string) error {
	if !models.ValidID(botID) {
		return notFound("bot")
	}
	var n int64
	if err := s.conn(ctx).Model(&models.Bot{}).Where("id = ?", botID).Count(&n).Error; err != nil {
		return translate(err, "bot")
	}
	if n == 0 {
		return notFound("bot")
	}
	return nil
}

// RestorePlan is what restoring a version will do: the version, and the
// datasets and skillsets of its snapshot that no longer exist (they are
// skipped).
type RestorePlan struct {
	Version          *models.BotVersion
	MissingDatasets  []models.DatasetSnapshot
	MissingSkillsets []models.SkillsetSnapshot
}

// PlanRestore says what restoring version number of a bot would do, for its
// confirmation page. Errors: not_found (the bot or version).
func (s *Store) PlanRestore(ctx context.Context, botID string, number int) (*RestorePlan, error) {
	var p *RestorePlan
	err := s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		p, err = planRestore(tx, botID, number)
		return err
	})
	return p, err
}

func planRestore(tx *gorm.DB, botID string, number int) (*RestorePlan, error) {
	if !models.ValidID(botID) || number < 1 {
		return nil, notFound("bot version")
	}
	var v models.BotVersion
	if err := tx.First(&v, "bot_id = ? AND number = ?", botID, number).Error; err != nil {
		return nil, translate(err, "bot version")
	}
	p := &RestorePlan{Version: &v}
	var dsIDs, ksIDs []string
	for _, d := range v.Snapshot.Datasets {
		dsIDs = append(dsIDs, d.ID)
	}
	for _, k := range v.Snapshot.Skillsets {
		ksIDs = append(ksIDs, k.ID)
	}
	have := map[string]bool{}
	for _, q := range []struct {
		model any
		ids   []string
	}{{&models.Dataset{}, dsIDs}, {&models.Skillset{}, ksIDs}} {
		if len(q.ids) == 0 {
			continue
		}
		var found []string
		if err := tx.Model(q.model).Where("id IN ?", q.ids).Pluck("id", &found).Error; err != nil {
			return nil, translate(err, "attachments")
		}
		for _, id := range found {
			have[id] = true
		}
	}
	for _, d := range v.Snapshot.Datasets {
		if !have[d.ID] {
			p.MissingDatasets = append(p.MissingDatasets, d)
		}
	}
	for _, k := range v.Snapshot.Skillsets {
		if !have[k.ID] {
			p.MissingSkillsets = append(p.MissingSkillsets, k)
		}
	}
	return p, nil
}

// RestoreResult is a restore done: its plan, and the new version (nil when
// the bot already matched the restored one, so nothing changed).
type RestoreResult struct {
	RestorePlan
	New *models.BotVersion
}

// RestoreBotVersion sets the bot's backstory, model, flags and attachments
// back to those of version number, in one transaction that records them as a
// new version noted "Restored version N". Datasets and skillsets that no
// longer exist are skipped; the retrieval settings of datasets and the
// abilities of skillsets are theirs, shared with other bots, and are not
// restored. Errors: not_found (the bot or version).
func (s *Store) RestoreBotVersion(ctx context.Context, botID string, number int) (*RestoreResult, error) {
	var res RestoreResult
	err := s.tx(ctx, func(tx *gorm.DB) error {
		p, err := planRestore(tx, botID, number)
		if err != nil {
			return err
		}
		res.RestorePlan = *p
		snap := p.Version.Snapshot
		r := tx.Model(&models.Bot{}).Where("id = ?", botID).Updates(map[string]any{
			"backstory": snap.Backstory, "model": snap.Model, "privacy": snap.Privacy, "moderation": snap.Moderation,
			"updated_at": s.now()})
		if r.Error != nil {
			return translate(r.Error, "bot")
		}
		if r.RowsAffected == 0 {
			return notFound("bot")
		}
		missing := map[string]bool{}
		for _, d := range p.MissingDatasets {
			missing[d.ID] = true
		}
		for _, k := range p.MissingSkillsets {
			missing[k.ID] = true
		}
		ds, ks := []string{}, []string{}
		for _, d := range snap.Datasets {
			if !missing[d.ID] {
				ds = append(ds, d.ID)
			}
		}
		for _, k := range snap.Skillsets {
			if !missing[k.ID] {
				ks = append(ks, k.ID)
			}
		}
		if err := s.setAttachments(tx, botID, ds, ks); err != nil {
			return err
		}
		made, err := s.versionBots(tx, []string{botID}, fmt.Sprintf("Restored version %d", number))
		if len(made) > 0 {
			res.New = &made[0]
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}
