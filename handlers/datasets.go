package handlers

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// registerDatasets registers the dataset and record routes.
func (s *Server) registerDatasets() {
	s.handle(fiber.MethodGet, "/datasets", models.PermConfigRead, s.handleDatasetIndex)
	s.handle(fiber.MethodGet, "/datasets/new", models.PermConfigWrite, s.handleDatasetNew)
	s.handle(fiber.MethodPost, "/datasets", models.PermConfigWrite, s.handleDatasetCreate)
	s.handle(fiber.MethodGet, "/datasets/:id", models.PermConfigRead, s.handleDatasetShow)
	s.handle(fiber.MethodGet, "/datasets/:id/search", models.PermConfigRead, s.handleDatasetSearch)
	s.handle(fiber.MethodGet, "/datasets/:id/embedding", models.PermConfigRead, s.handleDatasetEmbedding)
	s.handle(fiber.MethodGet, "/datasets/:id/edit", models.PermConfigWrite, s.handleDatasetEdit)
	s.handle(fiber.MethodPost, "/datasets/:id", models.PermConfigWrite, s.handleDatasetUpdate)
	s.handle(fiber.MethodGet, "/datasets/:id/delete", models.PermConfigWrite, s.handleDatasetDeleteConfirm)
	s.handle(fiber.MethodPost, "/datasets/:id/delete", models.PermConfigWrite, s.handleDatasetDelete)
	s.handle(fiber.MethodPost, "/datasets/:id/records", models.PermConfigWrite, s.handleRecordCreate)
	s.handle(fiber.MethodGet, "/datasets/:id/import", models.PermConfigWrite, s.handleDatasetImportForm)
	s.handle(fiber.MethodPost, "/datasets/:id/import", models.PermConfigWrite, s.handleDatasetImport)
	s.handle(fiber.MethodPost, "/datasets/:id/uploads", models.PermConfigWrite, s.handleUploadCreate)
	s.handle(fiber.MethodGet, "/datasets/:id/uploads/:uploadId", models.PermConfigWrite, s.handleUploadPreview)
	s.handle(fiber.MethodPost, "/datasets/:id/uploads/:uploadId", models.PermConfigWrite, s.handleUploadImport)
	s.handle(fiber.MethodGet, "/datasets/:id/imports", models.PermConfigRead, s.handleImportIndex)
	s.handle(fiber.MethodGet, "/datasets/:id/imports/:importId/undo", models.PermConfigWrite, s.handleImportUndoConfirm)
	s.handle(fiber.MethodPost, "/datasets/:id/imports/:importId/undo", models.PermConfigWrite, s.handleImportUndo)
	s.handle(fiber.MethodGet, "/datasets/:id/delete-records", models.PermConfigWrite, s.handleRecordsDeleteConfirm)
	s.handle(fiber.MethodPost, "/datasets/:id/delete-records", models.PermConfigWrite, s.handleRecordsDelete)
	s.handle(fiber.MethodGet, "/datasets/:id/records/:recordId/edit", models.PermConfigWrite, s.handleRecordEdit)
	s.handle(fiber.MethodPost, "/datasets/:id/records/:recordId", models.PermConfigWrite, s.handleRecordUpdate)
	s.handle(fiber.MethodGet, "/datasets/:id/records/:recordId/delete", models.PermConfigWrite, s.handleRecordDeleteConfirm)
	s.handle(fiber.MethodPost, "/datasets/:id/records/:recordId/delete", models.PermConfigWrite, s.handleRecordDelete)
}

// datasetLabels are the form labels of the dataset fields whose JSON name does
// not read well; validation messages are reworded to use them, so the message
// next to a field names it the way its label does.
var datasetLabels = map[string]string{
	"searchMaxRecords":    "Records to retrieve",
	"recordMaxTokens":     "Max record size (tokens)",
	"searchMaxTokens":     "Max retrieved size (tokens)",
	"searchMinScore":      "Minimum match score",
	"matchInstruction":    "Instruction when records match",
	"mismatchInstruction": "Instruction when nothing matches",
	"embedProviderId":     "Embeddings provider",
	"embedModel":          "Embeddings model",
	"rerankProviderId":    "Rerank provider",
	"rerankModel":         "Rerank model",
}

