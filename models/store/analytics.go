package store

import (
	"context"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"parley/models"
)

// analyticsTopN is how many rows each ranking of the Analytics page keeps.
const analyticsTopN = 10

// unansweredSample bounds how many unanswered questions are grouped.
const unansweredSample = 2000

// analyticsParallel is how many of the Analytics page's queries run at once
// (each holds a pooled connection meanwhile).
const analyticsParallel = 4

// convScope keeps, in q, the rows whose conversation (alias c) the analytics
// query counts: the bot, real conversations unless IncludeTests.
func convScope(q *gorm.DB, a models.AnalyticsQuery) *gorm.DB {
	if !a.IncludeTests {
		q = q.Where("c.kind = ?", models.ConversationChat)
	}
	if a.BotID != "" {
		q = q.Where("c.bot_id = ?", a.BotID)
	}
	return q
}

// timeScope keeps the rows of col within the query's dates.
func timeScope(q *gorm.DB, col string, a models.AnalyticsQuery) *gorm.DB {
	if !a.Since.IsZero() {
		q = q.Where(col+" >= ?", a.Since.UTC())
	}
	if !a.Until.IsZero() {
		q = q.Where(col+" < ?", a.Until.UTC())
	}
	return q
}

// dontKnowSQL is true for a message whose text begins by saying the bot did
// not know (dontKnowPatterns), written out so that it is word for word the
// predicate of migration 14's partial index idx_messages_dont_know.
var dontKnowSQL = func() string {
	var b strings.Builder
	b.WriteString("(")
	for i, p := range dontKnowPatterns {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("text LIKE '" + strings.ReplaceAll(p, "'", "''") + "'")
	}
	b.WriteString(")")
	return b.String()
}()

// unansweredJoins adds to a query on turns t what unansweredTurnSQL reads: the
// answers that did not know (from the partial index, a few percent of the
// messages) and the turns that retrieved a record, as joins instead of a
// subquery per turn.
func unansweredJoins(q *gorm.DB) *gorm.DB {
	return q.Joins("LEFT JOIN (SELECT id FROM messages WHERE " + dontKnowSQL + ") AS dk ON dk.id = t.bot_message_id").
		Joins("LEFT JOIN (SELECT DISTINCT turn_id FROM turn_records) AS ur ON ur.turn_id = t.id")
}

// unansweredTurnSQL is true, over unansweredJoins, for a finished turn t that
// could not answer (as the conversation list's Unanswered filter reads it):
// its answer says it did not know, or it retrieved nothing although its bot
// has a dataset attached.
const unansweredTurnSQL = `t.status = 'done' AND (dk.id IS NOT NULL
	OR (ur.turn_id IS NULL AND t.bot_id IN (SELECT ud.bot_id FROM bot_datasets AS ud)))`

