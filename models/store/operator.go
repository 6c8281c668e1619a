package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"parley/models"
)

// BcryptCost is the bcrypt work factor for operator passwords; tests lower it.
var BcryptCost = bcrypt.DefaultCost

// settingSetupDone marks that the first admin exists; its primary key makes
// setup happen once even when two requests race.
const settingSetupDone = "setup_done"

// HashPassword hashes a password with bcrypt.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), BcryptCost)
	if err != nil {
		return "", models.FieldError("password", "Password cannot be used.")
	}
	return string(h), nil
}

// newOperator gives o a new id and normalized fields, validates it and the
// password, and sets the password's hash.
func newOperator(o models.Operator, password string) (models.Operator, error) {
	o.ID = models.NewID()
	o.Email = models.NormalizeEmail(o.Email)
	o.Name = strings.TrimSpace(o.Name)
	if err := o.Validate(); err != nil {
		return o, err
	}
	if err := models.CheckPassword("password", password); err != nil {
		return o, err
	}
	h, err := HashPassword(password)
	if err != nil {
		return o, err
	}
	o.PasswordHash = h
	return o, nil
}

// CreateOperator validates and inserts an operator with a new password.
func (s *Store) CreateOperator(ctx context.Context, o models.Operator, password string) (*models.Operator, error) {
	o, err := newOperator(o, password)
	if err != nil {
		return nil, err
	}
	if err := s.conn(ctx).Create(&o).Error; err != nil {
		if models.ErrorCode(translate(err, "operator")) == models.CodeConflict {
			return nil, models.FieldError("email", "An operator with this email already exists.")
		}
		return nil, translate(err, "operator")
	}
	return &o, nil
}

// SetupNeeded reports whether no operator exists yet (first start).
func (s *Store) SetupNeeded(ctx context.Context) (bool, error) {
	var n int64
	if err := s.conn(ctx).Model(&models.Operator{}).Count(&n).Error; err != nil {
		return false, translate(err, "operators")
	}
	return n == 0, nil
}

// CreateFirstAdmin creates the first operator, an admin, only while none
// exists; a second attempt (or a racing one) gets a conflict.
func (s *Store) CreateFirstAdmin(ctx context.Context, email, name, password string) (*models.Operator, error) {
	o, err := newOperator(models.Operator{Email: email, Name: name, Role: models.RoleAdmin}, password)
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Operator{}).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return errSetupDone
		}
		if err := tx.Exec("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)", settingSetupDone, o.ID, s.now()).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return errSetupDone
			}
			return err
		}
		return tx.Create(&o).Error
	})
	if err != nil {
		if errors.Is(err, errSetupDone) {
			return nil, err
		}
		return nil, translate(err, "operator")
	}
	return &o, nil
}

var errSetupDone = models.Errorf(models.CodeConflict, "Parley is already set up: sign in instead.")

// FindOperator returns one operator.
func (s *Store) FindOperator(ctx context.Context, id string) (*models.Operator, error) {
	if !models.ValidID(id) {
		return nil, notFound("operator")
	}
	var o models.Operator
	if err := s.conn(ctx).First(&o, "id = ?", id).Error; err != nil {
		return nil, translate(err, "operator")
	}
	return &o, nil
}

// FindOperatorByEmail returns the operator with this email (case-insensitive).
func (s *Store) FindOperatorByEmail(ctx context.Context, email string) (*models.Operator, error) {
	var o models.Operator
	if err := s.conn(ctx).First(&o, "email = ?", models.NormalizeEmail(email)).Error; err != nil {
		return nil, translate(err, "operator")
	}
	return &o, nil
}

// FindOperators lists operators, one cursor page at a time.
func (s *Store) FindOperators(ctx context.Context, p models.Page) ([]models.Operator, string, error) {
	items, next, err := paginate(s.conn(ctx).Model(&models.Operator{}), p, "id",
		func(o *models.Operator) string { return o.ID })
	return items, next, translate(err, "operators")
}