// datasetForm is the body of the dataset form. Numbers are read as text and
// converted in apply, so a typo is a message next to its field rather than a
// form that cannot be read.
type datasetForm struct {
	Name                string `form:"name" validate:"required,max=200"`
	Description         string `form:"description" validate:"max=4000"`
	SearchMaxRecords    string `form:"searchMaxRecords"`
	RecordMaxTokens     string `form:"recordMaxTokens"`
	SearchMaxTokens     string `form:"searchMaxTokens"`
	SearchMinScore      string `form:"searchMinScore"`
	MatchInstruction    string `form:"matchInstruction" validate:"max=4000"`
	MismatchInstruction string `form:"mismatchInstruction" validate:"max=4000"`
	Meta                string `form:"meta"`
	// Visibility is kept as it is when the form does not send it.
	Visibility string `form:"visibility" validate:"omitempty,oneof=private protected public"`
	// EmbedProviderID … RerankModel are the semantic retrieval settings
	// (a provider id from the picker, "" for none, and a model name).
	EmbedProviderID  string `form:"embedProviderId" validate:"max=36"`
	EmbedModel       string `form:"embedModel" validate:"max=200"`
	RerankProviderID string `form:"rerankProviderId" validate:"max=36"`
	RerankModel      string `form:"rerankModel" validate:"max=200"`
}

// datasetVisibilities are the visibility menu's choices, as ChatBotKit names them.
var datasetVisibilities = []importFormat{
	{models.VisibilityPrivate, "Private"},
	{models.VisibilityProtected, "Protected"},
	{models.VisibilityPublic, "Public"},
}

type datasetIndexPage struct {
	Page
	Datasets []models.Dataset
	Next     string
	Cursor   string
}

type datasetFormPage struct {
	Page
	Form         datasetForm
	Errors       map[string]string
	Labels       map[string]string
	Action       string
	Dataset      *models.Dataset
	Visibilities []importFormat
	// Providers are the configured providers the embeddings and rerank pickers offer.
	Providers []models.Provider
}

// recordForm is the body of the record forms (add on the dataset page, and edit).
type recordForm struct {
	Text   string `form:"text" validate:"required,max=100000"`
	Source string `form:"source" validate:"max=2000"`
	Meta   string `form:"meta"`
}

type recordFormPage struct {
	Page
	Dataset *models.Dataset
	Record  *models.DatasetRecord
	Form    recordForm
	Errors  map[string]string
}

// datasetToForm fills the form with a dataset's values.
func datasetToForm(d *models.Dataset) datasetForm {
	return datasetForm{
		Name: d.Name, Description: d.Description,
		SearchMaxRecords:    strconv.Itoa(d.SearchMaxRecords),
		RecordMaxTokens:     strconv.Itoa(d.RecordMaxTokens),
		SearchMaxTokens:     strconv.Itoa(d.SearchMaxTokens),
		SearchMinScore:      strconv.FormatFloat(d.SearchMinScore, 'f', -1, 64),
		MatchInstruction:    d.MatchInstruction,
		MismatchInstruction: d.MismatchInstruction,
		Meta:                d.Meta.String(),
		Visibility:          d.Visibility,
		EmbedProviderID:     models.Deref(d.EmbedProviderID),
		EmbedModel:          d.EmbedModel,
		RerankProviderID:    models.Deref(d.RerankProviderID),
		RerankModel:         d.RerankModel,
	}
}

// optionalString is nil for a blank value.
func optionalString(v string) *string {
	if v = strings.TrimSpace(v); v == "" {
		return nil
	}
	return &v
}

