package store

import (
	"strings"

	"gorm.io/gorm"
)

// pgSourceIndexChars is how many characters of a source the PostgreSQL
// source index holds (migration 11): enough for any prefix a person types,
// and short enough that a B-tree entry always fits. pgSourceHead is the
// index's expression, written as the index has it so the planner uses it.
const (
	pgSourceIndexChars = 200
	pgSourceHead       = `left(source, 200) COLLATE "C"`
)

// pgSourcePrefix narrows q to sources starting with prefix: a range on the
// index of their first 200 characters in byte order (COLLATE "C"), then the
// exact test for a longer prefix.
func pgSourcePrefix(q *gorm.DB, prefix string) *gorm.DB {
	head := prefix
	if r := []rune(prefix); len(r) > pgSourceIndexChars {
		head = string(r[:pgSourceIndexChars])
	}
	q = q.Where(pgSourceHead+" >= ?", head)
	if end, ok := prefixEnd(head); ok {
		q = q.Where(pgSourceHead+" < ?", end)
	}
	return q.Where("starts_with(source, ?)", prefix)
}

// pgWordsMatch narrows q to records whose text or source contains every term
// as a word or the start of one, through the GIN index on search. The terms
// are letters, digits and marks only (models.SearchTerms), each quoted as a
// lexeme with :* (a prefix); the query is bound, never interpolated.
func pgWordsMatch(q *gorm.DB, terms []string) *gorm.DB {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = "'" + strings.ReplaceAll(t, "'", "''") + "':*"
	}
	return q.Where("search @@ to_tsquery('"+pgSearchConfig+"', ?)", strings.Join(parts, " & "))
}