// UpdateOperator saves an operator's name, role and disabled flag, and its
// password when one is given. It refuses to leave Parley without an active admin.
func (s *Store) UpdateOperator(ctx context.Context, o models.Operator, password string) (*models.Operator, error) {
	o.Email = models.NormalizeEmail(o.Email)
	o.Name = strings.TrimSpace(o.Name)
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var hash string
	if password != "" {
		if err := models.CheckPassword("password", password); err != nil {
			return nil, err
		}
		h, err := HashPassword(password)
		if err != nil {
			return nil, err
		}
		hash = h
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockOperators(tx); err != nil {
			return err
		}
		var cur models.Operator
		if err := tx.First(&cur, "id = ?", o.ID).Error; err != nil {
			return translate(err, "operator")
		}
		if cur.Role == models.RoleAdmin && !cur.Disabled && (o.Role != models.RoleAdmin || o.Disabled) {
			if err := lastAdminCheck(tx, o.ID); err != nil {
				return err
			}
		}
		updates := map[string]any{"email": o.Email, "name": o.Name, "role": o.Role, "disabled": o.Disabled, "updated_at": s.now()}
		if hash != "" {
			updates["password_hash"] = hash
		}
		if err := tx.Model(&models.Operator{}).Where("id = ?", o.ID).Updates(updates).Error; err != nil {
			if models.ErrorCode(translate(err, "operator")) == models.CodeConflict {
				return models.FieldError("email", "An operator with this email already exists.")
			}
			return translate(err, "operator")
		}
		if o.Disabled || hash != "" {
			// Sign the operator out everywhere.
			return tx.Where("operator_id = ?", o.ID).Delete(&models.OperatorSession{}).Error
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.FindOperator(ctx, o.ID)
}

// lockOperators serializes changes to roles and status, so two admins demoting
// each other at once cannot leave Parley without one. SQLite's immediate
// transactions already serialize writers; PostgreSQL takes a transaction lock.
func (s *Store) lockOperators(tx *gorm.DB) error {
	if s.dialect != Postgres {
		return nil
	}
	return translate(tx.Exec("SELECT pg_advisory_xact_lock(7245102)").Error, "operators")
}

// lastAdminCheck fails when no other active admin than exceptID exists.
func lastAdminCheck(tx *gorm.DB, exceptID string) error {
	var n int64
	if err := tx.Model(&models.Operator{}).Where("role = ? AND disabled = ? AND id <> ?", models.RoleAdmin, false, exceptID).Count(&n).Error; err != nil {
		return translate(err, "operators")
	}
	if n == 0 {
		return models.Errorf(models.CodeConflict, "This is the last active admin: make another operator admin first.")
	}
	return nil
}

// DeleteOperator deletes an operator (never the last active admin); secrets
// they created stay, without a creator.
func (s *Store) DeleteOperator(ctx context.Context, id string) error {
	if !models.ValidID(id) {
		return notFound("operator")
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockOperators(tx); err != nil {
			return err
		}
		var cur models.Operator
		if err := tx.First(&cur, "id = ?", id).Error; err != nil {
			return translate(err, "operator")
		}
		if cur.Role == models.RoleAdmin && !cur.Disabled {
			if err := lastAdminCheck(tx, id); err != nil {
				return err
			}
		}
		for _, q := range []string{
			"DELETE FROM operator_sessions WHERE operator_id = ?",
			"UPDATE api_secrets SET created_by_id = NULL WHERE created_by_id = ?",
		} {
			if err := tx.Exec(q, id).Error; err != nil {
				return translate(err, "operator")
			}
		}
		return translate(tx.Delete(&models.Operator{}, "id = ?", id).Error, "operator")
	})
}

// Authenticate checks an email and password. Unknown email, wrong password and
// disabled operator all give the same unauthorized error, and take as long.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*models.Operator, error) {
	bad := models.Errorf(models.CodeUnauthorized, "Email or password is incorrect.")
	o, err := s.FindOperatorByEmail(ctx, email)
	if err != nil {
		if models.ErrorCode(err) == models.CodeNotFound {
			_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
			return nil, bad
		}
		return nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(o.PasswordHash), []byte(password)) != nil || o.Disabled {
		return nil, bad
	}
	now := s.now()
	o.LastLoginAt = &now
	if err := s.conn(ctx).Model(o).UpdateColumn("last_login_at", now).Error; err != nil {
		return nil, translate(err, "operator")
	}
	return o, nil
}