// apply checks the form and copies it onto d, leaving the fields the form does
// not show as they are. It returns an invalid-input error with every field's
// message at once.
func (f *datasetForm) apply(d *models.Dataset) error {
	f.Name = strings.TrimSpace(f.Name)
	errs := map[string]string{}
	if err := models.Validate(f); err != nil {
		fields := models.ErrorFields(err)
		if fields == nil {
			return err
		}
		for k, v := range fields {
			errs[k] = v
		}
	}
	d.Name, d.Description = f.Name, f.Description
	if f.Visibility = strings.TrimSpace(f.Visibility); f.Visibility != "" {
		d.Visibility = f.Visibility
	}
	d.MatchInstruction, d.MismatchInstruction = f.MatchInstruction, f.MismatchInstruction
	d.EmbedProviderID, d.EmbedModel = optionalString(f.EmbedProviderID), strings.TrimSpace(f.EmbedModel)
	d.RerankProviderID, d.RerankModel = optionalString(f.RerankProviderID), strings.TrimSpace(f.RerankModel)
	d.SearchMaxRecords = datasetWholeNumber(errs, "searchMaxRecords", f.SearchMaxRecords)
	d.RecordMaxTokens = datasetWholeNumber(errs, "recordMaxTokens", f.RecordMaxTokens)
	d.SearchMaxTokens = datasetWholeNumber(errs, "searchMaxTokens", f.SearchMaxTokens)
	d.SearchMinScore = datasetScore(errs, "searchMinScore", f.SearchMinScore)
	meta, err := models.ParseMeta("meta", f.Meta)
	if err != nil {
		for k, v := range models.ErrorFields(err) {
			errs[k] = v
		}
	}
	d.Meta = meta
	// The model's own rules (ranges), checked now so every message shows in one
	// round; the store checks them again.
	if err := d.Validate(); err != nil {
		for k, v := range models.ErrorFields(err) {
			if _, ok := errs[k]; !ok {
				errs[k] = v
			}
		}
	}
	if len(errs) > 0 {
		return &models.Error{Code: models.CodeInvalid, Message: "Please correct the fields marked below.", Fields: relabelDataset(errs)}
	}
	return nil
}

// datasetWholeNumber parses a number field, noting a message in errs when it is not a whole number.
func datasetWholeNumber(errs map[string]string, field, s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		errs[field] = datasetLabels[field] + " must be a whole number."
	}
	return n
}

// datasetScore parses the score field, noting a message in errs when it is not a finite number.
func datasetScore(errs map[string]string, field, s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		errs[field] = datasetLabels[field] + " must be a number from 0 to 1, like 0.5."
		return 0
	}
	return v
}

// relabelDataset rewords validation messages ("Search max records must be at most
// 100.") to start with the field's form label ("Records to retrieve must …").
func relabelDataset(fields map[string]string) map[string]string {
	out := make(map[string]string, len(fields))
	for k, msg := range fields {
		if l, ok := datasetLabels[k]; ok {
			if p := models.Label(k); strings.HasPrefix(msg, p) {
				msg = l + msg[len(p):]
			}
		}
		out[k] = msg
	}
	return out
}

// handleDatasetIndex handles GET /datasets.
func (s *Server) handleDatasetIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	ds, next, err := s.store.FindDatasets(c.UserContext(), p)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplDatasetsIndex, datasetIndexPage{Page: s.page(c, "Datasets", "datasets"), Datasets: ds, Next: next, Cursor: p.Cursor})
}

// handleDatasetNew handles GET /datasets/new.
func (s *Server) handleDatasetNew(c *fiber.Ctx) error {
	d := models.NewDataset()
	return s.renderDatasetForm(c, fiber.StatusOK, nil, datasetToForm(&d), nil)
}

func (s *Server) renderDatasetForm(c *fiber.Ctx, status int, d *models.Dataset, f datasetForm, errs map[string]string) error {
	title, action := "New dataset", "/datasets"
	if d != nil {
		title, action = "Edit "+d.Name, "/datasets/"+d.ID
	}
	provs, _, err := s.store.FindProviders(c.UserContext(), models.Page{Limit: models.MaxPageSize, Order: models.OrderAsc})
	if err != nil {
		return err
	}
	return s.render(c, status, tplDatasetsForm, datasetFormPage{Page: s.page(c, title, "datasets"), Form: f, Errors: errs,
		Labels: datasetLabels, Action: action, Dataset: d, Visibilities: datasetVisibilities, Providers: provs})
}

