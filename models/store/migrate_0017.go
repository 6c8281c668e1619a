package store

import (
	"fmt"

	"gorm.io/gorm"
)

// Migration 17 keeps the Analytics page's figures per complete UTC day, so a
// range of past days is read from a few hundred rows instead of every
// message and turn in it:
//
//   - analytics_rollups: one row per day, bot, integration and conversation
//     kind (the keys the page filters and groups by), with what the page sums
//     (see rollupRow);
//   - analytics_rollup_days: the days that have been rolled up (a day with no
//     traffic has a day row and no rollup rows);
//   - analytics_dirty_days: the past days that changed after they were rolled
//     up, written by triggers so that every write path is covered, present and
//     future: inserting, changing or deleting a message, turn, turn record or
//     call, rating or conversation whose day is before today's (UTC) marks
//     that day (and, for a conversation whose kind, bot, integration,
//     contact or creation time changes, every day of its messages, turns and ratings).
//     Rows of today never fire the triggers' work: the insert triggers' WHEN
//     condition is false for them, so the turn path pays nothing, and no
//     shared row is written.
//
// On PostgreSQL a trigger takes a KEY SHARE lock on the day's dirty row (or
// inserts it): writers to the same past day do not wait for each other, and
// the rollup, which deletes the row before reading the day, waits for them to
// commit, so no write is missed between the rollup's read and the writer's
// commit. On SQLite the single writer gives the same order. Do not edit: add
// a migration.
func migrate0017(tx *gorm.DB) error {
	stmts, ok := migrate0017Statements[tx.Dialector.Name()]
	if !ok {
		return fmt.Errorf("analytics rollups: unsupported database %q", tx.Dialector.Name())
	}
	for _, q := range stmts {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("%w in %.80s", err, q)
		}
	}
	return nil
}

// migrate0017Tables are the tables, the same on both databases but for the
// types of bytes and times.
func migrate0017Tables(bytes, ts string) []string {
	return []string{
		`CREATE TABLE analytics_rollups (
			day varchar(10) NOT NULL,
			bot_id varchar(36) NOT NULL,
			integration_id varchar(36) NOT NULL,
			kind varchar(20) NOT NULL,
			conversations bigint NOT NULL DEFAULT 0,
			contacts text NOT NULL DEFAULT '',
			messages bigint NOT NULL DEFAULT 0,
			turns bigint NOT NULL DEFAULT 0,
			dont_know bigint NOT NULL DEFAULT 0,
			up bigint NOT NULL DEFAULT 0,
			down bigint NOT NULL DEFAULT 0,
			no_record text NOT NULL DEFAULT '',
			latency ` + bytes + `,
			ttft ` + bytes + `,
			tokens text NOT NULL DEFAULT '',
			abilities text NOT NULL DEFAULT '',
			records text NOT NULL DEFAULT '',
			samples text NOT NULL DEFAULT '',
			PRIMARY KEY (day, bot_id, integration_id, kind))`,
		`CREATE TABLE analytics_rollup_days (
			day varchar(10) PRIMARY KEY,
			computed_at ` + ts + ` NOT NULL)`,
		`CREATE TABLE analytics_dirty_days (
			day varchar(10) PRIMARY KEY)`,
	}
}

