package handlers

import (
	"errors"
	"fmt"
	"mime/multipart"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/app/importer"
	"parley/models"
)

// Templates of the import: the page, and the form alone, which htmx swaps in
// after a failed upload.
const (
	tplDatasetImport     = "pages/datasets/import"
	tplDatasetImportForm = "partials/import_form"
)

// importSlack is the part of the request body kept for the multipart framing
// and the form's other fields: a file may use the rest of the body limit.
const importSlack = 64 << 10

// importForm is the import form's fields other than the file, and the
// preview's choices (from its query, or the body of its Import button).
// Numbers are read as text, so a typo is a message next to its field.
type importForm struct {
	Format string `form:"format" query:"format"`
	// TextFrom is "column" (TextColumn, the default) or "template" (TextTemplate).
	TextFrom     string `form:"textFrom" query:"textFrom"`
	TextColumn   string `form:"textColumn" query:"textColumn" validate:"max=200"`
	TextTemplate string `form:"textTemplate" query:"textTemplate" validate:"max=4000"`
	SourceColumn string `form:"sourceColumn" query:"sourceColumn" validate:"max=200"`
	// Meta are the CSV columns kept in meta, read when Chosen is "1" (the
	// preview's form, which says so: with it, no Meta is no meta and no
	// SourceColumn no source, rather than the defaults).
	Meta      []string `form:"meta" query:"meta" validate:"max=200,dive,max=200"`
	Chosen    string   `form:"chosen" query:"chosen"`
	ChunkSize string   `form:"chunkSize" query:"chunkSize"`
	Overlap   string   `form:"overlap" query:"overlap"`
}

// Where a record's text comes from, in the preview's form.
const (
	textFromColumn   = "column"
	textFromTemplate = "template"
)

// importFormat is one choice of the format menu.
type importFormat struct {
	Value, Label string
}

// importFormats are the format menu's choices; "" reads the file's extension.
var importFormats = []importFormat{
	{"", "From the file name (.txt, .md, .csv, .json, .jsonl)"},
	{importer.FormatText, "Plain text"},
	{importer.FormatMarkdown, "Markdown"},
	{importer.FormatCSV, "CSV"},
	{importer.FormatJSON, "JSON (an array of objects)"},
	{importer.FormatJSONL, "JSON Lines (one object per line)"},
}

// importOptionFields maps importer options to the form fields that set them.
var importOptionFields = map[string]string{
	"Format":       "format",
	"TextColumn":   "textColumn",
	"TextTemplate": "textTemplate",
	"SourceColumn": "sourceColumn",
	"MetaColumns":  "meta",
	"MaxChars":     "chunkSize",
	"OverlapChars": "overlap",
}

// importView is what the import form shows.
type importView struct {
	Dataset  *models.Dataset
	Form     importForm
	Errors   map[string]string
	Formats  []importFormat
	MaxBytes int64
	MaxSize  string // MaxBytes for people, e.g. "3.9 MB"
}

// importPage is the import page's data, and the form fragment's (which uses
// only the CSRF token of its Page).
type importPage struct {
	Page
	importView
}

// importMaxBytes is the largest file an import accepts: the importer's own
// limit, or less when the server's body limit is lower.
func (s *Server) importMaxBytes() int64 {
	limit := int64(s.cfg.BodyLimit)
	limit = max(limit-importSlack, limit/2)
	return min(int64(importer.DefaultMaxBytes), limit)
}

// newImportForm is the form as it first shows, with the default chunking.
func newImportForm() importForm {
	return importForm{ChunkSize: strconv.Itoa(importer.DefaultMaxChars), Overlap: strconv.Itoa(importer.DefaultOverlapChars)}
}

// renderImport renders the import form: a fragment for htmx, a page otherwise.
func (s *Server) renderImport(c *fiber.Ctx, status int, d *models.Dataset, f importForm, errs map[string]string) error {
	limit := s.importMaxBytes()
	v := importView{Dataset: d, Form: f, Errors: errs, Formats: importFormats, MaxBytes: limit, MaxSize: importer.FormatBytes(limit)}
	if c.Get("HX-Request") == "true" {
		return s.render(c, status, tplDatasetImportForm, importPage{Page: Page{CSRF: csrfToken(c)}, importView: v})
	}
	return s.render(c, status, tplDatasetImport, importPage{Page: s.page(c, "Import records into "+d.Name, "datasets"), importView: v})
}

