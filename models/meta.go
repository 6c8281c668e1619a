package models

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Meta is free-form JSON metadata attached to most resources, as ChatBotKit has it.
// It is stored as jsonb on PostgreSQL and as text on SQLite.
type Meta map[string]any

// Number reads a numeric key: a float64 once decoded from JSON, an int or
// int64 when set in this process (the engine's token counts, say).
func (m Meta) Number(key string) (float64, bool) {
	switch v := m[key].(type) {
	case float64:
		return v, true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	}
	return 0, false
}

// Value implements driver.Valuer.
func (m Meta) Value() (driver.Value, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(map[string]any(m))
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	return string(b), nil
}

// Scan implements sql.Scanner.
func (m *Meta) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*m = Meta{}
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("meta: cannot scan %T", src)
	}
	out := Meta{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			return fmt.Errorf("meta: %w", err)
		}
	}
	if out == nil { // JSON null
		out = Meta{}
	}
	*m = out
	return nil
}

// GormDBDataType picks the column type per dialect.
func (Meta) GormDBDataType(db *gorm.DB, _ *schema.Field) string {
	if db.Name() == "postgres" {
		return "jsonb"
	}
	return "text"
}

// String renders the meta as indented JSON for forms; an empty meta is "".
func (m Meta) String() string {
	if len(m) == 0 {
		return ""
	}
	b, _ := json.MarshalIndent(map[string]any(m), "", "  ")
	return string(b)
}

// ParseMeta parses a JSON object typed into a form or sent in a request; blank is empty.
func ParseMeta(field, s string) (Meta, error) {
	m := Meta{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	if len(s) > MaxMetaBytes {
		return nil, FieldError(field, fmt.Sprintf("Meta must be at most %d bytes.", MaxMetaBytes))
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, FieldError(field, "Meta must be a JSON object, like {\"key\": \"value\"}.")
	}
	return m, nil
}

// MaxMetaBytes bounds the size of a resource's meta.
const MaxMetaBytes = 16 << 10