// handleDatasetCreate handles POST /datasets.
func (s *Server) handleDatasetCreate(c *fiber.Ctx) error {
	var f datasetForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	d := models.NewDataset()
	err := f.apply(&d)
	if err == nil {
		var created *models.Dataset
		created, err = s.store.CreateDataset(c.UserContext(), d)
		if err == nil {
			setFlash(c, fmt.Sprintf("Dataset %q created. Add its first record below.", created.Name))
			return redirect(c, "/datasets/"+created.ID)
		}
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderDatasetForm(c, fiber.StatusUnprocessableEntity, nil, f, relabelDataset(fields))
	}
	return err
}

// handleDatasetShow handles GET /datasets/:id.
func (s *Server) handleDatasetShow(c *fiber.Ctx) error {
	d, err := s.store.FindDataset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.renderDatasetShow(c, fiber.StatusOK, d, recordForm{}, nil, "")
}

// handleDatasetEdit handles GET /datasets/:id/edit.
func (s *Server) handleDatasetEdit(c *fiber.Ctx) error {
	d, err := s.store.FindDataset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.renderDatasetForm(c, fiber.StatusOK, d, datasetToForm(d), nil)
}

// handleDatasetUpdate handles POST /datasets/:id.
func (s *Server) handleDatasetUpdate(c *fiber.Ctx) error {
	cur, err := s.store.FindDataset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	var f datasetForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	// Start from the stored dataset: fields the form does not show (alias,
	// store, reranker, separators) are kept, and visibility when not sent.
	d := *cur
	err = f.apply(&d)
	if err == nil {
		_, err = s.store.UpdateDataset(c.UserContext(), d)
		if err == nil {
			setFlash(c, "Dataset saved.")
			return redirect(c, "/datasets/"+cur.ID)
		}
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderDatasetForm(c, fiber.StatusUnprocessableEntity, cur, f, relabelDataset(fields))
	}
	return err
}

// handleDatasetDeleteConfirm handles GET /datasets/:id/delete.
func (s *Server) handleDatasetDeleteConfirm(c *fiber.Ctx) error {
	ctx := c.UserContext()
	d, err := s.store.FindDataset(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	n, err := s.store.CountRecords(ctx, d.ID)
	if err != nil {
		return err
	}
	bots, err := s.store.BotsUsingDataset(ctx, d.ID)
	if err != nil {
		return err
	}
	body := []string{fmt.Sprintf("The dataset and its %s will be deleted. This cannot be undone.", recordsPhrase(n))}
	body = append(body, datasetUsedBy(bots))
	body = append(body, "Conversations configured with this dataset directly keep their messages but no longer retrieve from it.")
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Delete "+d.Name, "datasets"), Heading: fmt.Sprintf("Delete dataset %q?", d.Name),
		Body: body, Action: "/datasets/" + d.ID + "/delete", Button: "Delete dataset", Cancel: "/datasets/" + d.ID,
	})
}

// recordsPhrase is "1 record" or "3 records".
func recordsPhrase(n int64) string {
	if n == 1 {
		return "1 record"
	}
	return fmt.Sprintf("%d records", n)
}

// datasetUsedBy names the bots a dataset is attached to, for the delete confirmation.
func datasetUsedBy(bots []models.BotRef) string {
	if len(bots) == 0 {
		return "No bot uses it."
	}
	names := make([]string, len(bots))
	for i, b := range bots {
		names[i] = b.Name
		if names[i] == "" {
			names[i] = "(unnamed " + b.ID + ")"
		}
	}
	list := strings.Join(names, ", ")
	if len(bots) == 1 {
		return "It is used by bot " + list + ": deleting detaches it from that bot."
	}
	return "It is used by bots " + list + ": deleting detaches it from them."
}