// handleDatasetImportForm handles GET /datasets/:id/import.
func (s *Server) handleDatasetImportForm(c *fiber.Ctx) error {
	d, err := s.store.FindDataset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.renderImport(c, fiber.StatusOK, d, newImportForm(), nil)
}

// options checks the form and returns the importer's options, or the
// messages of the fields at fault.
func (f *importForm) options() (importer.Options, map[string]string) {
	f.Format = strings.TrimSpace(f.Format)
	f.TextFrom = strings.TrimSpace(f.TextFrom)
	f.TextColumn = strings.TrimSpace(f.TextColumn)
	f.SourceColumn = strings.TrimSpace(f.SourceColumn)
	errs := map[string]string{}
	if err := models.Validate(f); err != nil {
		for k, v := range models.ErrorFields(err) {
			errs[k] = v
		}
	}
	known := false
	for _, x := range importFormats {
		known = known || x.Value == f.Format
	}
	if !known {
		errs["format"] = "Choose one of the formats listed."
	}
	opts := importer.Options{Format: f.Format, TextColumn: f.TextColumn, SourceColumn: f.SourceColumn}
	switch f.TextFrom {
	case "", textFromColumn:
	case textFromTemplate:
		opts.TextTemplate = f.TextTemplate
		if strings.TrimSpace(f.TextTemplate) == "" {
			errs["textTemplate"] = "Write the template, such as “Q: {question}” and “A: {answer}” on two lines, or take the text from one column."
		}
	default:
		errs["textFrom"] = "Choose one column or a template."
	}
	if f.Chosen == "1" {
		opts.ColumnsChosen, opts.MetaColumns = true, f.Meta
	}
	opts.MaxChars = importNumber(errs, "chunkSize", f.ChunkSize, importer.DefaultMaxChars, importer.MinMaxChars, importer.MaxTextChars,
		"Max chunk size")
	if _, bad := errs["chunkSize"]; !bad {
		opts.OverlapChars = importNumber(errs, "overlap", f.Overlap, min(importer.DefaultOverlapChars, opts.MaxChars/2), 0, opts.MaxChars/2,
			"Overlap")
		if opts.OverlapChars == 0 {
			opts.OverlapChars = -1 // the importer reads 0 as its default
		}
	}
	return opts, errs
}

// importNumber reads a whole number field (blank: def) that must lie in lo..hi.
func importNumber(errs map[string]string, field, s string, def, lo, hi int, label string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		errs[field] = fmt.Sprintf("%s must be a whole number from %d to %d.", label, lo, hi)
		return def
	}
	return n
}

// handleDatasetImport handles POST /datasets/:id/import: a multipart upload
// of one file, parsed into records and written all at once, as one import.
// A malformed file is answered with the line or row at fault and writes
// nothing; the form keeps the choices made (a browser keeps the chosen file
// only with htmx). The import page's Preview button posts the same form to
// POST /datasets/:id/uploads instead.
func (s *Server) handleDatasetImport(c *fiber.Ctx) error {
	ctx := c.UserContext()
	up, err := s.openImportUpload(c)
	if up == nil || err != nil {
		return err // the form is answered, with what is wrong
	}
	defer up.file.Close()
	d, f, opts, errs, name, file := up.dataset, up.form, up.opts, up.errs, up.name, up.file
	var status int
	opts.MaxBytes = s.importMaxBytes()
	parsed, err := importer.Parse(name, file, opts)
	if err != nil {
		if status, err = s.importError(err, errs); err != nil {
			return err
		}
		errs["form"] = fmt.Sprintf("Nothing was imported from %s. Correct what is marked below and import it again.", name)
		return s.renderImport(c, status, d, f, errs)
	}

	format := opts.Format
	if format == "" {
		format, _ = importer.FormatOf(name) // Parse has read it by this format
	}
	imp, err := s.store.ImportBatch(ctx, models.DatasetImport{DatasetID: d.ID, FileName: name, Format: format}, importedRecords(parsed))
	if err != nil {
		if models.ErrorCode(err) != models.CodeInvalid {
			return err
		}
		errs["file"] = models.ErrorMessage(err)
		errs["form"] = fmt.Sprintf("Nothing was imported from %s. Correct what is marked below and import it again.", name)
		return s.renderImport(c, fiber.StatusUnprocessableEntity, d, f, errs)
	}
	setFlash(c, importedFlash(imp))
	return redirect(c, "/datasets/"+d.ID)
}

