package store

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Migration 18 keeps the Analytics figures per complete UTC hour too, so
// that what is not a complete rolled-up day (today, yesterday during
// rollupGrace, a partial first or last day) is read from at most a few dozen
// hours' rows, and only the current hour and unaligned ends are counted live:
//
//   - analytics_hour_rollups: migration 17's analytics_rollups keyed by hour
//     ('YYYY-MM-DDTHH', UTC) instead of day;
//   - analytics_rollup_hours: the hours that have been rolled up;
//   - analytics_dirty_hours: the hours of today and yesterday that changed
//     after they were rolled up.
//
// The triggers of migration 17 now fire for rows before the current hour's
// start (not today's), and analytics_mark_day marks, besides the day of a
// time before today as before, the hour of a time before the current hour
// that is today or yesterday (yesterday's hours are read during the grace
// after midnight; older days' hours count only while their day is rolled up
// and clean, see rollupRun). Rows of the current hour still do no shared-row
// work: the insert triggers' WHEN condition is false for them. The locking
// is migration 17's: on PostgreSQL a KEY SHARE lock on the hour's dirty row
// (or its insertion), which the rollup deletes before reading the hour. On
// SQLite every trigger of migration 17 is recreated with both marks. Do not
// edit: add a migration.
func migrate0018(tx *gorm.DB) error {
	stmts, ok := migrate0018Statements[tx.Dialector.Name()]
	if !ok {
		return fmt.Errorf("analytics hour rollups: unsupported database %q", tx.Dialector.Name())
	}
	for _, q := range stmts {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("%w in %.80s", err, q)
		}
	}
	return nil
}

// migrate0018Tables are the tables, the same on both databases but for the
// types of bytes and times.
func migrate0018Tables(bytes, ts string) []string {
	return []string{
		`CREATE TABLE analytics_hour_rollups (
			hour varchar(13) NOT NULL,
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
			PRIMARY KEY (hour, bot_id, integration_id, kind))`,
		`CREATE TABLE analytics_rollup_hours (
			hour varchar(13) PRIMARY KEY,
			computed_at ` + ts + ` NOT NULL)`,
		`CREATE TABLE analytics_dirty_hours (
			hour varchar(13) PRIMARY KEY)`,
	}
}

// m18PastHour is the PostgreSQL condition that a time column is before the
// current hour's start (UTC).
func m18PastHour(col string) string {
	return "((" + col + " AT TIME ZONE 'UTC') < date_trunc('hour', now() AT TIME ZONE 'UTC'))"
}

// m18MarkDirty is the PostgreSQL loop that marks the period k dirty in
// table (key column col): a KEY SHARE lock on its row if there is one, else
// the row inserted (see migrate0017).
func m18MarkDirty(table, col string) string {
	return `FOR i IN 1..5 LOOP
					PERFORM 1 FROM ` + table + ` WHERE ` + col + ` = k FOR KEY SHARE;
					EXIT WHEN FOUND;
					INSERT INTO ` + table + ` (` + col + `) VALUES (k) ON CONFLICT (` + col + `) DO NOTHING;
					EXIT WHEN FOUND;
				END LOOP;`
}

// m18Trigger replaces a PostgreSQL row trigger of migration 17 with one
// whose WHEN condition is cond.
func m18Trigger(name, event, table, cond, function string) []string {
	return []string{
		`DROP TRIGGER ` + name + ` ON ` + table,
		`CREATE TRIGGER ` + name + ` AFTER ` + event + ` ON ` + table + ` FOR EACH ROW WHEN (` + cond + `) EXECUTE FUNCTION ` + function + `()`,
	}
}

// m18HourSQLite is the hour key ('YYYY-MM-DDTHH') of a time column as SQLite
// stores times (UTC text, "YYYY-MM-DD HH:…").
func m18HourSQLite(col string) string {
	return "substr(" + col + ", 1, 10) || 'T' || substr(" + col + ", 12, 2)"
}

// m18PastHourSQLite is the SQLite condition that a time column is before the
// current hour's start.
func m18PastHourSQLite(col string) string {
	return m18HourSQLite(col) + " < strftime('%Y-%m-%dT%H', 'now')"
}

// m18MarkSQLite is a SQLite trigger body marking the periods of the times
// that times selects (one column, t): the day of each before today, and the
// hour of each before the current hour that is today or yesterday.
func m18MarkSQLite(times string) string {
	return `BEGIN
		INSERT OR IGNORE INTO analytics_dirty_days (day) SELECT d FROM (SELECT substr(t, 1, 10) AS d FROM (` + times + `))
			WHERE d < strftime('%Y-%m-%d', 'now');
		INSERT OR IGNORE INTO analytics_dirty_hours (hour) SELECT h FROM (SELECT ` + m18HourSQLite("t") + ` AS h FROM (` + times + `))
			WHERE h >= strftime('%Y-%m-%d', 'now', '-1 day') AND h < strftime('%Y-%m-%dT%H', 'now');
	END`
}

