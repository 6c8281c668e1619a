package handlers

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// Templates of the record list's bulk actions and of imports.
const (
	tplDeleteRecords = "pages/datasets/delete_records"
	tplImportsIndex  = "pages/datasets/imports"
)

// Bounds of the record list and its bulk actions.
const (
	// recentImports is how many imports the dataset page lists (the rest are on its Imports page).
	recentImports = 5
	// deleteSample is how many of the records to be deleted the confirmation shows.
	deleteSample = 10
	// maxFilterWords bounds the words filter, in characters.
	maxFilterWords = 200
)

// datasetShowPage is the dataset page: its settings, bots and imports, one
// page of its records (filtered), and the "Add record" form.
type datasetShowPage struct {
	Page
	Dataset *models.Dataset
	Labels  map[string]string
	Bots    []models.BotRef
	// Count is every record of the dataset; List the page shown of those the filter matches.
	Count int64
	List  *models.RecordList
	// Filter is the record filter as typed; FilterErrors its messages (the list is then unfiltered).
	Filter       recordFilterForm
	FilterErrors map[string]string
	// FilterImport is the import the list is narrowed to, if any.
	FilterImport *models.DatasetImport
	// ListURL is the list's URL with the filter (pages add a cursor to it).
	ListURL     string
	Imports     []models.DatasetImport
	ImportCount int64
	// RecordsError says why the bulk delete could not go on (shown over the list).
	RecordsError string
	// Form and Errors belong to the "Add record" form.
	Form   recordForm
	Errors map[string]string
	// Embedding is the semantic search settings and progress.
	Embedding datasetEmbedding
}

// Filtered reports whether the list is narrowed by a (valid) filter.
func (p datasetShowPage) Filtered() bool {
	return p.FilterErrors == nil && !p.Filter.filter("").IsZero()
}

// RangeFrom numbers the first record shown among those matching (from 1).
func (p datasetShowPage) RangeFrom() int64 { return p.List.Offset + 1 }

// RangeTo numbers the last record shown among those matching.
func (p datasetShowPage) RangeTo() int64 { return p.List.Offset + int64(len(p.List.Records)) }

// MoreImports reports imports beyond those listed on the page.
func (p datasetShowPage) MoreImports() bool { return p.ImportCount > int64(len(p.Imports)) }

// PrevURL is the previous page's link ("" on the first page).
func (p datasetShowPage) PrevURL() string {
	if p.List == nil || p.List.Prev == "" {
		return ""
	}
	if p.List.Offset <= int64(models.DefaultPageSize) {
		return p.ListURL // the previous page is the first
	}
	return withQuery(p.ListURL, "before", p.List.Prev)
}

// NextURL is the next page's link ("" on the last page).
func (p datasetShowPage) NextURL() string {
	if p.List == nil || p.List.Next == "" {
		return ""
	}
	return withQuery(p.ListURL, "cursor", p.List.Next)
}

// DeleteAllURL is the link to the confirmation of deleting every record the filter matches.
func (p datasetShowPage) DeleteAllURL() string {
	return "/datasets/" + p.Dataset.ID + "/delete-records" + p.Filter.query(url.Values{"all": {"1"}})
}

// withQuery adds key=value to a URL that may have a query already.
func withQuery(u, key, value string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + url.QueryEscape(key) + "=" + url.QueryEscape(value)
}

// recordFilterForm is the record list's filter, from the query string (or
// the bulk delete's form): words, a source prefix and an import.
type recordFilterForm struct {
	Text   string `form:"text" validate:"max=200"`
	Source string `form:"source" validate:"max=2000"`
	Import string `form:"import"`
}

// readRecordFilter reads the filter from the query string (get) or the form body.
func readRecordFilter(c *fiber.Ctx, get bool) recordFilterForm {
	value := c.FormValue
	if get {
		value = func(k string, _ ...string) string { return c.Query(k) }
	}
	return recordFilterForm{
		Text:   strings.TrimSpace(value("text")),
		Source: strings.TrimSpace(value("source")),
		Import: strings.TrimSpace(value("import")),
	}
}

