package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"parley/models"
)

// recordScope returns tx narrowed to the records f matches. Every condition
// uses an index: the dataset (dataset_id, id), the import (import_id), the
// source prefix (a range on the source index) and the words (the full-text
// index). A filter whose words are all too common to be indexed cannot
// match anything and is an invalid-input error for its "text" field.
func (s *Store) recordScope(tx *gorm.DB, f models.RecordFilter) (*gorm.DB, error) {
	q := tx.Model(&models.DatasetRecord{}).Where("dataset_id = ?", f.DatasetID)
	if f.ImportID != "" {
		if !models.ValidID(f.ImportID) {
			return nil, notFound("import")
		}
		q = q.Where("import_id = ?", f.ImportID)
	}
	if f.Source != "" {
		q = s.sourcePrefix(q, f.Source)
	}
	if strings.TrimSpace(f.Text) != "" {
		terms := models.SearchTerms(f.Text)
		if len(terms) == 0 {
			return nil, models.FieldError("text", "Type at least one word that is not a common one such as “the” or “how”: the filter looks for words, and common ones are not indexed.")
		}
		q = s.wordsMatch(q, terms)
	}
	return q, nil
}

// prefixEnd returns the least string greater than every string that starts
// with p, in code point order (which is UTF-8 byte order, and so the order of
// SQLite's BINARY and PostgreSQL's "C" collation): p with its last character
// incremented. ok is false when no string is (p is all U+10FFFF, or empty).
func prefixEnd(p string) (string, bool) {
	r := []rune(p)
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] >= unicode.MaxRune {
			continue
		}
		next := r[i] + 1
		if next >= 0xD800 && next <= 0xDFFF { // surrogates are not characters
			next = 0xE000
		}
		return string(append(r[:i:i], next)), true
	}
	return "", false
}

// checkFilter refuses a filter the store cannot search for: a malformed dataset
// is not found, and text must be storable text.
func checkFilter(f models.RecordFilter) error {
	if !models.ValidID(f.DatasetID) {
		return notFound("dataset")
	}
	for _, v := range []struct{ field, s string }{{"text", f.Text}, {"source", f.Source}} {
		if !utf8.ValidString(v.s) || strings.IndexByte(v.s, 0) >= 0 {
			return models.FieldError(v.field, "The filter contains text that cannot be searched for: a NUL character or invalid UTF-8.")
		}
	}
	return nil
}

// ListRecords returns one page of the records f matches, newest first, with
// how many match and where the page sits among them. p.Cursor is an id from
// an earlier page: with p.Order desc (the default) the page holds the
// records older than it (the next page), with p.Order asc the ones just newer
// than it (the previous page; the first page when fewer are left). Errors:
// not_found (a malformed dataset or import id), invalid (see recordScope).
func (s *Store) ListRecords(ctx context.Context, f models.RecordFilter, p models.Page) (*models.RecordList, error) {
	if err := checkFilter(f); err != nil {
		return nil, err
	}
	p = p.Normalize()
	db := s.conn(ctx)
	scope := func() *gorm.DB {
		q, _ := s.recordScope(db, f) // checked below, before any query
		return q
	}
	if _, err := s.recordScope(db, f); err != nil {
		return nil, err
	}
	var items []models.DatasetRecord
	if p.Cursor != "" && p.Order == models.OrderAsc {
		if err := scope().Where("id > ?", p.Cursor).Order("id ASC").Limit(p.Limit).Find(&items).Error; err != nil {
			return nil, translate(err, "records")
		}
		if len(items) < p.Limit { // back at the newest: show a full first page
			items, p.Cursor = nil, ""
		} else {
			slices.Reverse(items)
		}
	}
	if items == nil {
		q := scope()
		if p.Cursor != "" {
			q = q.Where("id < ?", p.Cursor)
		}
		if err := q.Order("id DESC").Limit(p.Limit).Find(&items).Error; err != nil {
			return nil, translate(err, "records")
		}
	}
	out := &models.RecordList{Records: items}
	if err := scope().Count(&out.Total).Error; err != nil {
		return nil, translate(err, "records")
	}
	switch {
	case len(items) > 0:
		if err := scope().Where("id > ?", items[0].ID).Count(&out.Offset).Error; err != nil {
			return nil, translate(err, "records")
		}
		if out.Offset > 0 {
			out.Prev = items[0].ID
		}
		if out.Offset+int64(len(items)) < out.Total {
			out.Next = items[len(items)-1].ID
		}
	case p.Cursor != "": // past the last page
		out.Offset, out.Prev = out.Total, p.Cursor
	}
	return out, nil
}

