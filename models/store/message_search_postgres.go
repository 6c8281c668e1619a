package store

import (
	"strings"

	"gorm.io/gorm"
)

// messageMatchPostgres keeps the messages whose search vector (migration 12,
// the 'english' configuration) has every term. The terms are bound, never
// interpolated; plainto_tsquery reads no syntax in them.
func messageMatchPostgres(q *gorm.DB, terms []string) *gorm.DB {
	return q.Where("m.search @@ plainto_tsquery('english', ?)", strings.Join(terms, " "))
}