// RecordSignIn notes that an operator signed in now (setup signs the first
// admin in without Authenticate).
func (s *Store) RecordSignIn(ctx context.Context, operatorID string) error {
	return translate(s.conn(ctx).Model(&models.Operator{}).Where("id = ?", operatorID).
		UpdateColumn("last_login_at", s.now()).Error, "operator")
}

// dummyHash is compared against for unknown emails, so they take as long as known ones.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("parley-dummy-password"), BcryptCost)
	return h
})

// Login rate limits: failures counted per email and per client address over a window.
const (
	LoginWindow       = 15 * time.Minute
	LoginMaxPerEmail  = 5
	LoginMaxPerClient = 20
)

// ReserveLogin counts a sign-in attempt for email from ip before its password
// is checked, atomically with the check of the limits, so concurrent
// attempts cannot all slip under them (the attempt counts as a failure until
// LoginSucceeded clears it). When a limit is reached nothing is counted and
// it returns ok false with how long until the oldest counted attempt leaves
// the window. Attempts older than the window are pruned.
func (s *Store) ReserveLogin(ctx context.Context, email, ip string) (ok bool, wait time.Duration, err error) {
	email = models.NormalizeEmail(email)
	now := s.now()
	since := now.Add(-LoginWindow)
	err = s.tx(ctx, func(tx *gorm.DB) error {
		// One writer at a time: SQLite's immediate transactions already are;
		// PostgreSQL takes a transaction lock for sign-ins.
		if s.dialect == Postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(7245103)").Error; err != nil {
				return err
			}
		}
		for _, c := range []struct {
			col, val string
			max      int
		}{{"email", email, LoginMaxPerEmail}, {"ip", ip, LoginMaxPerClient}} {
			var times []time.Time
			if err := tx.Model(&models.LoginAttempt{}).Where(c.col+" = ? AND created_at > ?", c.val, since).
				Order("created_at DESC").Limit(c.max).Pluck("created_at", &times).Error; err != nil {
				return err
			}
			if len(times) >= c.max {
				wait = times[len(times)-1].Add(LoginWindow).Sub(now)
				return nil
			}
		}
		ok = true
		if err := tx.Create(&models.LoginAttempt{ID: models.NewID(), Email: email, IP: ip, CreatedAt: now}).Error; err != nil {
			return err
		}
		return tx.Where("created_at < ?", since).Delete(&models.LoginAttempt{}).Error
	})
	if err != nil {
		return false, 0, translate(err, "login attempts")
	}
	return ok, wait, nil
}

// LoginAllowed reports, counting nothing, whether another sign-in may be tried
// for email from ip; when not, it returns how long until the oldest counted
// attempt leaves the window. Sign-in itself uses ReserveLogin.
func (s *Store) LoginAllowed(ctx context.Context, email, ip string) (bool, time.Duration, error) {
	since := s.now().Add(-LoginWindow)
	db := s.conn(ctx).Model(&models.LoginAttempt{})
	for _, c := range []struct {
		col, val string
		max      int
	}{{"email", models.NormalizeEmail(email), LoginMaxPerEmail}, {"ip", ip, LoginMaxPerClient}} {
		var times []time.Time
		if err := db.Session(&gorm.Session{}).Where(c.col+" = ? AND created_at > ?", c.val, since).
			Order("created_at DESC").Limit(c.max).Pluck("created_at", &times).Error; err != nil {
			return false, 0, translate(err, "login attempts")
		}
		if len(times) >= c.max {
			return false, times[len(times)-1].Add(LoginWindow).Sub(s.now()), nil
		}
	}
	return true, 0, nil
}

// LoginSucceeded forgets the counted attempts of an email after a successful sign-in.
func (s *Store) LoginSucceeded(ctx context.Context, email string) error {
	return s.ClearLoginFailures(ctx, email)
}

// ClearLoginFailures forgets the failures of an email after a successful sign-in.
func (s *Store) ClearLoginFailures(ctx context.Context, email string) error {
	return translate(s.conn(ctx).Where("email = ?", models.NormalizeEmail(email)).Delete(&models.LoginAttempt{}).Error, "login attempts")
}