// m18TriggerSQLite replaces a SQLite trigger of migration 17 (when "" for
// none).
func m18TriggerSQLite(name, event, table, when, times string) []string {
	if when != "" {
		when = " WHEN " + when
	}
	return []string{
		`DROP TRIGGER ` + name,
		`CREATE TRIGGER ` + name + ` ` + event + ` ON ` + table + when + ` ` + m18MarkSQLite(times),
	}
}

// m18Postgres are the PostgreSQL statements: the tables, the marking
// function and the two functions of migration 17 that judge a time
// themselves, and the row triggers whose WHEN conditions judge it.
func m18Postgres() []string {
	out := migrate0018Tables("bytea", "timestamptz")
	out = append(out,
		// analytics_mark_day marks the day of ts dirty if it is before
		// today's, and its hour if it is before the current hour's and today
		// or yesterday; see migrate0017 for the lock.
		`CREATE OR REPLACE FUNCTION analytics_mark_day(ts timestamptz) RETURNS void LANGUAGE plpgsql AS $$
		DECLARE
			t timestamp := ts AT TIME ZONE 'UTC';
			today timestamp := date_trunc('day', now() AT TIME ZONE 'UTC');
			k text;
		BEGIN
			IF t IS NULL OR t >= date_trunc('hour', now() AT TIME ZONE 'UTC') THEN
				RETURN;
			END IF;
			IF t < today THEN
				k := to_char(t, 'YYYY-MM-DD');
				`+m18MarkDirty("analytics_dirty_days", "day")+`
			END IF;
			IF t >= today - interval '1 day' THEN
				k := to_char(t, 'YYYY-MM-DD"T"HH24');
				`+m18MarkDirty("analytics_dirty_hours", "hour")+`
			END IF;
		END $$`,
		// Turn records and calls: the period of their turn, if before the
		// current hour.
		`CREATE OR REPLACE FUNCTION analytics_turn_rows_mark() RETURNS trigger LANGUAGE plpgsql AS $$
		DECLARE ts timestamptz;
		BEGIN
			FOR ts IN SELECT t.created_at FROM turns AS t WHERE t.id IN (SELECT turn_id FROM changed)
				AND `+m18PastHour("t.created_at")+` LOOP
				PERFORM analytics_mark_day(ts);
			END LOOP;
			RETURN NULL;
		END $$`,
		// Conversations: as in migration 17, the periods of its messages,
		// turns and ratings now one time per hour.
		`CREATE OR REPLACE FUNCTION analytics_conversations_mark() RETURNS trigger LANGUAGE plpgsql AS $$
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
					WHERE `+m18PastHour("x.at")+`
					GROUP BY date_trunc('hour', x.at AT TIME ZONE 'UTC') LOOP
					PERFORM analytics_mark_day(ts);
				END LOOP;
			END IF;
			RETURN NULL;
		END $$`,
	)
	for _, tr := range []struct{ name, event, table, cond, function string }{
		{"analytics_messages_insert", "INSERT", "messages", m18PastHour("NEW.created_at"), "analytics_messages_mark"},
		{"analytics_turns_insert", "INSERT", "turns", m18PastHour("NEW.created_at"), "analytics_turns_mark"},
		{"analytics_turns_update", "UPDATE", "turns", m18PastHour("OLD.created_at") + " OR " + m18PastHour("NEW.created_at"), "analytics_turns_mark"},
		{"analytics_turns_delete", "DELETE", "turns", m18PastHour("OLD.created_at"), "analytics_turns_mark"},
		{"analytics_ratings_insert", "INSERT", "ratings", m18PastHour("NEW.updated_at"), "analytics_ratings_mark"},
		{"analytics_ratings_update", "UPDATE", "ratings", m18PastHour("OLD.updated_at") + " OR " + m18PastHour("NEW.updated_at"), "analytics_ratings_mark"},
		{"analytics_ratings_delete", "DELETE", "ratings", m18PastHour("OLD.updated_at"), "analytics_ratings_mark"},
		{"analytics_conversations_insert", "INSERT", "conversations", m18PastHour("NEW.created_at"), "analytics_conversations_mark"},
		{"analytics_conversations_delete", "DELETE", "conversations", m18PastHour("OLD.created_at"), "analytics_conversations_mark"},
	} {
		out = append(out, m18Trigger(tr.name, tr.event, tr.table, tr.cond, tr.function)...)
	}
	return out
}