// CountMatchingRecords counts the records f matches. Errors: as ListRecords.
func (s *Store) CountMatchingRecords(ctx context.Context, f models.RecordFilter) (int64, error) {
	if err := checkFilter(f); err != nil {
		return 0, err
	}
	q, err := s.recordScope(s.conn(ctx), f)
	if err != nil {
		return 0, err
	}
	var n int64
	return n, translate(q.Count(&n).Error, "records")
}

// DeleteMatchingRecords deletes every record f matches, in one transaction,
// provided that is exactly expect records (the number the person confirmed):
// otherwise it deletes nothing and answers conflict, saying how many match
// now. It returns how many it deleted. Errors: as ListRecords, and conflict.
func (s *Store) DeleteMatchingRecords(ctx context.Context, f models.RecordFilter, expect int64) (int64, error) {
	if err := checkFilter(f); err != nil {
		return 0, err
	}
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		q, err := s.recordScope(tx, f)
		if err != nil {
			return err
		}
		res := q.Delete(&models.DatasetRecord{})
		if res.Error != nil {
			return translate(res.Error, "records")
		}
		if n = res.RowsAffected; n != expect {
			return models.Errorf(models.CodeConflict, "The filter now matches %s, not the %d you confirmed: nothing was deleted.", recordsWord(n), expect)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// recordsWord is "1 record" or "3 records".
func recordsWord(n int64) string {
	if n == 1 {
		return "1 record"
	}
	return fmt.Sprintf("%d records", n)
}

// FindRecordsByID returns the records of a dataset among ids (malformed ids
// and ids of other datasets are left out), newest first.
func (s *Store) FindRecordsByID(ctx context.Context, datasetID string, ids []string) ([]models.DatasetRecord, error) {
	ids = validIDs(ids)
	if !models.ValidID(datasetID) || len(ids) == 0 {
		return nil, nil
	}
	var out []models.DatasetRecord
	err := s.conn(ctx).Where("dataset_id = ? AND id IN ?", datasetID, ids).Order("id DESC").Find(&out).Error
	return out, translate(err, "records")
}

// DeleteRecordsByID deletes the records of a dataset among ids (others are
// left alone: a malformed id, another dataset's record, one deleted already)
// and returns how many it deleted.
func (s *Store) DeleteRecordsByID(ctx context.Context, datasetID string, ids []string) (int64, error) {
	ids = validIDs(ids)
	if !models.ValidID(datasetID) || len(ids) == 0 {
		return 0, nil
	}
	res := s.conn(ctx).Where("dataset_id = ? AND id IN ?", datasetID, ids).Delete(&models.DatasetRecord{})
	return res.RowsAffected, translate(res.Error, "records")
}

// validIDs keeps the well-formed ids, each once.
func validIDs(in []string) []string {
	var out []string
	for _, id := range in {
		if models.ValidID(id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// sourcePrefix narrows q to sources starting with prefix, in the dialect's way.
func (s *Store) sourcePrefix(q *gorm.DB, prefix string) *gorm.DB {
	if s.dialect == Postgres {
		return pgSourcePrefix(q, prefix)
	}
	return sqliteSourcePrefix(q, prefix)
}

// wordsMatch narrows q to records containing every term, in the dialect's way.
func (s *Store) wordsMatch(q *gorm.DB, terms []string) *gorm.DB {
	if s.dialect == Postgres {
		return pgWordsMatch(q, terms)
	}
	return sqliteWordsMatch(q, terms)
}
