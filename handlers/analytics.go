package handlers

import (
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// analyticsDefaultDays is the range the Analytics page opens with.
const analyticsDefaultDays = 30

// registerAnalytics registers the Analytics page: everyone who reads
// conversations; the parts about configuration (tokens by model, retrieved
// records) only for those who read configuration.
func (s *Server) registerAnalytics() {
	s.handle(fiber.MethodGet, "/analytics", models.PermConversationRead, s.handleAnalytics)
}

// chartBar is one bar of a server-rendered SVG bar chart, with its value
// written above it (readable without colour).
type chartBar struct {
	X, Y, W, H int
	Label      string
	Value      int64
	TextX      int
}

// barChart is an SVG bar chart; its numbers are also in the table below it.
type barChart struct {
	ID, Title     string
	Width, Height int
	Bars          []chartBar
	// Labels shows every how-manyth day under the bars.
	LabelEvery int
}

// newBarChart lays out values as bars of a chart 640 wide.
func newBarChart(id, title string, labels []string, values []int64) barChart {
	const width, height, top, bottom = 640, 220, 20, 30
	c := barChart{ID: id, Title: title, Width: width, Height: height, LabelEvery: 1}
	if len(values) == 0 {
		return c
	}
	var peak int64 = 1
	for _, v := range values {
		peak = max(peak, v)
	}
	step := width / len(values)
	bw := max(step*7/10, 1)
	if len(values) > 12 {
		c.LabelEvery = (len(values) + 11) / 12
	}
	for i, v := range values {
		h := int(int64(height-top-bottom) * v / peak)
		x := i*step + (step-bw)/2
		c.Bars = append(c.Bars, chartBar{X: x, Y: height - bottom - h, W: bw, H: h, Label: labels[i], Value: v, TextX: x + bw/2})
	}
	return c
}

type analyticsPage struct {
	Page
	Bots         []models.Bot
	BotID        string
	From, To     string
	Tests        bool
	Errors       map[string]string
	A            *models.Analytics
	Config       bool
	Convs, Msgs  barChart
	Days         []analyticsDay
	Channels     []string
	Satisfaction string
	Unanswered   string
}

// analyticsDay is one row of the table behind the charts.
type analyticsDay struct {
	Day           string
	Conversations int64
	Messages      int64
	ByChannel     []int64 // conversations per channel, in Channels order
}

// handleAnalytics handles GET /analytics?bot=&from=&to=&tests=1: the
// figures of a date range (the last 30 days by default), for a bot or all.
func (s *Server) handleAnalytics(c *fiber.Ctx) error {
	ctx := c.UserContext()
	op := operator(c)
	d := analyticsPage{Page: s.page(c, "Analytics", "analytics"), BotID: strings.Clone(c.Query("bot")), From: strings.Clone(c.Query("from")),
		To: strings.Clone(c.Query("to")), Tests: c.Query("tests") == "1", Config: op.Can(models.PermConfigRead)}
	if d.From == "" && d.To == "" {
		now := time.Now().UTC()
		d.From, d.To = now.AddDate(0, 0, -analyticsDefaultDays+1).Format(time.DateOnly), now.Format(time.DateOnly)
	}
	errs := map[string]string{}
	q := models.AnalyticsQuery{IncludeTests: d.Tests}
	if d.BotID != "" && !models.ValidID(d.BotID) {
		errs["bot"] = "Choose a bot from the list."
	} else {
		q.BotID = d.BotID
	}
	since, until, err := dateRange(d.From, d.To)
	if fe := models.ErrorFields(err); fe != nil {
		for k, v := range fe {
			errs[k] = v
		}
	} else {
		q.Since, q.Until = since, until
	}
	status := fiber.StatusOK
	if len(errs) > 0 {
		d.Errors, status = errs, fiber.StatusUnprocessableEntity
	}
	if d.A, err = s.store.FindAnalytics(ctx, q); err != nil {
		return err
	}
	if !d.Config {
		d.A.Tokens, d.A.MostRetrieved, d.A.LeastRetrieved = nil, nil, nil
	}
	mask := s.masker(op)
	for i := range d.A.TopUnanswered {
		d.A.TopUnanswered[i].Example = mask(d.A.TopUnanswered[i].Example)
	}
	if d.Bots, _, err = s.store.FindBots(ctx, models.BotFilter{Page: models.Page{Limit: botFilterLimit}}); err != nil {
		return err
	}
	d.Satisfaction = percent(d.A.Satisfaction(), d.A.Up+d.A.Down)
	d.Unanswered = percent(d.A.UnansweredRate(), d.A.Turns)
	byDay := map[string]*analyticsDay{}
	var order []string
	chIdx := map[string]int{}
	for _, dc := range d.A.Days {
		if _, ok := chIdx[dc.Channel]; !ok {
			chIdx[dc.Channel] = len(d.Channels)
			d.Channels = append(d.Channels, dc.Channel)
		}
	}
	for _, dc := range d.A.Days {
		row, ok := byDay[dc.Day]
		if !ok {
			row = &analyticsDay{Day: dc.Day, ByChannel: make([]int64, len(d.Channels))}
			byDay[dc.Day] = row
			order = append(order, dc.Day)
		}
		row.Conversations += dc.Conversations
		row.Messages += dc.Messages
		row.ByChannel[chIdx[dc.Channel]] += dc.Conversations
	}
	var labels []string
	var convs, msgs []int64
	for _, day := range order {
		d.Days = append(d.Days, *byDay[day])
		labels = append(labels, day[5:])
		convs = append(convs, byDay[day].Conversations)
		msgs = append(msgs, byDay[day].Messages)
	}
	d.Convs = newBarChart("chart-convs", "Conversations per day", labels, convs)
	d.Msgs = newBarChart("chart-msgs", "Messages per day", labels, msgs)
	return s.render(c, status, tplAnalytics, d)
}

// percent formats a share, or "—" when there is nothing to share.
func percent(f float64, of int64) string {
	if of == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", f*100)
}