// migrate0017Statements are the tables and triggers per dialect.
var migrate0017Statements = map[string][]string{
	Postgres: append(migrate0017Tables("bytea", "timestamptz"),
		// analytics_mark_day marks the UTC day of ts dirty if it is before
		// today's; see migrate0017 for the lock.
		`CREATE FUNCTION analytics_mark_day(ts timestamptz) RETURNS void LANGUAGE plpgsql AS $$
		DECLARE d text;
		BEGIN
			IF ts IS NULL OR (ts AT TIME ZONE 'UTC') >= date_trunc('day', now() AT TIME ZONE 'UTC') THEN
				RETURN;
			END IF;
			d := to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD');
			FOR i IN 1..5 LOOP
				PERFORM 1 FROM analytics_dirty_days WHERE day = d FOR KEY SHARE;
				IF FOUND THEN
					RETURN;
				END IF;
				INSERT INTO analytics_dirty_days (day) VALUES (d) ON CONFLICT (day) DO NOTHING;
				IF FOUND THEN
					RETURN;
				END IF;
			END LOOP;
		END $$`,
		// Messages: the row's day; on a change that counts (text, type, time,
		// conversation) or a deletion also the days of the turns that refer to
		// it (a turn's "did not know" reads its answer, its question is shown).
		`CREATE FUNCTION analytics_messages_mark() RETURNS trigger LANGUAGE plpgsql AS $$
		DECLARE ts timestamptz;
		BEGIN
			IF TG_OP = 'INSERT' THEN
				PERFORM analytics_mark_day(NEW.created_at);
				RETURN NULL;
			END IF;
			PERFORM analytics_mark_day(OLD.created_at);
			IF TG_OP = 'UPDATE' THEN
				PERFORM analytics_mark_day(NEW.created_at);
			END IF;
			FOR ts IN SELECT created_at FROM turns WHERE user_message_id = OLD.id UNION ALL SELECT created_at FROM turns WHERE bot_message_id = OLD.id LOOP
				PERFORM analytics_mark_day(ts);
			END LOOP;
			RETURN NULL;
		END $$`,
		`CREATE TRIGGER analytics_messages_insert AFTER INSERT ON messages FOR EACH ROW
			WHEN ((NEW.created_at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC'))
			EXECUTE FUNCTION analytics_messages_mark()`,
		`CREATE TRIGGER analytics_messages_update AFTER UPDATE ON messages FOR EACH ROW
			WHEN (OLD.text IS DISTINCT FROM NEW.text OR OLD.type IS DISTINCT FROM NEW.type
				OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.conversation_id IS DISTINCT FROM NEW.conversation_id)
			EXECUTE FUNCTION analytics_messages_mark()`,
		`CREATE TRIGGER analytics_messages_delete AFTER DELETE ON messages FOR EACH ROW EXECUTE FUNCTION analytics_messages_mark()`,
		// Turns: the row's day (old and new).
		`CREATE FUNCTION analytics_turns_mark() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF TG_OP <> 'INSERT' THEN
				PERFORM analytics_mark_day(OLD.created_at);
			END IF;
			IF TG_OP <> 'DELETE' THEN
				PERFORM analytics_mark_day(NEW.created_at);
			END IF;
			RETURN NULL;
		END $$`,
		`CREATE TRIGGER analytics_turns_insert AFTER INSERT ON turns FOR EACH ROW
			WHEN ((NEW.created_at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC'))
			EXECUTE FUNCTION analytics_turns_mark()`,
		`CREATE TRIGGER analytics_turns_update AFTER UPDATE ON turns FOR EACH ROW
			WHEN ((OLD.created_at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC')
				OR (NEW.created_at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC'))
			EXECUTE FUNCTION analytics_turns_mark()`,
		`CREATE TRIGGER analytics_turns_delete AFTER DELETE ON turns FOR EACH ROW
			WHEN ((OLD.created_at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC'))
			EXECUTE FUNCTION analytics_turns_mark()`,
		// Turn records and calls: the day of their turn, once per statement
		// (a turn's records are inserted in one statement when it finishes).
		`CREATE FUNCTION analytics_turn_rows_mark() RETURNS trigger LANGUAGE plpgsql AS $$
		DECLARE ts timestamptz;
		BEGIN
			FOR ts IN SELECT t.created_at FROM turns AS t WHERE t.id IN (SELECT turn_id FROM changed)
				AND (t.created_at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC') LOOP
				PERFORM analytics_mark_day(ts);
			END LOOP;
			RETURN NULL;
		END $$`,
		`CREATE TRIGGER analytics_turn_records_insert AFTER INSERT ON turn_records REFERENCING NEW TABLE AS changed
			FOR EACH STATEMENT EXECUTE FUNCTION analytics_turn_rows_mark()`,
		`CREATE TRIGGER analytics_turn_records_update AFTER UPDATE ON turn_records REFERENCING OLD TABLE AS changed
			FOR EACH STATEMENT EXECUTE FUNCTION analytics_turn_rows_mark()`,
		`CREATE TRIGGER analytics_turn_records_delete AFTER DELETE ON turn_records REFERENCING OLD TABLE AS changed
			FOR EACH STATEMENT EXECUTE FUNCTION analytics_turn_rows_mark()`,
		`CREATE TRIGGER analytics_turn_calls_insert AFTER INSERT ON turn_calls REFERENCING NEW TABLE AS changed
			FOR EACH STATEMENT EXECUTE FUNCTION analytics_turn_rows_mark()`,
		`CREATE TRIGGER analytics_turn_calls_update AFTER UPDATE ON turn_calls REFERENCING OLD TABLE AS changed
			FOR EACH STATEMENT EXECUTE FUNCTION analytics_turn_rows_mark()`,
		`CREATE TRIGGER analytics_turn_calls_delete AFTER DELETE ON turn_calls REFERENCING OLD TABLE AS changed
			FOR EACH STATEMENT EXECUTE FUNCTION analytics_turn_rows_mark()`,
		// Ratings count on the day they were last updated.
		`CREATE FUNCTION analytics_ratings_mark() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF TG_OP <> 'INSERT' THEN
				PERFORM analytics_mark_day(OLD.updated_at);
			END IF;
			IF TG_OP <> 'DELETE' THEN
				PERFORM analytics_mark_day(NEW.updated_at);
			END IF;
			RETURN NULL;
		END $$`,
		`CREATE TRIGGER analytics_ratings_insert AFTER INSERT ON ratings FOR EACH ROW
			WHEN ((NEW.updated_at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC'))
			EXECUTE FUNCTION analytics_ratings_mark()`,
		`CREATE TRIGGER analytics_ratings_update AFTER UPDATE ON ratings FOR EACH ROW
			WHEN ((OLD.updated_at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC')
				OR (NEW.updated_at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC'))
			EXECUTE FUNCTION analytics_ratings_mark()`,
		`CREATE TRIGGER analytics_ratings_delete AFTER DELETE ON ratings FOR EACH ROW
			WHEN ((OLD.updated_at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC'))
			EXECUTE FUNCTION analytics_ratings_mark()`,
		// Conversations: the day it was created; when its kind, bot,
		// integration, contact or creation time change, also every day of its
		// messages, turns and ratings (deleting it deletes those, whose own
		// triggers mark their days).
		`CREATE FUNCTION analytics_conversations_mark() RETURNS trigger LANGUAGE plpgsql AS $$
		DECLARE ts timestamptz;
		BEGIN
			IF TG_OP <> 'INSERT' THEN
				PERFORM analytics_mark_day(OLD.created_at);
			END IF;
			IF TG_OP <> 'DELETE' THEN
				PERFORM analytics_mark_day(NEW.created_at);
			END IF;
			IF TG_OP = 'UPDATE' THEN
				FOR ts IN SELECT min(x.at) FROM (
						SELECT created_at AS at FROM messages WHERE conversation_id = OLD.id
						UNION ALL SELECT created_at FROM turns WHERE conversation_id = OLD.id
						UNION ALL SELECT updated_at FROM ratings WHERE conversation_id = OLD.id) AS x
					WHERE (x.at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC')
					GROUP BY (x.at AT TIME ZONE 'UTC')::date LOOP
					PERFORM analytics_mark_day(ts);
				END LOOP;
			END IF;
			RETURN NULL;
		END $$`,
		`CREATE TRIGGER analytics_conversations_insert AFTER INSERT ON conversations FOR EACH ROW
			WHEN ((NEW.created_at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC'))
			EXECUTE FUNCTION analytics_conversations_mark()`,
		`CREATE TRIGGER analytics_conversations_update AFTER UPDATE ON conversations FOR EACH ROW
			WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.bot_id IS DISTINCT FROM NEW.bot_id
				OR OLD.integration_id IS DISTINCT FROM NEW.integration_id OR OLD.created_at IS DISTINCT FROM NEW.created_at
				OR OLD.contact_id IS DISTINCT FROM NEW.contact_id)
			EXECUTE FUNCTION analytics_conversations_mark()`,
		`CREATE TRIGGER analytics_conversations_delete AFTER DELETE ON conversations FOR EACH ROW
			WHEN ((OLD.created_at AT TIME ZONE 'UTC') < date_trunc('day', now() AT TIME ZONE 'UTC'))
			EXECUTE FUNCTION analytics_conversations_mark()`,
	),
	SQLite: append(migrate0017Tables("blob", "datetime"),
		// Times are stored as UTC text starting YYYY-MM-DD (dayExprSQLite).
		`CREATE TRIGGER analytics_messages_insert AFTER INSERT ON messages
			WHEN substr(NEW.created_at, 1, 10) < strftime('%Y-%m-%d', 'now')
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) VALUES (substr(NEW.created_at, 1, 10)); END`,
		`CREATE TRIGGER analytics_messages_update AFTER UPDATE ON messages
			WHEN OLD.text IS NOT NEW.text OR OLD.type IS NOT NEW.type OR OLD.created_at IS NOT NEW.created_at
				OR OLD.conversation_id IS NOT NEW.conversation_id
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT d FROM (
				SELECT substr(OLD.created_at, 1, 10) AS d UNION SELECT substr(NEW.created_at, 1, 10)
				UNION SELECT substr(created_at, 1, 10) FROM turns WHERE user_message_id = OLD.id
				UNION SELECT substr(created_at, 1, 10) FROM turns WHERE bot_message_id = OLD.id)
				WHERE d < strftime('%Y-%m-%d', 'now'); END`,
		`CREATE TRIGGER analytics_messages_delete AFTER DELETE ON messages
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT d FROM (
				SELECT substr(OLD.created_at, 1, 10) AS d
				UNION SELECT substr(created_at, 1, 10) FROM turns WHERE user_message_id = OLD.id
				UNION SELECT substr(created_at, 1, 10) FROM turns WHERE bot_message_id = OLD.id)
				WHERE d < strftime('%Y-%m-%d', 'now'); END`,
		`CREATE TRIGGER analytics_turns_insert AFTER INSERT ON turns
			WHEN substr(NEW.created_at, 1, 10) < strftime('%Y-%m-%d', 'now')
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) VALUES (substr(NEW.created_at, 1, 10)); END`,
		`CREATE TRIGGER analytics_turns_update AFTER UPDATE ON turns
			WHEN substr(OLD.created_at, 1, 10) < strftime('%Y-%m-%d', 'now') OR substr(NEW.created_at, 1, 10) < strftime('%Y-%m-%d', 'now')
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT d FROM (
				SELECT substr(OLD.created_at, 1, 10) AS d UNION SELECT substr(NEW.created_at, 1, 10))
				WHERE d < strftime('%Y-%m-%d', 'now'); END`,
		`CREATE TRIGGER analytics_turns_delete AFTER DELETE ON turns
			WHEN substr(OLD.created_at, 1, 10) < strftime('%Y-%m-%d', 'now')
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) VALUES (substr(OLD.created_at, 1, 10)); END`,
		`CREATE TRIGGER analytics_turn_records_insert AFTER INSERT ON turn_records
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT substr(created_at, 1, 10) FROM turns
				WHERE id = NEW.turn_id AND substr(created_at, 1, 10) < strftime('%Y-%m-%d', 'now'); END`,
		`CREATE TRIGGER analytics_turn_records_update AFTER UPDATE ON turn_records
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT substr(created_at, 1, 10) FROM turns
				WHERE id IN (OLD.turn_id, NEW.turn_id) AND substr(created_at, 1, 10) < strftime('%Y-%m-%d', 'now'); END`,
		`CREATE TRIGGER analytics_turn_records_delete AFTER DELETE ON turn_records
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT substr(created_at, 1, 10) FROM turns
				WHERE id = OLD.turn_id AND substr(created_at, 1, 10) < strftime('%Y-%m-%d', 'now'); END`,
		`CREATE TRIGGER analytics_turn_calls_insert AFTER INSERT ON turn_calls
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT substr(created_at, 1, 10) FROM turns
				WHERE id = NEW.turn_id AND substr(created_at, 1, 10) < strftime('%Y-%m-%d', 'now'); END`,
		`CREATE TRIGGER analytics_turn_calls_update AFTER UPDATE ON turn_calls
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT substr(created_at, 1, 10) FROM turns
				WHERE id IN (OLD.turn_id, NEW.turn_id) AND substr(created_at, 1, 10) < strftime('%Y-%m-%d', 'now'); END`,
		`CREATE TRIGGER analytics_turn_calls_delete AFTER DELETE ON turn_calls
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT substr(created_at, 1, 10) FROM turns
				WHERE id = OLD.turn_id AND substr(created_at, 1, 10) < strftime('%Y-%m-%d', 'now'); END`,
		`CREATE TRIGGER analytics_ratings_insert AFTER INSERT ON ratings
			WHEN substr(NEW.updated_at, 1, 10) < strftime('%Y-%m-%d', 'now')
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) VALUES (substr(NEW.updated_at, 1, 10)); END`,
		`CREATE TRIGGER analytics_ratings_update AFTER UPDATE ON ratings
			WHEN substr(OLD.updated_at, 1, 10) < strftime('%Y-%m-%d', 'now') OR substr(NEW.updated_at, 1, 10) < strftime('%Y-%m-%d', 'now')
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT d FROM (
				SELECT substr(OLD.updated_at, 1, 10) AS d UNION SELECT substr(NEW.updated_at, 1, 10))
				WHERE d < strftime('%Y-%m-%d', 'now'); END`,
		`CREATE TRIGGER analytics_ratings_delete AFTER DELETE ON ratings
			WHEN substr(OLD.updated_at, 1, 10) < strftime('%Y-%m-%d', 'now')
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) VALUES (substr(OLD.updated_at, 1, 10)); END`,
		`CREATE TRIGGER analytics_conversations_insert AFTER INSERT ON conversations
			WHEN substr(NEW.created_at, 1, 10) < strftime('%Y-%m-%d', 'now')
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) VALUES (substr(NEW.created_at, 1, 10)); END`,
		`CREATE TRIGGER analytics_conversations_update AFTER UPDATE ON conversations
			WHEN OLD.kind IS NOT NEW.kind OR OLD.bot_id IS NOT NEW.bot_id OR OLD.integration_id IS NOT NEW.integration_id
				OR OLD.created_at IS NOT NEW.created_at OR OLD.contact_id IS NOT NEW.contact_id
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT d FROM (
				SELECT substr(OLD.created_at, 1, 10) AS d UNION SELECT substr(NEW.created_at, 1, 10)
				UNION SELECT substr(created_at, 1, 10) FROM messages WHERE conversation_id = OLD.id
				UNION SELECT substr(created_at, 1, 10) FROM turns WHERE conversation_id = OLD.id
				UNION SELECT substr(updated_at, 1, 10) FROM ratings WHERE conversation_id = OLD.id)
				WHERE d < strftime('%Y-%m-%d', 'now'); END`,
		// Deleting a conversation deletes its rows through the foreign keys;
		// marked here too, before they go, in case the cascade does not fire
		// their triggers.
		`CREATE TRIGGER analytics_conversations_delete BEFORE DELETE ON conversations
			BEGIN INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT d FROM (
				SELECT substr(OLD.created_at, 1, 10) AS d
				UNION SELECT substr(created_at, 1, 10) FROM messages WHERE conversation_id = OLD.id
				UNION SELECT substr(created_at, 1, 10) FROM turns WHERE conversation_id = OLD.id
				UNION SELECT substr(updated_at, 1, 10) FROM ratings WHERE conversation_id = OLD.id)
				WHERE d < strftime('%Y-%m-%d', 'now'); END`,
	),
}