// FindAnalytics computes the Analytics page from the typed turn records,
// conversations, messages and ratings of the range: volumes per day and
// channel, contacts, satisfaction, unanswered rate, latency and time to
// first token percentiles, tokens by model, ability errors, the top
// unanswered questions grouped by wording (among the most recent
// unansweredSample), and the most and least retrieved records (least: only
// for one bot, among its datasets' records). The figures are independent
// queries, run side by side (at most analyticsParallel at once).
func (s *Store) FindAnalytics(ctx context.Context, a models.AnalyticsQuery) (*models.Analytics, error) {
	if a.BotID != "" && !models.ValidID(a.BotID) {
		return &models.Analytics{}, nil
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(analyticsParallel)
	db := s.db.WithContext(ctx)
	out := &models.Analytics{}
	day, dayKey := dayExpr(s.dialect), dayKeyExpr(s.dialect)
	channel := "COALESCE(i.type, 'api')"
	run := func(f func() error) {
		g.Go(func() error {
			if err := f(); err != nil {
				return translate(err, "analytics")
			}
			return nil
		})
	}

	// Conversations and messages per day and channel, grouped by the day
	// (a date on PostgreSQL, formatted once per group).
	var convDays, msgDays []models.DayCount
	run(func() error {
		q := db.Table("conversations AS c").Select(day(dayKey("c.created_at")) + " AS day, " + channel + " AS channel, COUNT(*) AS conversations").
			Joins("LEFT JOIN integrations AS i ON i.id = c.integration_id").Group(dayKey("c.created_at") + ", " + channel).Order("day, channel")
		return timeScope(convScope(q, a), "c.created_at", a).Scan(&convDays).Error
	})
	run(func() error {
		q := db.Table("messages AS m").Select(day(dayKey("m.created_at"))+" AS day, "+channel+" AS channel, COUNT(*) AS messages").
			Joins("JOIN conversations AS c ON c.id = m.conversation_id").Joins("LEFT JOIN integrations AS i ON i.id = c.integration_id").
			Where("m.type IN ?", []string{models.MessageUser, models.MessageBot}).Group(dayKey("m.created_at") + ", " + channel).Order("day, channel")
		return timeScope(convScope(q, a), "m.created_at", a).Scan(&msgDays).Error
	})
	run(func() error {
		q := db.Table("conversations AS c").Select("COUNT(DISTINCT c.contact_id)").Where("c.contact_id IS NOT NULL")
		return timeScope(convScope(q, a), "c.created_at", a).Scan(&out.ActiveContacts).Error
	})
	run(func() error {
		var votes struct{ Up, Down int64 }
		q := db.Table("ratings AS r").Select("SUM(CASE WHEN r.value > 0 THEN 1 ELSE 0 END) AS up, SUM(CASE WHEN r.value < 0 THEN 1 ELSE 0 END) AS down").
			Joins("JOIN conversations AS c ON c.id = r.conversation_id")
		err := timeScope(convScope(q, a), "r.updated_at", a).Scan(&votes).Error
		out.Up, out.Down = votes.Up, votes.Down
		return err
	})

	turns := func() *gorm.DB {
		q := db.Table("turns AS t").Joins("JOIN conversations AS c ON c.id = t.conversation_id")
		return timeScope(convScope(q, a), "t.created_at", a)
	}
	if s.dialect == Postgres {
		// One pass over the range's turns for the counts and percentiles.
		run(func() error {
			var r struct {
				Turns, Unanswered, LatencyP50, LatencyP95 int64
				TTFTTurns                                 int64 `gorm:"column:ttft_turns"`
				TTFTP50                                   int64 `gorm:"column:ttft_p50"`
				TTFTP95                                   int64 `gorm:"column:ttft_p95"`
			}
			done, ttft := "t.status = 'done'", "t.status = 'done' AND t.ttft_ms IS NOT NULL"
			err := unansweredJoins(turns()).Select("COUNT(*) FILTER (WHERE t.status IN ?) AS turns, "+
				"COUNT(*) FILTER (WHERE "+unansweredTurnSQL+") AS unanswered, "+
				"COALESCE(percentile_disc(0.5) WITHIN GROUP (ORDER BY t.latency_ms) FILTER (WHERE "+done+"), 0) AS latency_p50, "+
				"COALESCE(percentile_disc(0.95) WITHIN GROUP (ORDER BY t.latency_ms) FILTER (WHERE "+done+"), 0) AS latency_p95, "+
				"COUNT(*) FILTER (WHERE "+ttft+") AS ttft_turns, "+
				"COALESCE(percentile_disc(0.5) WITHIN GROUP (ORDER BY t.ttft_ms) FILTER (WHERE "+ttft+"), 0) AS ttft_p50, "+
				"COALESCE(percentile_disc(0.95) WITHIN GROUP (ORDER BY t.ttft_ms) FILTER (WHERE "+ttft+"), 0) AS ttft_p95",
				[]string{models.TurnDone, models.TurnFailed, models.TurnInterrupted}).Scan(&r).Error
			out.Turns, out.Unanswered, out.LatencyP50, out.LatencyP95 = r.Turns, r.Unanswered, r.LatencyP50, r.LatencyP95
			out.TTFTTurns, out.TTFTP50, out.TTFTP95 = r.TTFTTurns, r.TTFTP50, r.TTFTP95
			return err
		})
	} else {
		run(func() error {
			return turns().Where("t.status IN ?", []string{models.TurnDone, models.TurnFailed, models.TurnInterrupted}).Count(&out.Turns).Error
		})
		run(func() error {
			return unansweredJoins(turns()).Where(unansweredTurnSQL).Count(&out.Unanswered).Error
		})
		run(func() error {
			var err error
			out.LatencyP50, out.LatencyP95, _, err = percentiles(turns().Where("t.status = ?", models.TurnDone), "t.latency_ms")
			return err
		})
		run(func() error {
			var err error
			out.TTFTP50, out.TTFTP95, out.TTFTTurns, err = percentiles(turns().Where("t.status = ? AND t.ttft_ms IS NOT NULL", models.TurnDone), "t.ttft_ms")
			return err
		})
	}
	run(func() error {
		return turns().Select("t.model, COUNT(*) AS turns, SUM(t.input_tokens) AS input_tokens, SUM(t.output_tokens) AS output_tokens").
			Where("t.model <> ''").Group("t.model").Order("output_tokens DESC, t.model").Limit(analyticsTopN).Scan(&out.Tokens).Error
	})
	run(func() error {
		return turns().Joins("JOIN turn_calls AS k ON k.turn_id = t.id").
			Select("k.ability, COUNT(*) AS calls, SUM(CASE WHEN k.error <> '' THEN 1 ELSE 0 END) AS errors").
			Group("k.ability").Order("errors DESC, calls DESC, k.ability").Limit(analyticsTopN).Scan(&out.Abilities).Error
	})
	run(func() error {
		// The most recent unansweredSample questions of the range are grouped:
		// bounded work however many there are. CROSS JOIN: SQLite would
		// otherwise walk the messages first.
		var qs []models.UnansweredQuestion
		if err := unansweredJoins(turns()).Joins("CROSS JOIN messages AS u").Select("t.conversation_id, u.text").Where("u.id = t.user_message_id").
			Where(unansweredTurnSQL).Order("t.created_at DESC, t.id DESC").Limit(unansweredSample).Scan(&qs).Error; err != nil {
			return err
		}
		out.TopUnanswered = models.GroupQuestions(qs, analyticsTopN)
		return nil
	})
	run(func() error {
		return turns().Joins("JOIN turn_records AS tr ON tr.turn_id = t.id").Joins("LEFT JOIN dataset_records AS d ON d.id = tr.record_id").
			Select("tr.record_id, tr.dataset_id, MAX(tr.source) AS source, MAX(SUBSTR(d.text, 1, 200)) AS text, COUNT(*) AS uses").
			Group("tr.record_id, tr.dataset_id").Order("uses DESC, tr.record_id").Limit(analyticsTopN).Scan(&out.MostRetrieved).Error
	})
	if a.BotID != "" {
		run(func() error {
			used := turns().Joins("JOIN turn_records AS tr ON tr.turn_id = t.id").Select("tr.record_id, COUNT(*) AS uses").Group("tr.record_id")
			return db.Table("dataset_records AS d").Joins("JOIN bot_datasets AS bd ON bd.dataset_id = d.dataset_id AND bd.bot_id = ?", a.BotID).
				Joins("LEFT JOIN (?) AS used ON used.record_id = d.id", used).
				Select("d.id AS record_id, d.dataset_id, d.source, SUBSTR(d.text, 1, 200) AS text, COALESCE(used.uses, 0) AS uses").
				Order("uses, d.id").Limit(analyticsTopN).Scan(&out.LeastRetrieved).Error
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out.Days = mergeDays(convDays, msgDays)
	for _, d := range out.Days {
		out.Conversations += d.Conversations
		out.Messages += d.Messages
	}
	return out, nil
}

// percentiles returns the p50 and p95 of col over q's rows (nearest rank)
// and how many rows there are, by counting and then reading the two ranks.
// (PostgreSQL computes them with percentile_disc, the same nearest rank
// ceil(n·p), in FindAnalytics's one pass over the turns.)
func percentiles(q *gorm.DB, col string) (p50, p95, n int64, err error) {
	if err = q.Session(&gorm.Session{}).Count(&n).Error; err != nil || n == 0 {
		return 0, 0, n, err
	}
	at := func(p float64) (int64, error) {
		rank := int(float64(n)*p+0.999999) - 1 // nearest rank, 0-based
		var v []int64
		err := q.Session(&gorm.Session{}).Select(col).Order(col).Offset(max(rank, 0)).Limit(1).Pluck(col, &v).Error
		if err != nil || len(v) == 0 {
			return 0, err
		}
		return v[0], nil
	}
	if p50, err = at(0.5); err != nil {
		return
	}
	p95, err = at(0.95)
	return
}

// mergeDays joins the conversation and message counts per day and channel.
func mergeDays(convs, msgs []models.DayCount) []models.DayCount {
	type key struct{ day, ch string }
	idx := map[key]int{}
	var out []models.DayCount
	add := func(d models.DayCount) {
		k := key{d.Day, d.Channel}
		i, ok := idx[k]
		if !ok {
			idx[k], i = len(out), len(out)
			out = append(out, models.DayCount{Day: d.Day, Channel: d.Channel})
		}
		out[i].Conversations += d.Conversations
		out[i].Messages += d.Messages
	}
	for _, d := range convs {
		add(d)
	}
	for _, d := range msgs {
		add(d)
	}
	sortDays(out)
	return out
}

func sortDays(ds []models.DayCount) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Day != ds[j].Day {
			return ds[i].Day < ds[j].Day
		}
		return ds[i].Channel < ds[j].Channel
	})
}
