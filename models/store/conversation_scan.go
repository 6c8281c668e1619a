package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"parley/models"
)

// conversationWithBotSQL reads conversations and their bots (if they still
// have one), every column models.Conversation and models.Bot map, in
// scanConversationWithBot's order; a condition on c follows it. Every turn
// reads its conversation this way: scanned by hand rather than through
// reflection (TestFindConversationScan checks that it reads what GORM
// reads, field by field).
const conversationWithBotSQL = `SELECT c.id, c.bot_id, c.name, c.description, c.meta, c.model, c.backstory, c.dataset_id, c.skillset_id,
	c.privacy, c.moderation, c.contact_id, c.task_id, c.space_id, c.kind, c.pinned, c.created_at, c.updated_at,
	c.integration_id, c.channel_thread_id,
	b.id, b.alias, b.name, b.description, b.backstory, b.model, b.privacy, b.moderation, b.visibility, b.meta,
	b.version_id, b.created_at, b.updated_at
FROM conversations AS c LEFT JOIN bots AS b ON b.id = c.bot_id WHERE `

// Fields scanned, for the test that keeps them in step with the models.
const (
	conversationScannedFields = 20
	botScannedFields          = 13
)

// findConversationsWithBot reads the conversations matching where (a
// condition on c, with its arguments) with their bots.
func (s *Store) findConversationsWithBot(ctx context.Context, where string, args ...any) ([]models.Conversation, error) {
	rows, err := s.conn(ctx).Raw(conversationWithBotSQL+where, args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []models.Conversation
	for rows.Next() {
		c, err := scanConversationWithBot(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// scanConversationWithBot scans one row of conversationWithBotSQL.
func scanConversationWithBot(rows *sql.Rows) (models.Conversation, error) {
	var (
		c                                              models.Conversation
		botID, dataset, skillset, contact, task, space sql.NullString
		integration, thread, pinned                    sql.NullString
		bID, bAlias, bName, bDesc, bBackstory, bModel  sql.NullString
		bVisibility, bVersion                          sql.NullString
		bPrivacy, bModeration                          sql.NullBool
		bMeta                                          models.Meta
		bCreated, bUpdated                             sql.NullTime
		createdAt, updatedAt                           time.Time
	)
	if err := rows.Scan(&c.ID, &botID, &c.Name, &c.Description, &c.Meta, &c.Model, &c.Backstory, &dataset, &skillset,
		&c.Privacy, &c.Moderation, &contact, &task, &space, &c.Kind, &pinned, &createdAt, &updatedAt,
		&integration, &thread,
		&bID, &bAlias, &bName, &bDesc, &bBackstory, &bModel, &bPrivacy, &bModeration, &bVisibility, &bMeta,
		&bVersion, &bCreated, &bUpdated); err != nil {
		return c, err
	}
	c.CreatedAt, c.UpdatedAt = createdAt, updatedAt
	c.BotID, c.DatasetID, c.SkillsetID = nullable(botID), nullable(dataset), nullable(skillset)
	c.ContactID, c.TaskID, c.SpaceID = nullable(contact), nullable(task), nullable(space)
	c.IntegrationID, c.ChannelThreadID = nullable(integration), nullable(thread)
	if pinned.Valid && pinned.String != "" && pinned.String != "null" {
		var p models.PinnedConfig
		if err := json.Unmarshal([]byte(pinned.String), &p); err != nil {
			return c, errors.New("store: conversation: pinned configuration: " + err.Error())
		}
		c.Pinned = &p
	}
	if bID.Valid {
		c.Bot = &models.Bot{ID: bID.String, Alias: nullable(bAlias), Name: bName.String, Description: bDesc.String,
			Backstory: bBackstory.String, Model: bModel.String, Privacy: bPrivacy.Bool, Moderation: bModeration.Bool,
			Visibility: bVisibility.String, Meta: bMeta, VersionID: nullable(bVersion),
			CreatedAt: bCreated.Time, UpdatedAt: bUpdated.Time}
	}
	return c, nil
}

// nullable is a NULL-able column as an optional string.
func nullable(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}
