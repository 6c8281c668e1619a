package store

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"parley/models"
)

// errDatabaseDown is what callers see while the database cannot be reached:
// a 503 with Retry-After, and nothing of the connection's settings.
var errDatabaseDown = models.Errorf(models.CodeUnavailable, "The database is unavailable right now. Try again in a few seconds.")

// databaseDown reports whether err means the database could not be reached
// or dropped the connection (as opposed to refusing a query), so the caller
// should answer "unavailable" rather than "internal".
func databaseDown(err error) bool {
	var (
		connErr *pgconn.ConnectError
		pgErr   *pgconn.PgError
		netErr  net.Error
		opErr   *net.OpError
	)
	switch {
	case errors.As(err, &connErr), errors.As(err, &opErr), errors.As(err, &netErr):
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P01-57P03: the server is shutting
		// down or starting up; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" ||
			pgErr.Code == "57P03" || pgErr.Code == "53300"
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "failed to connect") ||
		strings.Contains(msg, "connection refused") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "bad connection") || strings.Contains(msg, "unexpected EOF")
}

// causeError is a domain error with its cause kept behind it: callers see
// the domain error (errors.As finds it first), the server's log the cause.
type causeError struct {
	Err   *models.Error
	cause error
}

// Error implements error, for logs: users are shown Err's message only.
func (e *causeError) Error() string { return e.Err.Message + " (cause: " + e.cause.Error() + ")" }

// Unwrap returns the domain error, then the cause.
func (e *causeError) Unwrap() []error { return []error{e.Err, e.cause} }

// down wraps a database outage.
func down(err error) error {
	cp := *errDatabaseDown
	return &causeError{Err: &cp, cause: err}
}