// handleDatasetDelete handles POST /datasets/:id/delete.
func (s *Server) handleDatasetDelete(c *fiber.Ctx) error {
	d, err := s.store.FindDataset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteDataset(c.UserContext(), d.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Dataset %q deleted.", d.Name))
	return redirect(c, "/datasets")
}

// apply checks the form and copies it onto r, returning every field's message at once.
func (f *recordForm) apply(r *models.DatasetRecord) error {
	f.Text = strings.TrimSpace(f.Text)
	f.Source = strings.TrimSpace(f.Source)
	errs := map[string]string{}
	if err := models.Validate(f); err != nil {
		fields := models.ErrorFields(err)
		if fields == nil {
			return err
		}
		for k, v := range fields {
			errs[k] = v
		}
	}
	meta, err := models.ParseMeta("meta", f.Meta)
	if err != nil {
		for k, v := range models.ErrorFields(err) {
			errs[k] = v
		}
	}
	if len(errs) > 0 {
		return &models.Error{Code: models.CodeInvalid, Message: "Please correct the fields marked below.", Fields: errs}
	}
	r.Text, r.Source, r.Meta = f.Text, f.Source, meta
	return nil
}

// handleRecordCreate handles POST /datasets/:id/records.
func (s *Server) handleRecordCreate(c *fiber.Ctx) error {
	d, err := s.store.FindDataset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	var f recordForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	r := models.DatasetRecord{DatasetID: d.ID}
	err = f.apply(&r)
	if err == nil {
		_, err = s.store.CreateRecord(c.UserContext(), r)
		if err == nil {
			setFlash(c, "Record added.")
			return redirect(c, "/datasets/"+d.ID)
		}
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderDatasetShow(c, fiber.StatusUnprocessableEntity, d, f, fields, "")
	}
	return err
}

// findDatasetRecord loads the dataset and the record of the URL; a record of another
// dataset is not found.
func (s *Server) findDatasetRecord(c *fiber.Ctx) (*models.Dataset, *models.DatasetRecord, error) {
	d, err := s.store.FindDataset(c.UserContext(), c.Params("id"))
	if err != nil {
		return nil, nil, err
	}
	r, err := s.store.FindRecord(c.UserContext(), d.ID, c.Params("recordId"))
	if err != nil {
		return nil, nil, err
	}
	return d, r, nil
}

func (s *Server) renderRecordForm(c *fiber.Ctx, status int, d *models.Dataset, r *models.DatasetRecord, f recordForm, errs map[string]string) error {
	return s.render(c, status, tplRecordForm, recordFormPage{Page: s.page(c, "Edit record in "+d.Name, "datasets"),
		Dataset: d, Record: r, Form: f, Errors: errs})
}

// handleRecordEdit handles GET /datasets/:id/records/:recordId/edit.
func (s *Server) handleRecordEdit(c *fiber.Ctx) error {
	d, r, err := s.findDatasetRecord(c)
	if err != nil {
		return err
	}
	return s.renderRecordForm(c, fiber.StatusOK, d, r, recordForm{Text: r.Text, Source: r.Source, Meta: r.Meta.String()}, nil)
}

// handleRecordUpdate handles POST /datasets/:id/records/:recordId.
func (s *Server) handleRecordUpdate(c *fiber.Ctx) error {
	d, cur, err := s.findDatasetRecord(c)
	if err != nil {
		return err
	}
	var f recordForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	r := *cur
	err = f.apply(&r)
	if err == nil {
		_, err = s.store.UpdateRecord(c.UserContext(), r)
		if err == nil {
			setFlash(c, "Record saved.")
			return redirect(c, "/datasets/"+d.ID)
		}
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderRecordForm(c, fiber.StatusUnprocessableEntity, d, cur, f, fields)
	}
	return err
}

// handleRecordDeleteConfirm handles GET /datasets/:id/records/:recordId/delete.
func (s *Server) handleRecordDeleteConfirm(c *fiber.Ctx) error {
	d, r, err := s.findDatasetRecord(c)
	if err != nil {
		return err
	}
	text := []rune(r.Text)
	if len(text) > 200 {
		text = append(text[:200], '…')
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Delete record", "datasets"), Heading: fmt.Sprintf("Delete this record from %q?", d.Name),
		Body: []string{"“" + string(text) + "”",
			"Bots using this dataset will no longer retrieve it. This cannot be undone."},
		Action: "/datasets/" + d.ID + "/records/" + r.ID + "/delete", Button: "Delete record", Cancel: "/datasets/" + d.ID,
	})
}

// handleRecordDelete handles POST /datasets/:id/records/:recordId/delete.
func (s *Server) handleRecordDelete(c *fiber.Ctx) error {
	d, err := s.store.FindDataset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteRecord(c.UserContext(), d.ID, c.Params("recordId")); err != nil {
		return err
	}
	setFlash(c, "Record deleted.")
	return redirect(c, "/datasets/"+d.ID)
}
