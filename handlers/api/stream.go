package api

import (
	"bufio"
	"context"
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// event is one line of a JSON-lines answer: {"type": ..., "data": ...}.
type event struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// streamLines answers with JSON lines written by run, each flushed at once.
// run goes on to the end even when the client has gone (a turn's messages are
// stored whoever listens); emit then reports false and writes nothing.
func streamLines(c *fiber.Ctx, run func(emit func(typ string, data any) bool)) error {
	c.Set(fiber.HeaderContentType, "application/jsonl; charset=utf-8")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		gone := false
		run(func(typ string, data any) bool {
			if gone {
				return false
			}
			b, err := json.Marshal(event{Type: typ, Data: data})
			if err != nil {
				b, _ = json.Marshal(event{Type: "error", Data: map[string]string{"message": "internal error"}})
			}
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				gone = true
				return false
			}
			if err := w.Flush(); err != nil {
				gone = true
				return false
			}
			return true
		})
	})
	return nil
}

// sendList answers a listing: one page as {items, cursor}, or — asked for
// JSON lines — every item from the cursor on as {"type":"item"} lines, read a
// page at a time. The cursor is the last item's id whenever the page has
// items, so clients that stop on an empty page and clients that stop on an
// empty cursor both end.
func sendList[M any, T any](a *API, c *fiber.Ctx, p models.Page,
	fetch func(ctx context.Context, p models.Page) ([]M, string, error),
	conv func(*M) T, id func(*M) string) error {
	if wantsStream(c) {
		// Check the first page before answering, so a bad request is an error status.
		ctx, cancel := context.WithTimeout(context.Background(), a.opts.ListTimeout)
		first, next, err := fetch(ctx, p)
		if err != nil {
			cancel()
			return err
		}
		return streamLines(c, func(emit func(string, any) bool) {
			defer cancel()
			items := first
			for {
				for i := range items {
					if !emit("item", conv(&items[i])) {
						return
					}
				}
				if next == "" {
					return
				}
				p.Cursor = next
				items, next, err = fetch(ctx, p)
				if err != nil {
					a.log.Error("api: stream list", "error", err)
					emit("error", map[string]string{"message": "The listing stopped early: internal error."})
					return
				}
			}
		})
	}
	items, _, err := fetch(c.UserContext(), p)
	if err != nil {
		return err
	}
	out := list[T]{Items: make([]T, 0, len(items))}
	for i := range items {
		out.Items = append(out.Items, conv(&items[i]))
	}
	if len(items) > 0 {
		out.Cursor = id(&items[len(items)-1])
	}
	return c.JSON(out)
}
