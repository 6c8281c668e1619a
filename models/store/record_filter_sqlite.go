package store

import (
	"strings"

	"gorm.io/gorm"
)

// sqliteSourcePrefix narrows q to sources starting with prefix: a range on
// the (dataset_id, source) index, in SQLite's BINARY (byte) order.
func sqliteSourcePrefix(q *gorm.DB, prefix string) *gorm.DB {
	q = q.Where("source >= ?", prefix)
	if end, ok := prefixEnd(prefix); ok {
		q = q.Where("source < ?", end)
	}
	return q
}

// sqliteWordsMatch narrows q to records whose text or source contains every
// term as a word or the start of one, through the FTS5 index. Each term is
// an FTS5 string followed by * (a prefix query), so no term is read as
// query syntax.
func sqliteWordsMatch(q *gorm.DB, terms []string) *gorm.DB {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = ftsQuote(t) + "*"
	}
	return q.Where("rowid IN (SELECT rowid FROM dataset_records_fts WHERE dataset_records_fts MATCH ?)", strings.Join(parts, " AND "))
}
