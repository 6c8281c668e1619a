package store

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"parley/models"
)

// postWithHistory runs post (the message-and-turn statement of
// postAndQueuePostgres, $n placeholders, args) and RecentDialogue's read of
// conversationID's newest limit messages as one batch on one connection of
// the pool: one round trip, one implicit transaction (committed after both).
// It returns the status of the turn inserted ("" when none was) and the
// messages read.
func (s *Store) postWithHistory(ctx context.Context, post string, args []any, conversationID string, limit int) (string, []models.Message, error) {
	var status string
	var msgs []models.Message
	err := s.withPgx(ctx, func(c *pgx.Conn) error {
		b := &pgx.Batch{}
		b.Queue(post, args...)
		b.Queue(s.dialogueSQL(limit, "$1"), conversationID)
		br := c.SendBatch(ctx, b)
		defer br.Close()
		rows, err := br.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			var message string
			if err := rows.Scan(&message, &status); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if rows, err = br.Query(); err != nil {
			return err
		}
		msgs, err = scanDialogue(rows, conversationID, limit)
		rows.Close()
		if err != nil {
			return err
		}
		return br.Close()
	})
	return status, msgs, err
}

// withPgx runs fn on a pgx connection of the pool (PostgreSQL only), for
// what database/sql cannot do, such as sending statements in one batch.
func (s *Store) withPgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	db, err := s.db.DB()
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("store: not a pgx connection")
		}
		return fn(c.Conn())
	})
}

// dollars numbers a statement's ? placeholders $1, $2, … as pgx wants them
// (the statements it is used on have no other question marks).
func dollars(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
