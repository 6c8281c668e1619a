package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"parley/models"
)

// CreateSkillset validates and inserts a skillset.
func (s *Store) CreateSkillset(ctx context.Context, k models.Skillset) (*models.Skillset, error) {
	k.ID = models.NewID()
	normalizeSkillset(&k)
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if err := s.conn(ctx).Create(&k).Error; err != nil {
		return nil, translate(err, "skillset")
	}
	return &k, nil
}

// UpdateSkillset validates and saves every field of the skillset (none of
// which decides an answer, so bots keep their versions unless that changes).
func (s *Store) UpdateSkillset(ctx context.Context, k models.Skillset) (*models.Skillset, error) {
	normalizeSkillset(&k)
	if err := k.Validate(); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var cur models.Skillset
		if err := tx.Select("id", "created_at").First(&cur, "id = ?", k.ID).Error; err != nil {
			return translate(err, "skillset")
		}
		k.CreatedAt = cur.CreatedAt
		if err := update(tx, &k, k.ID, "skillset"); err != nil {
			return err
		}
		return s.versionBotsUsing(tx, "bot_skillsets", "skillset_id", k.ID)
	})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

func normalizeSkillset(k *models.Skillset) {
	k.Name = strings.TrimSpace(k.Name)
	if k.Alias != nil && strings.TrimSpace(*k.Alias) == "" {
		k.Alias = nil
	}
	if k.Visibility == "" {
		k.Visibility = models.VisibilityPrivate
	}
	if k.Meta == nil {
		k.Meta = models.Meta{}
	}
}

// FindSkillset returns one skillset.
func (s *Store) FindSkillset(ctx context.Context, id string) (*models.Skillset, error) {
	if !models.ValidID(id) {
		return nil, notFound("skillset")
	}
	var k models.Skillset
	if err := s.conn(ctx).First(&k, "id = ?", id).Error; err != nil {
		return nil, translate(err, "skillset")
	}
	return &k, nil
}

// FindSkillsets lists skillsets, newest first by default, one cursor page at a time.
func (s *Store) FindSkillsets(ctx context.Context, p models.Page) ([]models.Skillset, string, error) {
	items, next, err := paginate(s.conn(ctx).Model(&models.Skillset{}), p, "id",
		func(k *models.Skillset) string { return k.ID })
	return items, next, translate(err, "skillsets")
}

// AllSkillsetNames returns up to limit skillsets (id and name only, by name), for pickers.
func (s *Store) AllSkillsetNames(ctx context.Context, limit int) ([]models.Skillset, error) {
	var out []models.Skillset
	err := s.conn(ctx).Select("id", "name").Order("name").Limit(limit).Find(&out).Error
	return out, translate(err, "skillsets")
}

// BotsUsingSkillset names the bots a skillset is attached to.
func (s *Store) BotsUsingSkillset(ctx context.Context, id string) ([]models.BotRef, error) {
	return s.botsUsing(ctx, "bot_skillsets", "skillset_id", id)
}

// DeleteSkillset deletes a skillset and its abilities, detaching it from every
// bot (each gets a new version) and conversation that used it.
func (s *Store) DeleteSkillset(ctx context.Context, id string) error {
	return s.deleteUsed(ctx, &models.Skillset{}, id, "skillset", "bot_skillsets", "skillset_id",
		"DELETE FROM bot_skillsets WHERE skillset_id = ?",
		"UPDATE conversations SET skillset_id = NULL WHERE skillset_id = ?",
		"DELETE FROM abilities WHERE skillset_id = ?")
}

// CreateAbility validates and inserts an ability into an existing skillset,
// making a new version of every bot using the skillset, in one transaction.
func (s *Store) CreateAbility(ctx context.Context, a models.Ability) (*models.Ability, error) {
	a.ID = models.NewID()
	a.Name = strings.TrimSpace(a.Name)
	if a.Meta == nil {
		a.Meta = models.Meta{}
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.FindSkillset(ctx, a.SkillsetID); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&a).Error; err != nil {
			return translate(err, "ability")
		}
		return s.versionBotsUsing(tx, "bot_skillsets", "skillset_id", a.SkillsetID)
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// UpdateAbility saves an ability; it must belong to its skillset. A change
// makes a new version of every bot using the skillset, in one transaction.
func (s *Store) UpdateAbility(ctx context.Context, a models.Ability) (*models.Ability, error) {
	a.Name = strings.TrimSpace(a.Name)
	if a.Meta == nil {
		a.Meta = models.Meta{}
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	cur, err := s.FindAbility(ctx, a.SkillsetID, a.ID)
	if err != nil {
		return nil, err
	}
	a.CreatedAt = cur.CreatedAt
	a.UpdatedAt = s.now()
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := update(tx, &a, a.ID, "ability"); err != nil {
			return err
		}
		return s.versionBotsUsing(tx, "bot_skillsets", "skillset_id", a.SkillsetID)
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// FindAbility returns one ability of a skillset.
func (s *Store) FindAbility(ctx context.Context, skillsetID, id string) (*models.Ability, error) {
	if !models.ValidID(id) || !models.ValidID(skillsetID) {
		return nil, notFound("ability")
	}
	var a models.Ability
	if err := s.conn(ctx).First(&a, "id = ? AND skillset_id = ?", id, skillsetID).Error; err != nil {
		return nil, translate(err, "ability")
	}
	return &a, nil
}

// FindAbilities lists a skillset's abilities, one cursor page at a time.
func (s *Store) FindAbilities(ctx context.Context, skillsetID string, p models.Page) ([]models.Ability, string, error) {
	q := s.conn(ctx).Model(&models.Ability{}).Where("skillset_id = ?", skillsetID)
	items, next, err := paginate(q, p, "id", func(a *models.Ability) string { return a.ID })
	return items, next, translate(err, "abilities")
}

// CountAbilities counts a skillset's abilities.
func (s *Store) CountAbilities(ctx context.Context, skillsetID string) (int64, error) {
	var n int64
	err := s.conn(ctx).Model(&models.Ability{}).Where("skillset_id = ?", skillsetID).Count(&n).Error
	return n, translate(err, "abilities")
}

// DeleteAbility deletes one ability of a skillset, making a new version of
// every bot using the skillset, in one transaction.
func (s *Store) DeleteAbility(ctx context.Context, skillsetID, id string) error {
	if !models.ValidID(id) || !models.ValidID(skillsetID) {
		return notFound("ability")
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Delete(&models.Ability{}, "id = ? AND skillset_id = ?", id, skillsetID)
		if res.Error != nil {
			return translate(res.Error, "ability")
		}
		if res.RowsAffected == 0 {
			return notFound("ability")
		}
		return s.versionBotsUsing(tx, "bot_skillsets", "skillset_id", skillsetID)
	})
}
