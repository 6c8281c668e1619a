package store

import (
	"context"

	"gorm.io/gorm"

	"parley/models"
)

// update writes every column of an existing row (never inserting, unlike
// gorm's Save, so a row deleted meanwhile stays deleted) and reports not
// found when no row has that id. omit names associations to leave alone.
func update(tx *gorm.DB, model any, id, what string, omit ...string) error {
	q := tx.Model(model).Where("id = ?", id).Select("*")
	if len(omit) > 0 {
		q = q.Omit(omit...)
	}
	res := q.Updates(model)
	if res.Error != nil {
		return translate(res.Error, what)
	}
	if res.RowsAffected == 0 {
		return notFound(what)
	}
	return nil
}

// deleteRow runs the clean-up statements (each taking the id) and then deletes
// the row, all in one transaction; no row with that id is not found.
func (s *Store) deleteRow(ctx context.Context, model any, id, what string, cleanup ...string) error {
	if !models.ValidID(id) {
		return notFound(what)
	}
	return s.tx(ctx, func(tx *gorm.DB) error { return deleteRowTx(tx, model, id, what, cleanup...) })
}

// deleteRowTx is deleteRow in a transaction of the caller's.
func deleteRowTx(tx *gorm.DB, model any, id, what string, cleanup ...string) error {
	for _, q := range cleanup {
		if err := tx.Exec(q, id).Error; err != nil {
			return translate(err, what)
		}
	}
	res := tx.Delete(model, "id = ?", id)
	if res.Error != nil {
		return translate(res.Error, what)
	}
	if res.RowsAffected == 0 {
		return notFound(what)
	}
	return nil
}

// EachPage walks a set page after page by id: read returns up to limit
// items whose id comes after after ("": from the first), in id order; do
// gets each page; the walk ends at the first short page. It is how
// start-up recovery reads everything a stop left, however much.
func EachPage[T any](size int, read func(after string, limit int) ([]T, error), id func(T) string, do func([]T) error) error {
	for after := ""; ; {
		page, err := read(after, size)
		if err != nil {
			return err
		}
		if err := do(page); err != nil {
			return err
		}
		if len(page) < size {
			return nil
		}
		after = id(page[len(page)-1])
	}
}

// paginate runs q as one cursor page ordered by the id column (ids are
// time-ordered). It fetches one row more than asked to know whether a next page
// exists and returns the cursor for it ("" on the last page).
func paginate[T any](q *gorm.DB, p models.Page, col string, id func(*T) string) ([]T, string, error) {
	p = p.Normalize()
	if p.Cursor != "" {
		if p.Order == models.OrderAsc {
			q = q.Where(col+" > ?", p.Cursor)
		} else {
			q = q.Where(col+" < ?", p.Cursor)
		}
	}
	var items []T
	if err := q.Order(col + " " + p.Order).Limit(p.Limit + 1).Find(&items).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(items) > p.Limit {
		items = items[:p.Limit]
		next = id(&items[len(items)-1])
	}
	return items, next, nil
}
