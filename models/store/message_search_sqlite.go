package store

import (
	"strings"

	"gorm.io/gorm"
)

// messageMatchSQLite keeps the messages whose FTS5 entry (migration 12) has
// every term. The query is bound, and each term a quoted FTS5 string, so
// words like NEAR or OR and characters like * are searched as text.
func messageMatchSQLite(q *gorm.DB, terms []string) *gorm.DB {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	return q.Where("m.rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)", strings.Join(quoted, " "))
}