// importUpload is a posted import form with its file opened.
type importUpload struct {
	dataset *models.Dataset
	form    importForm
	opts    importer.Options
	errs    map[string]string
	name    string
	file    multipart.File
}

// openImportUpload parses a posted import form (the import's and the
// preview's) and opens its file. A wrong form or file is answered with the
// form and what is wrong: then it returns nil and the answer's error.
func (s *Server) openImportUpload(c *fiber.Ctx) (*importUpload, error) {
	d, err := s.store.FindDataset(c.UserContext(), c.Params("id"))
	if err != nil {
		return nil, err
	}
	var f importForm
	if err := c.BodyParser(&f); err != nil {
		return nil, badForm(err)
	}
	opts, errs := f.options()
	fh, status := s.uploadedFile(c, errs)
	if len(errs) > 0 {
		return nil, s.renderImport(c, status, d, f, errs)
	}
	file, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("import: open upload: %w", err)
	}
	return &importUpload{dataset: d, form: f, opts: opts, errs: errs, name: importer.BaseName(fh.Filename), file: file}, nil
}

// importedRecords turns the importer's records into the store's.
func importedRecords(parsed []importer.Record) []models.DatasetRecord {
	recs := make([]models.DatasetRecord, len(parsed))
	for i, r := range parsed {
		recs[i] = models.DatasetRecord{Text: r.Text, Source: r.Source, Meta: models.Meta(r.Meta)}
	}
	return recs
}

// importedFlash is the message after an import, saying how to undo it.
func importedFlash(imp *models.DatasetImport) string {
	return fmt.Sprintf("Imported %s from %s. To take them out again, undo the import under Imports.", recordsPhrase(int64(imp.RecordCount)), imp.FileName)
}

// uploadedFile returns the form's file, or notes in errs why there is none
// to read (with the status to answer: 413 for a file over the limit).
func (s *Server) uploadedFile(c *fiber.Ctx, errs map[string]string) (*multipart.FileHeader, int) {
	maxBytes := s.importMaxBytes()
	fh, err := c.FormFile("file")
	switch {
	case err != nil || fh.Filename == "":
		errs["file"] = "Choose a file to import."
	case fh.Size > maxBytes:
		errs["file"] = fmt.Sprintf("File too large (max %s): %s is %s.", importer.FormatBytes(maxBytes), importer.BaseName(fh.Filename), importer.FormatBytes(fh.Size))
		return fh, fiber.StatusRequestEntityTooLarge
	}
	return fh, fiber.StatusUnprocessableEntity
}

// importError notes what the importer found wrong next to the field at
// fault (the file, or an option) and returns the status to answer with; an
// error that is neither the file's nor the options' fault is returned.
func (s *Server) importError(err error, errs map[string]string) (int, error) {
	var (
		pe *importer.ParseError
		oe *importer.OptionError
	)
	switch {
	case errors.As(err, &oe):
		field := importOptionFields[oe.Option]
		if field == "" {
			field = "file"
		}
		errs[field] = importMessage(oe.Message)
	case errors.As(err, &pe):
		errs["file"] = importMessage(pe.Error())
		if errors.Is(err, importer.ErrTooLarge) {
			errs["file"] = fmt.Sprintf("File too large (max %s).", importer.FormatBytes(s.importMaxBytes()))
			return fiber.StatusRequestEntityTooLarge, nil
		}
	default:
		return 0, err
	}
	return fiber.StatusUnprocessableEntity, nil
}

// importMessage starts a message with a capital letter and ends it with a full stop.
func importMessage(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
