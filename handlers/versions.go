package handlers

import (
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// pickerVersions bounds how many versions the compare selects offer (the
// chosen ones are always among them).
const pickerVersions = 200

// registerBotVersions registers a bot's History pages: its versions, the
// diff between two, one version, and restoring one.
func (s *Server) registerBotVersions() {
	s.handle(fiber.MethodGet, "/bots/:id/versions", models.PermBotHistory, s.handleBotVersions)
	s.handle(fiber.MethodGet, "/bots/:id/versions/diff", models.PermBotHistory, s.handleBotVersionDiff)
	s.handle(fiber.MethodGet, "/bots/:id/versions/:n", models.PermBotHistory, s.handleBotVersionShow)
	s.handle(fiber.MethodGet, "/bots/:id/versions/:n/restore", models.PermConfigWrite, s.handleBotRestoreConfirm)
	s.handle(fiber.MethodPost, "/bots/:id/versions/:n/restore", models.PermConfigWrite, s.handleBotRestore)
}

// versionRow is one version in the list, with what changed since the one
// before (number Prev).
type versionRow struct {
	Version models.BotVersion
	Prev    int
	Changes []string
}

// compareForm is the two selects choosing versions to compare.
type compareForm struct {
	BotID    string
	Numbers  []models.BotVersion
	From, To int
}

type versionsPage struct {
	Page
	Bot     *models.Bot
	Rows    []versionRow
	Next    string
	Cursor  string
	Compare compareForm
	// QA is the bot's suites and, with a gate suite, each version's verdict.
	QA gateView
}

type versionDiffPage struct {
	Page
	Bot      *models.Bot
	From, To *models.BotVersion
	Diff     models.VersionDiff
	Compare  compareForm
}

type versionShowPage struct {
	Page
	Bot     *models.Bot
	Version *models.BotVersion
	// Prev is the version before (nil for version 1), Diff what changed since it.
	Prev   *models.BotVersion
	Diff   models.VersionDiff
	Latest int
	QA     gateView
}

// versionNumber reads a version number from the path or the query; bad
// input is not found (path) or invalid (query, named by field).
func versionNumber(s, field string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		if field == "" {
			return 0, models.Errorf(models.CodeNotFound, "There is no such version of this bot.")
		}
		return 0, models.FieldError(field, "Choose a version number.")
	}
	return n, nil
}

// compareChoices is the versions the selects offer: the latest ones, and the
// chosen two wherever they are.
func (s *Server) compareChoices(c *fiber.Ctx, botID string, from, to int) (compareForm, error) {
	nums, err := s.store.BotVersionNumbers(c.UserContext(), botID, pickerVersions)
	if err != nil {
		return compareForm{}, err
	}
	f := compareForm{BotID: botID, Numbers: nums, From: from, To: to}
	if len(nums) > 0 {
		if f.To == 0 {
			f.To = nums[0].Number
		}
		if f.From == 0 {
			f.From = max(f.To-1, 1)
		}
	}
	have := map[int]bool{}
	for _, v := range nums {
		have[v.Number] = true
	}
	for _, n := range []int{f.From, f.To} {
		if n > 0 && !have[n] {
			f.Numbers = append(f.Numbers, models.BotVersion{Number: n})
			have[n] = true
		}
	}
	return f, nil
}

