package models

// Sort orders for listings.
const (
	OrderDesc = "desc"
	OrderAsc  = "asc"
)

// Page limits for listings: every list is bounded.
const (
	DefaultPageSize = 25
	MaxPageSize     = 100
)

// Page is a cursor window on a listing ordered by id (ids are time-ordered).
// Cursor is the id of the last item of the previous page, "" for the first page.
type Page struct {
	Cursor string
	Limit  int
	Order  string
}

// Normalize fills defaults and clamps the limit.
func (p Page) Normalize() Page {
	if p.Limit <= 0 {
		p.Limit = DefaultPageSize
	}
	if p.Limit > MaxPageSize {
		p.Limit = MaxPageSize
	}
	if p.Order != OrderAsc {
		p.Order = OrderDesc
	}
	return p
}
