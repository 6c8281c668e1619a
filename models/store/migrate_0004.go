package store

import (
	"time"

	"gorm.io/gorm"
)

// Migration 4 adds the counters of the database-backed rate limiter, so that
// instances behind a load balancer share their limits: one row per bucket and
// fixed window. The column is "bucket" rather than "key", a reserved word in
// some SQL. Frozen copy of the struct as of migration 4. Do not edit: add a migration.

type m4RateLimit struct {
	Bucket      string    `gorm:"primaryKey;size:200;autoIncrement:false"`
	WindowStart time.Time `gorm:"primaryKey;autoIncrement:false"`
	Count       int       `gorm:"not null"`
}

func (m4RateLimit) TableName() string { return "rate_limits" }

func migrate0004(tx *gorm.DB) error {
	return tx.Migrator().CreateTable(&m4RateLimit{})
}
