package store

import (
	"context"
	"sort"

	"gorm.io/gorm"

	"parley/models"
)

// analyticsTopN is how many rows each ranking of the Analytics page keeps.
const analyticsTopN = 10

// unansweredSample bounds how many unanswered questions are grouped.
const unansweredSample = 2000

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

// unansweredTurnSQL is true for a finished turn t that could not answer (as
// the conversation list's Unanswered filter reads it).
const unansweredTurnSQL = `t.status = 'done' AND (
	EXISTS (SELECT 1 FROM messages AS ub WHERE ub.id = t.bot_message_id AND (ub.text LIKE ? OR ub.text LIKE ? OR ub.text LIKE ?))
	OR (NOT EXISTS (SELECT 1 FROM turn_records AS ur WHERE ur.turn_id = t.id) AND EXISTS (SELECT 1 FROM bot_datasets AS ud WHERE ud.bot_id = t.bot_id)))`

// FindAnalytics computes the Analytics page from the typed turn records,
// conversations, messages and ratings of the range: volumes per day and
// channel, contacts, satisfaction, unanswered rate, latency and time to
// first token percentiles, tokens by model, ability errors, the top
// unanswered questions grouped by wording, and the most and least retrieved
// records (least: only for one bot, among its datasets' records).
func (s *Store) FindAnalytics(ctx context.Context, a models.AnalyticsQuery) (*models.Analytics, error) {
	if a.BotID != "" && !models.ValidID(a.BotID) {
		return &models.Analytics{}, nil
	}
	db := s.db.WithContext(ctx)
	out := &models.Analytics{}
	day := dayExpr(s.dialect)
	channel := "COALESCE(i.type, 'api')"

	// Conversations and messages per day and channel.
	var convDays, msgDays []models.DayCount
	q := db.Table("conversations AS c").Select(day("c.created_at") + " AS day, " + channel + " AS channel, COUNT(*) AS conversations").
		Joins("LEFT JOIN integrations AS i ON i.id = c.integration_id").Group("day, channel").Order("day, channel")
	if err := timeScope(convScope(q, a), "c.created_at", a).Scan(&convDays).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	q = db.Table("messages AS m").Select(day("m.created_at")+" AS day, "+channel+" AS channel, COUNT(*) AS messages").
		Joins("JOIN conversations AS c ON c.id = m.conversation_id").Joins("LEFT JOIN integrations AS i ON i.id = c.integration_id").
		Where("m.type IN ?", []string{models.MessageUser, models.MessageBot}).Group("day, channel").Order("day, channel")
	if err := timeScope(convScope(q, a), "m.created_at", a).Scan(&msgDays).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	out.Days = mergeDays(convDays, msgDays)
	for _, d := range out.Days {
		out.Conversations += d.Conversations
		out.Messages += d.Messages
	}

	q = db.Table("conversations AS c").Select("COUNT(DISTINCT c.contact_id)").Where("c.contact_id IS NOT NULL")
	if err := timeScope(convScope(q, a), "c.created_at", a).Scan(&out.ActiveContacts).Error; err != nil {
		return nil, translate(err, "analytics")
	}

	var votes struct{ Up, Down int64 }
	q = db.Table("ratings AS r").Select("SUM(CASE WHEN r.value > 0 THEN 1 ELSE 0 END) AS up, SUM(CASE WHEN r.value < 0 THEN 1 ELSE 0 END) AS down").
		Joins("JOIN conversations AS c ON c.id = r.conversation_id")
	if err := timeScope(convScope(q, a), "r.updated_at", a).Scan(&votes).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	out.Up, out.Down = votes.Up, votes.Down

	turns := func() *gorm.DB {
		q := db.Table("turns AS t").Joins("JOIN conversations AS c ON c.id = t.conversation_id")
		return timeScope(convScope(q, a), "t.created_at", a)
	}
	if err := turns().Where("t.status IN ?", []string{models.TurnDone, models.TurnFailed, models.TurnInterrupted}).Count(&out.Turns).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	if err := turns().Where(unansweredTurnSQL, dontKnowPatterns[0], dontKnowPatterns[1], dontKnowPatterns[2]).Count(&out.Unanswered).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	var err error
	if out.LatencyP50, out.LatencyP95, _, err = percentiles(turns().Where("t.status = ?", models.TurnDone), "t.latency_ms"); err != nil {
		return nil, err
	}
	if out.TTFTP50, out.TTFTP95, out.TTFTTurns, err = percentiles(turns().Where("t.status = ? AND t.ttft_ms IS NOT NULL", models.TurnDone), "t.ttft_ms"); err != nil {
		return nil, err
	}
	if err := turns().Select("t.model, COUNT(*) AS turns, SUM(t.input_tokens) AS input_tokens, SUM(t.output_tokens) AS output_tokens").
		Where("t.model <> ''").Group("t.model").Order("output_tokens DESC, t.model").Limit(analyticsTopN).Scan(&out.Tokens).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	if err := turns().Joins("JOIN turn_calls AS k ON k.turn_id = t.id").
		Select("k.ability, COUNT(*) AS calls, SUM(CASE WHEN k.error <> '' THEN 1 ELSE 0 END) AS errors").
		Group("k.ability").Order("errors DESC, calls DESC, k.ability").Limit(analyticsTopN).Scan(&out.Abilities).Error; err != nil {
		return nil, translate(err, "analytics")
	}

	var qs []models.UnansweredQuestion
	// CROSS JOIN: SQLite would otherwise walk the messages first.
	if err := turns().Joins("CROSS JOIN messages AS u").Select("t.conversation_id, u.text").Where("u.id = t.user_message_id").
		Where(unansweredTurnSQL, dontKnowPatterns[0], dontKnowPatterns[1], dontKnowPatterns[2]).
		Limit(unansweredSample).Scan(&qs).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	out.TopUnanswered = models.GroupQuestions(qs, analyticsTopN)

	if err := turns().Joins("JOIN turn_records AS tr ON tr.turn_id = t.id").Joins("LEFT JOIN dataset_records AS d ON d.id = tr.record_id").
		Select("tr.record_id, tr.dataset_id, MAX(tr.source) AS source, MAX(SUBSTR(d.text, 1, 200)) AS text, COUNT(*) AS uses").
		Group("tr.record_id, tr.dataset_id").Order("uses DESC, tr.record_id").Limit(analyticsTopN).Scan(&out.MostRetrieved).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	if a.BotID != "" {
		used := turns().Joins("JOIN turn_records AS tr ON tr.turn_id = t.id").Select("tr.record_id, COUNT(*) AS uses").Group("tr.record_id")
		if err := db.Table("dataset_records AS d").Joins("JOIN bot_datasets AS bd ON bd.dataset_id = d.dataset_id AND bd.bot_id = ?", a.BotID).
			Joins("LEFT JOIN (?) AS used ON used.record_id = d.id", used).
			Select("d.id AS record_id, d.dataset_id, d.source, SUBSTR(d.text, 1, 200) AS text, COALESCE(used.uses, 0) AS uses").
			Order("uses, d.id").Limit(analyticsTopN).Scan(&out.LeastRetrieved).Error; err != nil {
			return nil, translate(err, "analytics")
		}
	}
	return out, nil
}

// percentiles returns the p50 and p95 of col over q's rows (nearest rank)
// and how many rows there are, by counting and then reading the two ranks.
func percentiles(q *gorm.DB, col string) (p50, p95, n int64, err error) {
	if err = q.Session(&gorm.Session{}).Count(&n).Error; err != nil || n == 0 {
		return 0, 0, n, translate(err, "analytics")
	}
	at := func(p float64) (int64, error) {
		rank := int(float64(n)*p+0.999999) - 1 // nearest rank, 0-based
		var v []int64
		err := q.Session(&gorm.Session{}).Select(col).Order(col).Offset(max(rank, 0)).Limit(1).Pluck(col, &v).Error
		if err != nil || len(v) == 0 {
			return 0, translate(err, "analytics")
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
