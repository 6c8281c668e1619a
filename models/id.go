package models

import "github.com/google/uuid"

// NewID returns a new opaque, unguessable, time-ordered identifier (UUIDv7), so
// sorting by id sorts by creation time and cursors can be plain ids.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// ValidID reports whether s has the shape of an id made by NewID. Lookups with a
// malformed id answer not found without asking the database.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}
