package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
)

// EnsureContact gets or creates the contact with c's fingerprint
// (ChatBotKit's contact/ensure), race-safe: concurrent calls with one
// fingerprint make one contact (INSERT … ON CONFLICT DO NOTHING, then
// SELECT, in one transaction). A new contact takes c's fields; an existing
// one takes those of c's name, nick, email and phone that are set (the user
// may have renamed themselves) and is seen again now. created says whether
// it is new. Errors: invalid (no fingerprint, a field too long or malformed).
func (s *Store) EnsureContact(ctx context.Context, c models.Contact) (_ *models.Contact, created bool, err error) {
	var out *models.Contact
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, created, err = s.ensureContact(tx, c, s.now())
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// ensureContact is EnsureContact in the caller's transaction; seen is when
// the contact was seen.
func (s *Store) ensureContact(tx *gorm.DB, c models.Contact, seen time.Time) (*models.Contact, bool, error) {
	normalizeContact(&c)
	now := s.now()
	c.ID, c.FirstSeenAt, c.LastSeenAt, c.CreatedAt, c.UpdatedAt = models.NewID(), seen, seen, now, now
	if err := c.Validate(); err != nil {
		return nil, false, err
	}
	res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "fingerprint"}}, DoNothing: true}).Create(&c)
	if res.Error != nil {
		return nil, false, translate(res.Error, "contact")
	}
	if res.RowsAffected == 1 {
		return &c, true, nil
	}
	var cur models.Contact
	if err := s.lockRow(tx).First(&cur, "fingerprint = ?", c.Fingerprint).Error; err != nil {
		return nil, false, translate(err, "contact")
	}
	set := map[string]any{"updated_at": now}
	if seen.After(cur.LastSeenAt) {
		set["last_seen_at"], cur.LastSeenAt = seen, seen
	}
	for _, f := range []struct {
		col      string
		new, cur string
		dst      *string
	}{{"name", c.Name, cur.Name, &cur.Name}, {"nick", c.Nick, cur.Nick, &cur.Nick},
		{"email", c.Email, cur.Email, &cur.Email}, {"phone", c.Phone, cur.Phone, &cur.Phone}} {
		if f.new != "" && f.new != f.cur {
			set[f.col], *f.dst = f.new, f.new
		}
	}
	cur.UpdatedAt = now
	if err := tx.Model(&models.Contact{}).Where("id = ?", cur.ID).Updates(set).Error; err != nil {
		return nil, false, translate(err, "contact")
	}
	return &cur, false, nil
}

func normalizeContact(c *models.Contact) {
	c.Fingerprint = strings.TrimSpace(c.Fingerprint)
	c.Name = strings.TrimSpace(c.Name)
	c.Nick = strings.TrimSpace(c.Nick)
	c.Email = strings.TrimSpace(c.Email)
	c.Phone = strings.TrimSpace(c.Phone)
	c.Description = strings.TrimSpace(c.Description)
	if c.Meta == nil {
		c.Meta = models.Meta{}
	}
}

// CreateContact validates and stores a new contact. Errors: invalid,
// conflict (a contact has this fingerprint already).
func (s *Store) CreateContact(ctx context.Context, c models.Contact) (*models.Contact, error) {
	normalizeContact(&c)
	now := s.now()
	c.ID, c.FirstSeenAt, c.LastSeenAt = models.NewID(), now, now
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := s.conn(ctx).Create(&c).Error; err != nil {
		return nil, contactTaken(err)
	}
	return &c, nil
}

// UpdateContact saves a contact's fingerprint, name, description, nick,
// email, phone and meta (first and last seen are kept). Errors: not_found,
// invalid, conflict (another contact has the fingerprint).
func (s *Store) UpdateContact(ctx context.Context, c models.Contact) (*models.Contact, error) {
	normalizeContact(&c)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !models.ValidID(c.ID) {
		return nil, notFound("contact")
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var cur models.Contact
		if err := tx.First(&cur, "id = ?", c.ID).Error; err != nil {
			return translate(err, "contact")
		}
		c.CreatedAt, c.FirstSeenAt, c.LastSeenAt = cur.CreatedAt, cur.FirstSeenAt, cur.LastSeenAt
		if err := update(tx, &c, c.ID, "contact"); err != nil {
			return contactTaken(err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// contactTaken turns a unique violation into an error next to the fingerprint.
func contactTaken(err error) error {
	err = translate(err, "contact")
	if models.ErrorCode(err) == models.CodeConflict {
		return models.FieldError("fingerprint", "A contact with this fingerprint already exists.")
	}
	return err
}

// FindContact returns one contact.
func (s *Store) FindContact(ctx context.Context, id string) (*models.Contact, error) {
	if !models.ValidID(id) {
		return nil, notFound("contact")
	}
	var c models.Contact
	if err := s.conn(ctx).First(&c, "id = ?", id).Error; err != nil {
		return nil, translate(err, "contact")
	}
	return &c, nil
}

// FindContactByFingerprint returns the contact with this fingerprint, or not_found.
func (s *Store) FindContactByFingerprint(ctx context.Context, fingerprint string) (*models.Contact, error) {
	var c models.Contact
	if err := s.conn(ctx).Where("fingerprint = ?", strings.TrimSpace(fingerprint)).Take(&c).Error; err != nil {
		return nil, translate(err, "contact")
	}
	return &c, nil
}

// FindContacts lists contacts (those matching f.Search, when given), newest
// first by default, one cursor page at a time.
func (s *Store) FindContacts(ctx context.Context, f models.ContactFilter) ([]models.Contact, string, error) {
	q := s.conn(ctx).Model(&models.Contact{})
	if term := strings.ToLower(strings.TrimSpace(f.Search)); term != "" {
		like := "%" + escapeLike(term) + "%"
		q = q.Where("(LOWER(name) LIKE ? ESCAPE '\\' OR LOWER(nick) LIKE ? ESCAPE '\\' OR LOWER(email) LIKE ? ESCAPE '\\' OR LOWER(fingerprint) LIKE ? ESCAPE '\\')",
			like, like, like, like)
	}
	items, next, err := paginate(q, f.Page, "id", func(c *models.Contact) string { return c.ID })
	return items, next, translate(err, "contacts")
}

// DeleteContact deletes a contact; its conversations and threads stay,
// without it.
func (s *Store) DeleteContact(ctx context.Context, id string) error {
	return s.deleteRow(ctx, &models.Contact{}, id, "contact",
		"UPDATE conversations SET contact_id = NULL WHERE contact_id = ?")
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