// handleBotVersions handles GET /bots/:id/versions: the bot's History page,
// its versions newest first (number, when, who, note, what changed), paginated.
func (s *Server) handleBotVersions(c *fiber.Ctx) error {
	ctx := c.UserContext()
	b, err := s.store.FindBot(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	before := 0
	if cur := c.Query("cursor"); cur != "" {
		if before, err = strconv.Atoi(cur); err != nil || before < 1 {
			return models.Errorf(models.CodeInvalid, "The page link is not valid (bad cursor). Go back to the first page.")
		}
	}
	vs, next, err := s.store.FindBotVersions(ctx, b.ID, before, models.DefaultPageSize)
	if err != nil {
		return err
	}
	rows := make([]versionRow, 0, len(vs))
	for i, v := range vs {
		row := versionRow{Version: v, Prev: v.Number - 1}
		var prev *models.BotVersion
		switch {
		case i+1 < len(vs):
			prev = &vs[i+1]
		case v.Number > 1:
			if prev, err = s.store.FindBotVersion(ctx, b.ID, v.Number-1); err != nil {
				return err
			}
		}
		if prev != nil {
			row.Changes = models.DiffSnapshots(prev.Snapshot, v.Snapshot).Summary()
		}
		rows = append(rows, row)
	}
	cmp, err := s.compareChoices(c, b.ID, 0, 0)
	if err != nil {
		return err
	}
	p := versionsPage{Page: s.page(c, "History of "+b.Name, "bots"), Bot: b, Rows: rows, Compare: cmp, Cursor: c.Query("cursor")}
	nums := make([]int, 0, len(vs))
	for _, v := range vs {
		nums = append(nums, v.Number)
	}
	if p.QA, err = s.gateFor(c, b.ID, nums); err != nil {
		return err
	}
	if latest, err := s.store.LatestBotVersion(ctx, b.ID); err == nil && latest != nil {
		p.QA.Latest = latest.Number
	} else if err != nil {
		return err
	}
	if next > 0 {
		p.Next = strconv.Itoa(next)
	}
	return s.render(c, fiber.StatusOK, tplBotVersions, p)
}

// handleBotVersionDiff handles GET /bots/:id/versions/diff?from=N&to=M: what
// changed between two versions (by default the latest and the one before).
func (s *Server) handleBotVersionDiff(c *fiber.Ctx) error {
	ctx := c.UserContext()
	b, err := s.store.FindBot(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	var from, to int
	if q := c.Query("from"); q != "" {
		if from, err = versionNumber(q, "from"); err != nil {
			return err
		}
	}
	if q := c.Query("to"); q != "" {
		if to, err = versionNumber(q, "to"); err != nil {
			return err
		}
	}
	cmp, err := s.compareChoices(c, b.ID, from, to)
	if err != nil {
		return err
	}
	fv, err := s.store.FindBotVersion(ctx, b.ID, cmp.From)
	if err != nil {
		return err
	}
	tv, err := s.store.FindBotVersion(ctx, b.ID, cmp.To)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplBotVersionDiff, versionDiffPage{
		Page: s.page(c, fmt.Sprintf("%s: version %d → %d", b.Name, fv.Number, tv.Number), "bots"),
		Bot:  b, From: fv, To: tv, Diff: models.DiffSnapshots(fv.Snapshot, tv.Snapshot), Compare: cmp})
}

// botVersionParams reads a version page's bot (:id) and version number (:n).
func (s *Server) botVersionParams(c *fiber.Ctx) (*models.Bot, int, error) {
	b, err := s.store.FindBot(c.UserContext(), c.Params("id"))
	if err != nil {
		return nil, 0, err
	}
	n, err := versionNumber(c.Params("n"), "")
	if err != nil {
		return nil, 0, err
	}
	return b, n, nil
}

// handleBotVersionShow handles GET /bots/:id/versions/:n: one version, what
// it holds and what changed since the one before.
func (s *Server) handleBotVersionShow(c *fiber.Ctx) error {
	ctx := c.UserContext()
	b, n, err := s.botVersionParams(c)
	if err != nil {
		return err
	}
	v, err := s.store.FindBotVersion(ctx, b.ID, n)
	if err != nil {
		return err
	}
	p := versionShowPage{Page: s.page(c, fmt.Sprintf("%s: version %d", b.Name, n), "bots"), Bot: b, Version: v}
	if n > 1 {
		if p.Prev, err = s.store.FindBotVersion(ctx, b.ID, n-1); err != nil {
			return err
		}
		p.Diff = models.DiffSnapshots(p.Prev.Snapshot, v.Snapshot)
	}
	latest, err := s.store.LatestBotVersion(ctx, b.ID)
	if err != nil {
		return err
	}
	if latest != nil {
		p.Latest = latest.Number
	}
	if p.QA, err = s.gateFor(c, b.ID, []int{n}); err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplBotVersionShow, p)
}

// handleBotRestoreConfirm handles GET /bots/:id/versions/:n/restore: what
// restoring the version will and will not do, before doing it.
func (s *Server) handleBotRestoreConfirm(c *fiber.Ctx) error {
	ctx := c.UserContext()
	b, n, err := s.botVersionParams(c)
	if err != nil {
		return err
	}
	plan, err := s.store.PlanRestore(ctx, b.ID, n)
	if err != nil {
		return err
	}
	body := []string{
		fmt.Sprintf("The bot's backstory, model, privacy and moderation flags, datasets and skillsets are set back to those of version %d and saved as a new version, noted “Restored version %d”. Later versions stay in the history.", n, n),
		"Datasets keep their retrieval settings and skillsets their abilities as they are now: those belong to the dataset or skillset (other bots may use them) and are not restored. Dataset records are never versioned.",
	}
	for _, d := range plan.MissingDatasets {
		body = append(body, fmt.Sprintf("Dataset %q no longer exists: it is skipped.", d.Name))
	}
	for _, k := range plan.MissingSkillsets {
		body = append(body, fmt.Sprintf("Skillset %q no longer exists: it is skipped.", k.Name))
	}
	if err := s.checkModel(ctx, plan.Version.Snapshot.Model); err != nil {
		if models.ErrorCode(err) != models.CodeInvalid {
			return err
		}
		body = append(body, "Warning: "+models.ErrorMessage(err)+" Turns with this model will fail until it does.")
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page:    s.page(c, fmt.Sprintf("Restore version %d of %s", n, b.Name), "bots"),
		Heading: fmt.Sprintf("Restore version %d of %q?", n, b.Name), Body: body,
		Action: fmt.Sprintf("/bots/%s/versions/%d/restore", b.ID, n), Button: fmt.Sprintf("Restore version %d", n),
		Cancel: fmt.Sprintf("/bots/%s/versions/%d", b.ID, n),
	})
}

// handleBotRestore handles POST /bots/:id/versions/:n/restore.
func (s *Server) handleBotRestore(c *fiber.Ctx) error {
	ctx := c.UserContext()
	b, n, err := s.botVersionParams(c)
	if err != nil {
		return err
	}
	res, err := s.store.RestoreBotVersion(ctx, b.ID, n)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("The bot already matches version %d: nothing changed.", n)
	if res.New != nil {
		msg = fmt.Sprintf("Version %d restored as version %d.", n, res.New.Number)
	}
	if skipped := len(res.MissingDatasets) + len(res.MissingSkillsets); skipped > 0 {
		msg += fmt.Sprintf(" %d dataset(s) or skillset(s) no longer exist and were skipped.", skipped)
	}
	setFlash(c, msg)
	return redirect(c, "/bots/"+b.ID+"/versions")
}