// check validates the filter, returning the messages of its fields (nil when valid).
func (f recordFilterForm) check() map[string]string {
	errs := map[string]string{}
	if err := models.Validate(f); err != nil {
		for k, v := range models.ErrorFields(err) {
			errs[k] = v
		}
	}
	if msg, ok := errs["text"]; ok && strings.Contains(msg, "at most") {
		errs["text"] = fmt.Sprintf("Type at most %d characters of words to look for.", maxFilterWords)
	}
	if f.Import != "" && !models.ValidID(f.Import) {
		errs["import"] = "This import filter is not valid: choose an import from the list of imports."
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// filter is the store's filter for dataset datasetID.
func (f recordFilterForm) filter(datasetID string) models.RecordFilter {
	return models.RecordFilter{DatasetID: datasetID, Text: f.Text, Source: f.Source, ImportID: f.Import}
}

// query is the filter as a query string ("?text=…"), with extra values, or "".
func (f recordFilterForm) query(extra url.Values) string {
	v := url.Values{}
	for k, vs := range extra {
		v[k] = vs
	}
	for k, s := range map[string]string{"text": f.Text, "source": f.Source, "import": f.Import} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// listWindow reads the record list's page from the query: ?cursor= (older)
// or ?before= (newer).
func listWindow(c *fiber.Ctx) (models.Page, error) {
	p := models.Page{Cursor: c.Query("cursor"), Limit: models.DefaultPageSize}
	if b := c.Query("before"); b != "" && p.Cursor == "" {
		p.Cursor, p.Order = b, models.OrderAsc
	}
	if p.Cursor != "" && !models.ValidID(p.Cursor) {
		return p, models.Errorf(models.CodeInvalid, "The page link is not valid (bad cursor). Go back to the first page.")
	}
	return p, nil
}

// renderDatasetShow renders the dataset page with one page of its records
// (filtered by the query) and the "Add record" form (with f and errs after a
// failed add). recordsErr is shown over the list (a bulk delete that could
// not go on). A filter that cannot be used is shown next to its field, with
// the list unfiltered, as a 422.
func (s *Server) renderDatasetShow(c *fiber.Ctx, status int, d *models.Dataset, f recordForm, errs map[string]string, recordsErr string) error {
	p, err := listWindow(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	v := datasetShowPage{Dataset: d, Labels: datasetLabels, Form: f, Errors: errs, RecordsError: recordsErr,
		Filter: readRecordFilter(c, true)}
	v.FilterErrors = v.Filter.check()
	if v.FilterErrors == nil && v.Filter.Import != "" {
		v.FilterImport, err = s.store.FindImport(ctx, d.ID, v.Filter.Import)
		if models.ErrorCode(err) == models.CodeNotFound {
			v.FilterErrors, err = map[string]string{"import": "This import is not one of this dataset's."}, nil
		}
		if err != nil {
			return err
		}
	}
	if v.FilterErrors == nil {
		v.List, err = s.store.ListRecords(ctx, v.Filter.filter(d.ID), p)
		if fields := models.ErrorFields(err); fields != nil {
			v.FilterErrors, err = fields, nil
		}
		if err != nil {
			return err
		}
	}
	if v.FilterErrors != nil {
		status = fiber.StatusUnprocessableEntity
		if v.List, err = s.store.ListRecords(ctx, models.RecordFilter{DatasetID: d.ID}, p); err != nil {
			return err
		}
	}
	listQuery := ""
	if v.FilterErrors == nil {
		listQuery = v.Filter.query(nil)
	} else {
		v.FilterImport = nil
	}
	v.ListURL = "/datasets/" + d.ID + listQuery
	if v.Bots, err = s.store.BotsUsingDataset(ctx, d.ID); err != nil {
		return err
	}
	v.Count = v.List.Total
	if v.Filtered() {
		if v.Count, err = s.store.CountRecords(ctx, d.ID); err != nil {
			return err
		}
	}
	if v.Imports, _, err = s.store.FindImports(ctx, d.ID, models.Page{Limit: recentImports}); err != nil {
		return err
	}
	if len(v.Imports) == recentImports {
		if v.ImportCount, err = s.store.CountImports(ctx, d.ID); err != nil {
			return err
		}
	} else {
		v.ImportCount = int64(len(v.Imports))
	}
	if v.Embedding, err = s.datasetEmbedding(ctx, d); err != nil {
		return err
	}
	v.Page = s.page(c, d.Name, "datasets")
	return s.render(c, status, tplDatasetsShow, v)
}

// deleteRecordsPage confirms deleting several records: those chosen (IDs), or
// all Count the filter matches (All).
type deleteRecordsPage struct {
	Page
	Dataset *models.Dataset
	All     bool
	IDs     []string
	Filter  recordFilterForm
	// Describe says what the filter keeps, e.g. `containing the words “refund”`.
	Describe []string
	Count    int64
	// Sample is the first of the records to be deleted.
	Sample []models.DatasetRecord
	// Warning says the count changed since the page was shown.
	Warning string
	// Back is the record list to return to.
	Back string
}

// SampleIsAll reports whether the sample shown is every record to be deleted.
func (v deleteRecordsPage) SampleIsAll() bool { return int64(len(v.Sample)) == v.Count }

// selectedIDs reads the chosen records' ids (the "ids" values) from the query or body.
func selectedIDs(c *fiber.Ctx, get bool) []string {
	var raw [][]byte
	if get {
		raw = c.Context().QueryArgs().PeekMulti("ids")
	} else if form, err := c.MultipartForm(); err == nil {
		for _, v := range form.Value["ids"] {
			raw = append(raw, []byte(v))
		}
	} else {
		raw = c.Context().PostArgs().PeekMulti("ids")
	}
	var ids []string
	for _, b := range raw {
		if id := strings.TrimSpace(string(b)); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// handleRecordsDeleteConfirm handles GET /datasets/:id/delete-records: the
// confirmation of deleting the records chosen in the list (?ids=…) or all
// that the filter matches (?all=1&text=…&source=…&import=…), saying how many.
// Nothing chosen is a 422: the dataset page, saying so over the list.
func (s *Server) handleRecordsDeleteConfirm(c *fiber.Ctx) error {
	ctx := c.UserContext()
	d, err := s.store.FindDataset(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	v := deleteRecordsPage{Dataset: d, All: c.Query("all") == "1", IDs: selectedIDs(c, true), Filter: readRecordFilter(c, true)}
	if msg := v.prepare(); msg != "" {
		return s.renderDatasetShow(c, fiber.StatusUnprocessableEntity, d, recordForm{}, nil, msg)
	}
	if msg, err := s.fillDeleteRecords(c, &v); err != nil || msg != "" {
		if err != nil {
			return err
		}
		return s.renderDatasetShow(c, fiber.StatusUnprocessableEntity, d, recordForm{}, nil, msg)
	}
	return s.renderDeleteRecords(c, fiber.StatusOK, v)
}

// prepare checks what was chosen, returning what is wrong ("" when nothing is).
func (v *deleteRecordsPage) prepare() string {
	v.Back = "/datasets/" + v.Dataset.ID + v.Filter.query(nil)
	switch {
	case v.All:
		v.IDs = nil
		if errs := v.Filter.check(); errs != nil {
			return "The filter is not valid, so nothing can be deleted by it: " + strings.Join(fieldMessages(errs), " ")
		}
	case len(v.IDs) == 0:
		return "Select the records to delete (the boxes in the first column), or use “Delete all matching”."
	case len(v.IDs) > models.MaxPageSize:
		return fmt.Sprintf("At most %d records can be selected at once; use “Delete all matching” for more.", models.MaxPageSize)
	}
	return ""
}

// fillDeleteRecords counts the records to delete and reads a sample of them;
// msg says why there is nothing to confirm.
func (s *Server) fillDeleteRecords(c *fiber.Ctx, v *deleteRecordsPage) (msg string, err error) {
	ctx := c.UserContext()
	if !v.All {
		recs, err := s.store.FindRecordsByID(ctx, v.Dataset.ID, v.IDs)
		if err != nil {
			return "", err
		}
		if len(recs) == 0 {
			return "None of the selected records is in this dataset any more: nothing to delete.", nil
		}
		v.IDs = v.IDs[:0]
		for _, r := range recs {
			v.IDs = append(v.IDs, r.ID)
		}
		v.Count, v.Sample = int64(len(recs)), recs[:min(len(recs), deleteSample)]
		return "", nil
	}
	f := v.Filter.filter(v.Dataset.ID)
	list, err := s.store.ListRecords(ctx, f, models.Page{Limit: deleteSample})
	if fields := models.ErrorFields(err); fields != nil {
		return "The filter cannot be used, so nothing can be deleted by it: " + strings.Join(fieldMessages(fields), " "), nil
	}
	if models.ErrorCode(err) == models.CodeNotFound && v.Filter.Import != "" {
		return "This import is not one of this dataset's: nothing to delete.", nil
	}
	if err != nil {
		return "", err
	}
	if list.Total == 0 {
		return "No record matches the filter: nothing to delete.", nil
	}
	v.Count, v.Sample = list.Total, list.Records
	if v.Filter.Text != "" {
		v.Describe = append(v.Describe, fmt.Sprintf("containing the words “%s”", v.Filter.Text))
	}
	if v.Filter.Source != "" {
		v.Describe = append(v.Describe, fmt.Sprintf("whose source starts with “%s”", v.Filter.Source))
	}
	if v.Filter.Import != "" {
		imp, err := s.store.FindImport(ctx, v.Dataset.ID, v.Filter.Import)
		if err != nil {
			return "", err
		}
		v.Describe = append(v.Describe, "made by the import of "+importLabel(imp))
	}
	return "", nil
}

// renderDeleteRecords renders the bulk delete's confirmation.
func (s *Server) renderDeleteRecords(c *fiber.Ctx, status int, v deleteRecordsPage) error {
	v.Page = s.page(c, "Delete "+recordsPhrase(v.Count), "datasets")
	return s.render(c, status, tplDeleteRecords, v)
}

// handleRecordsDelete handles POST /datasets/:id/delete-records: deletes the
// chosen records (ids), or all that the filter matches (all=1) provided they
// are still the count confirmed; when that changed, the confirmation shows
// again with the new count (409) and nothing is deleted.
func (s *Server) handleRecordsDelete(c *fiber.Ctx) error {
	ctx := c.UserContext()
	d, err := s.store.FindDataset(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	v := deleteRecordsPage{Dataset: d, All: c.FormValue("all") == "1", IDs: selectedIDs(c, false), Filter: readRecordFilter(c, false)}
	if msg := v.prepare(); msg != "" {
		return s.renderDatasetShow(c, fiber.StatusUnprocessableEntity, d, recordForm{}, nil, msg)
	}
	if !v.All {
		n, err := s.store.DeleteRecordsByID(ctx, d.ID, v.IDs)
		if err != nil {
			return err
		}
		if n == 0 {
			return s.renderDatasetShow(c, fiber.StatusUnprocessableEntity, d, recordForm{}, nil,
				"None of the selected records is in this dataset any more: nothing to delete.")
		}
		msg := "Deleted " + recordsPhrase(n) + "."
		if gone := int64(len(v.IDs)) - n; gone > 0 {
			msg += fmt.Sprintf(" %s had been deleted already.", recordsPhrase(gone))
		}
		setFlash(c, msg)
		return redirect(c, v.Back)
	}
	expect, err := parseCount(c.FormValue("count"))
	if err != nil {
		return err
	}
	if expect == 0 {
		return s.renderDatasetShow(c, fiber.StatusUnprocessableEntity, d, recordForm{}, nil, "No record matches the filter: nothing to delete.")
	}
	n, err := s.store.DeleteMatchingRecords(ctx, v.Filter.filter(d.ID), expect)
	switch {
	case models.ErrorCode(err) == models.CodeConflict:
		msg, ferr := s.fillDeleteRecords(c, &v)
		if ferr != nil {
			return ferr
		}
		if msg != "" {
			return s.renderDatasetShow(c, fiber.StatusConflict, d, recordForm{}, nil, msg)
		}
		v.Warning = models.ErrorMessage(err) + " Check the records below and confirm again."
		return s.renderDeleteRecords(c, fiber.StatusConflict, v)
	case models.ErrorFields(err) != nil:
		return s.renderDatasetShow(c, fiber.StatusUnprocessableEntity, d, recordForm{}, nil,
			"The filter cannot be used, so nothing was deleted: "+strings.Join(fieldMessages(models.ErrorFields(err)), " "))
	case err != nil:
		return err
	}
	setFlash(c, "Deleted "+recordsPhrase(n)+".")
	return redirect(c, "/datasets/"+d.ID)
}

// parseCount reads the confirmed count of a bulk delete.
func parseCount(s string) (int64, error) {
	var n int64
	if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n < 0 {
		return 0, models.Errorf(models.CodeInvalid, "The confirmation did not say how many records to delete. Go back to the list and choose Delete all matching again.")
	}
	return n, nil
}

// fieldMessages returns the messages of a form's fields, in the order of their names.
func fieldMessages(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// importLabel names an import for people: “faq.csv” by Ada on 2024-05-01 10:00 UTC.
func importLabel(imp *models.DatasetImport) string { return imp.Label() }

// importIndexPage lists a dataset's imports.
type importIndexPage struct {
	Page
	Dataset *models.Dataset
	Imports []models.DatasetImport
	Next    string
	Cursor  string
}

// handleImportIndex handles GET /datasets/:id/imports: every import of the
// dataset, newest first, with who, when, the file and its records.
func (s *Server) handleImportIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	d, err := s.store.FindDataset(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	imps, next, err := s.store.FindImports(ctx, d.ID, p)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplImportsIndex, importIndexPage{Page: s.page(c, "Imports into "+d.Name, "datasets"),
		Dataset: d, Imports: imps, Next: next, Cursor: p.Cursor})
}

// handleImportUndoConfirm handles GET /datasets/:id/imports/:importId/undo:
// the confirmation, naming the file, who imported it and how many records go.
func (s *Server) handleImportUndoConfirm(c *fiber.Ctx) error {
	ctx := c.UserContext()
	d, err := s.store.FindDataset(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	imp, err := s.store.FindImport(ctx, d.ID, c.Params("importId"))
	if err != nil {
		return err
	}
	if imp.Undone() {
		return models.Errorf(models.CodeConflict, "The import of %s was undone already.", importLabel(imp))
	}
	body := []string{
		fmt.Sprintf("This removes the %s it made that the dataset still holds, edited ones included (it made %d).", recordsPhrase(imp.Remaining), imp.RecordCount),
		"Records added by hand or by other imports stay. Bots using this dataset will no longer retrieve the removed records. This cannot be undone.",
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page:    s.page(c, "Undo an import", "datasets"),
		Heading: fmt.Sprintf("Remove the %s of the import of %s?", recordsPhrase(imp.Remaining), importLabel(imp)),
		Body:    body, Action: "/datasets/" + d.ID + "/imports/" + imp.ID + "/undo",
		Button: "Remove " + recordsPhrase(imp.Remaining), Cancel: "/datasets/" + d.ID,
	})
}

// handleImportUndo handles POST /datasets/:id/imports/:importId/undo:
// removes the import's records in one transaction and marks it undone.
func (s *Server) handleImportUndo(c *fiber.Ctx) error {
	ctx := c.UserContext()
	d, err := s.store.FindDataset(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	imp, err := s.store.UndoImport(ctx, d.ID, c.Params("importId"))
	if err != nil {
		return err
	}
	name := imp.FileName
	if name == "" {
		name = "the import"
	}
	setFlash(c, fmt.Sprintf("Removed %s imported from %s: the import is undone.", recordsPhrase(int64(imp.UndoneRecords)), name))
	return redirect(c, "/datasets/"+d.ID)
}
