package store

import (
	"time"

	"gorm.io/gorm"
)

// Migration 3 adds the configured model providers and the vault of secrets
// for abilities. Both keep their secret (an API key, a secret's value) only
// encrypted, as text a crypto box sealed. Frozen copies of the structs as of
// migration 3. Do not edit: add a migration.

type m3Provider struct {
	ID             string    `gorm:"primaryKey;size:36"`
	Name           string    `gorm:"size:40;not null;uniqueIndex:idx_providers_name"`
	Kind           string    `gorm:"size:20;not null"`
	BaseURL        string    `gorm:"column:base_url;size:500;not null"`
	APIKeyEnc      *string   `gorm:"column:api_key_enc;type:text"`
	DefaultModel   string    `gorm:"size:200;not null"`
	TimeoutSeconds int       `gorm:"not null"`
	CreatedAt      time.Time `gorm:"not null"`
	UpdatedAt      time.Time `gorm:"not null"`
}

func (m3Provider) TableName() string { return "providers" }

type m3VaultSecret struct {
	ID          string    `gorm:"primaryKey;size:36"`
	Name        string    `gorm:"size:100;not null;uniqueIndex:idx_vault_secrets_name"`
	ValueEnc    string    `gorm:"column:value_enc;type:text;not null"`
	Description string    `gorm:"size:500;not null"`
	CreatedAt   time.Time `gorm:"not null"`
	UpdatedAt   time.Time `gorm:"not null"`
}

func (m3VaultSecret) TableName() string { return "vault_secrets" }

func migrate0003(tx *gorm.DB) error {
	return tx.Migrator().CreateTable(&m3Provider{}, &m3VaultSecret{})
}
