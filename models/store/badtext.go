package store

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"parley/models"
)

// PostgreSQL's errors for text it cannot store: a NUL byte or invalid UTF-8
// in text (character_not_in_repertoire), \u0000 in jsonb
// (untranslatable_character).
const (
	pgCharacterNotInRepertoire = "22021"
	pgUntranslatableCharacter  = "22P05"
)

// badText turns PostgreSQL's refusal of a NUL character or invalid UTF-8 into
// an invalid-input error, or returns nil for any other error. Validation
// refuses such text before it reaches the database (models.Validate); this is
// the safety net for what it does not see, so the client gets a 400 or 422
// rather than a 500.
func badText(err error, what string) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	switch pe.Code {
	case pgCharacterNotInRepertoire, pgUntranslatableCharacter:
		return models.Errorf(models.CodeInvalid,
			"The %s contains text the database cannot store: a NUL character (\\u0000) or invalid UTF-8.", what)
	}
	return nil
}
