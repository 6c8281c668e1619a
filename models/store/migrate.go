package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// migration is one step of the schema's history. Steps are never edited once
// released: a change is a new step. Each uses frozen copies of the structs as
// they were at that version, never the live models.
type migration struct {
	version int
	name    string
	up      func(tx *gorm.DB) error
}

// migrations is the ordered schema history.
var migrations = []migration{
	{1, "initial schema", migrate0001},
	{2, "full-text search on dataset records", migrate0002},
	{3, "providers and secrets", migrate0003},
	{4, "rate limit counters", migrate0004},
	{5, "session tokens' secrets and last use; one-time flashes", migrate0005},
	{6, "typed turn records", migrate0006},
	{7, "bot versions", migrate0007},
	{8, "channels: integrations, contacts, threads, inbound events, deliveries", migrate0008},
	{9, "term statistics for dataset search", migrate0009},
	{10, "test suites, cases, retrieval checks, runs and replays; conversation kind and pinned configuration", migrate0010},
	{11, "dataset imports as batches, record filters, uploads kept for a preview", migrate0011},
	{12, "support: message search, review status and assignee, tags, notes, review events", migrate0012},
	{13, "bots know their latest version", migrate0013},
	{14, "analytics: conversations and messages by creation time, answers that did not know", migrate0014},
	{15, "web chat widget: settings, identity secret, sessions by integration", migrate0015},
	{16, "semantic retrieval: embeddings and rerank models, record vectors, retrieval scores of turns", migrate0016},
	{17, "analytics: per-day rollups, the days rolled up, and the past days changed since (marked by triggers)", migrate0017},
	{18, "analytics: per-hour rollups, the hours rolled up, and the hours of today and yesterday changed since (marked by the triggers of 17, now from the current hour back)", migrate0018},
	{19, "turns: an index of each conversation's unfinished turns", migrate0019},
	{20, "messages: an index of each conversation's dialogue (user, bot and instruction messages)", migrate0020},
	{21, "messages: a conversation's newest dialogue read through recent_dialogue (PostgreSQL: planned without bitmap scans)", migrate0021},
}

// schemaMigration records an applied step.
type schemaMigration struct {
	Version   int    `gorm:"primaryKey;autoIncrement:false"`
	Name      string `gorm:"size:200;not null"`
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// Migrate applies every pending migration, each in its own transaction, and
// records it. Running it again is a no-op; concurrent runs (several instances
// starting at once) apply each step exactly once.
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
	db := s.conn(ctx)
	if err := db.Migrator().AutoMigrate(&schemaMigration{}); err != nil {
		// Two instances may race to create the table; only fail if it is still missing.
		if !db.Migrator().HasTable(&schemaMigration{}) {
			return nil, fmt.Errorf("store: migrate: create schema_migrations: %w", err)
		}
	}
	for _, m := range migrations {
		var done bool
		err := db.Transaction(func(tx *gorm.DB) error {
			if s.dialect == Postgres {
				if err := tx.Exec("SELECT pg_advisory_xact_lock(7245100)").Error; err != nil {
					return err
				}
			}
			var n int64
			if err := tx.Model(&schemaMigration{}).Where("version = ?", m.version).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				done = true
				return nil
			}
			if err := m.up(tx); err != nil {
				return err
			}
			return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&schemaMigration{
				Version: m.version, Name: m.name, AppliedAt: time.Now().UTC(),
			}).Error
		})
		if err != nil {
			return applied, fmt.Errorf("store: migration %d (%s): %w", m.version, m.name, err)
		}
		if !done {
			applied = append(applied, fmt.Sprintf("%04d %s", m.version, m.name))
		}
	}
	if s.dialect == Postgres && len(applied) > 0 {
		// A statement prepared on a connection before a step changed its
		// table fails after it ("cached plan must not change result type"):
		// the pool starts again from fresh connections.
		if sqlDB, err := s.db.DB(); err == nil {
			n := sqlDB.Stats().MaxOpenConnections
			sqlDB.SetMaxIdleConns(0)
			sqlDB.SetMaxIdleConns(n)
		}
	}
	return applied, nil
}

// SchemaVersion returns the highest applied migration version (0 when none).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v *int
	if err := s.conn(ctx).Model(&schemaMigration{}).Select("MAX(version)").Scan(&v).Error; err != nil {
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// LatestSchemaVersion is the version Migrate brings a database to.
func LatestSchemaVersion() int { return migrations[len(migrations)-1].version }
