package store

import (
	"strings"

	"gorm.io/gorm"
)

// messageFromSQLite walks the full-text matches and looks each one's message
// up by rowid (CROSS JOIN keeps SQLite from choosing the other order, which
// probes the index once per message: see searchSQLite).
const messageFromSQLite = "messages_fts CROSS JOIN messages AS m"

// messageMatchSQLite keeps the messages whose FTS5 entry (migration 12) has
// every term. The query is bound, and each term a quoted FTS5 string, so
// words like NEAR or OR and characters like * are searched as text.
func messageMatchSQLite(q *gorm.DB, terms []string) *gorm.DB {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	return q.Where("messages_fts MATCH ? AND m.rowid = messages_fts.rowid", strings.Join(quoted, " "))
}