// m18SQLite are the SQLite statements: the tables and every trigger of
// migration 17, recreated to mark hours too and to do nothing for rows of
// the current hour.
func m18SQLite() []string {
	out := migrate0018Tables("blob", "datetime")
	past := m18PastHourSQLite
	// The turns a message is the question or answer of, and a
	// conversation's rows.
	const msgTurns = ` UNION SELECT created_at FROM turns WHERE user_message_id = OLD.id
		UNION SELECT created_at FROM turns WHERE bot_message_id = OLD.id`
	const convRows = ` UNION SELECT created_at FROM messages WHERE conversation_id = OLD.id
		UNION SELECT created_at FROM turns WHERE conversation_id = OLD.id
		UNION SELECT updated_at FROM ratings WHERE conversation_id = OLD.id`
	// A turn record's or call's turn, if before the current hour (checked
	// in WHEN, so that the turn path's rows do nothing more).
	turnOf := func(ids string) (when, times string) {
		return "EXISTS (SELECT 1 FROM turns WHERE id IN (" + ids + ") AND " + past("created_at") + ")",
			"SELECT created_at AS t FROM turns WHERE id IN (" + ids + ")"
	}
	for _, tr := range []struct{ name, event, table, when, times string }{
		{"analytics_messages_insert", "AFTER INSERT", "messages", past("NEW.created_at"), "SELECT NEW.created_at AS t"},
		{"analytics_messages_update", "AFTER UPDATE", "messages",
			"OLD.text IS NOT NEW.text OR OLD.type IS NOT NEW.type OR OLD.created_at IS NOT NEW.created_at OR OLD.conversation_id IS NOT NEW.conversation_id",
			"SELECT OLD.created_at AS t UNION SELECT NEW.created_at" + msgTurns},
		{"analytics_messages_delete", "AFTER DELETE", "messages", "", "SELECT OLD.created_at AS t" + msgTurns},
		{"analytics_turns_insert", "AFTER INSERT", "turns", past("NEW.created_at"), "SELECT NEW.created_at AS t"},
		{"analytics_turns_update", "AFTER UPDATE", "turns", past("OLD.created_at") + " OR " + past("NEW.created_at"),
			"SELECT OLD.created_at AS t UNION SELECT NEW.created_at"},
		{"analytics_turns_delete", "AFTER DELETE", "turns", past("OLD.created_at"), "SELECT OLD.created_at AS t"},
		{"analytics_ratings_insert", "AFTER INSERT", "ratings", past("NEW.updated_at"), "SELECT NEW.updated_at AS t"},
		{"analytics_ratings_update", "AFTER UPDATE", "ratings", past("OLD.updated_at") + " OR " + past("NEW.updated_at"),
			"SELECT OLD.updated_at AS t UNION SELECT NEW.updated_at"},
		{"analytics_ratings_delete", "AFTER DELETE", "ratings", past("OLD.updated_at"), "SELECT OLD.updated_at AS t"},
		{"analytics_conversations_insert", "AFTER INSERT", "conversations", past("NEW.created_at"), "SELECT NEW.created_at AS t"},
		{"analytics_conversations_update", "AFTER UPDATE", "conversations",
			"OLD.kind IS NOT NEW.kind OR OLD.bot_id IS NOT NEW.bot_id OR OLD.integration_id IS NOT NEW.integration_id " +
				"OR OLD.created_at IS NOT NEW.created_at OR OLD.contact_id IS NOT NEW.contact_id",
			"SELECT OLD.created_at AS t UNION SELECT NEW.created_at" + convRows},
		// Deleting a conversation deletes its rows through the foreign
		// keys; marked here too, before they go, in case the cascade does
		// not fire their triggers.
		{"analytics_conversations_delete", "BEFORE DELETE", "conversations", "", "SELECT OLD.created_at AS t" + convRows},
	} {
		out = append(out, m18TriggerSQLite(tr.name, tr.event, tr.table, tr.when, tr.times)...)
	}
	for _, table := range []string{"turn_records", "turn_calls"} {
		for _, ev := range []struct{ event, ids string }{{"INSERT", "NEW.turn_id"}, {"UPDATE", "OLD.turn_id, NEW.turn_id"}, {"DELETE", "OLD.turn_id"}} {
			when, times := turnOf(ev.ids)
			out = append(out, m18TriggerSQLite("analytics_"+table+"_"+strings.ToLower(ev.event), "AFTER "+ev.event, table, when, times)...)
		}
	}
	return out
}

// migrate0018Statements are the tables, functions and triggers per dialect.
var migrate0018Statements = map[string][]string{
	Postgres: m18Postgres(),
	SQLite:   m18SQLite(),
}
