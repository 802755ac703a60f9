package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v5"

	"zhengzhao/internal/limits"
	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/registry/importer"
)

// Batch import of existing licenses on the console. The file is read by
// registry/importer, the same code `zhengzhao import` and POST
// /api/v1/import use: CSV or JSON Lines, Chinese or English headers,
// UTF-8 or GB18030. A job runs in the background in batches; its counts
// and its first limits.ImportErrorsKept row errors are kept in the store
// after each batch, so its page survives a restart. Every row carries a
// stable request key, so running the same file again issues nothing
// twice; a bad row is reported and never stops the good ones.

// importBatchRows is the console's batch: small enough that the page's
// counts move often.
const importBatchRows = 100

// importHeader is the header of the template for type t: its Chinese
// column labels.
func importHeader(t license.Type) []string { return importer.Header(t) }

// importJobs are the jobs running in this process. A job in the store that
// is not finished, not running here and not saved for importStale (a
// running job saves after every batch, on whichever instance runs it) was
// interrupted: its server stopped.
type importJobs struct {
	mu      sync.Mutex
	running map[string]time.Time // job id → its last batch
}

const importStale = 2 * time.Minute

func newImportJobs() *importJobs { return &importJobs{running: map[string]time.Time{}} }

func (js *importJobs) touch(id string, alive bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if alive {
		js.running[id] = time.Now()
	} else {
		delete(js.running, id)
	}
}

func (js *importJobs) isRunning(id string) bool {
	js.mu.Lock()
	defer js.mu.Unlock()
	_, ok := js.running[id]
	return ok
}

// importProgress is what the progress endpoint answers.
type importProgress struct {
	Total    int     `json:"total"`
	Done     int     `json:"done"`
	Issued   int     `json:"issued"`
	Existing int     `json:"existing"`
	Failed   int     `json:"failed"`
	Kept     int     `json:"kept"`   // row errors kept (a row may have several)
	Unkept   int     `json:"unkept"` // failed rows whose errors were not kept
	Finished bool    `json:"finished"`
	Seconds  float64 `json:"seconds"`
	// Interrupted: the job stopped before its end (the server stopped);
	// importing the file again finishes it, issuing nothing twice.
	Interrupted bool `json:"interrupted,omitempty"`
}

func (s *Server) progressOf(ctx context.Context, j *registry.ImportJob) (importProgress, error) {
	kept, keptRows, err := s.reg.ImportErrorCounts(ctx, j.ID)
	if err != nil {
		return importProgress{}, err
	}
	p := importProgress{Total: j.Total, Done: j.Done, Issued: j.Issued, Existing: j.Existing, Failed: j.Failed, Kept: kept,
		Unkept: max(0, j.Failed-keptRows), Finished: !j.Finished.IsZero()}
	end := j.Finished
	if end.IsZero() {
		end = s.now()
		if !s.web.imports.isRunning(j.ID) && s.now().Sub(j.Updated) > importStale {
			p.Interrupted, p.Finished = true, true
		}
	}
	p.Seconds = end.Sub(j.Started).Seconds()
	return p, nil
}

type importPageData struct {
	Types    []license.Type
	Expected []string // the expected header, after a wrong one
	Got      []string
	Err      string
}

func (d importPageData) flash() (string, string) { return "", d.Err }

func (s *Server) importPage(c *echo.Context) error {
	d, err := s.department(c)
	if err != nil {
		return s.webError(c, err)
	}
	return s.page(c, http.StatusOK, "console_import", "批量导入", importPageData{Types: s.deptTypes(d)})
}

// importTemplate answers the CSV template: a UTF-8 byte-order mark (Excel
// then reads it as UTF-8), the Chinese header and one example row.
func (s *Server) importTemplate(c *echo.Context) error {
	d, t, err := s.formType(c)
	if err != nil {
		return s.webError(c, err)
	}
	var buf bytes.Buffer
	if err := importer.WriteTemplate(&buf, t, t.Example(d.USCC, d.Name)); err != nil {
		return s.webError(c, err)
	}
	setFilename(c, "attachment", "import-"+t.Code+".csv")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

func (s *Server) importStart(c *echo.Context) error {
	d, err := s.department(c)
	if err != nil {
		return s.webError(c, err)
	}
	data := importPageData{Types: s.deptTypes(d)}
	t, ok := s.reg.Catalog().Type(c.FormValue("type"))
	if !ok || !slices.Contains(d.Types, t.Code) {
		data.Err = "请选择本部门签发的证照类型。"
		return s.page(c, http.StatusBadRequest, "console_import", "批量导入", data)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		data.Err = "请选择要导入的 CSV 文件。"
		return s.page(c, http.StatusBadRequest, "console_import", "批量导入", data)
	}
	f, err := fh.Open()
	if err != nil {
		return s.webError(c, err)
	}
	defer f.Close()
	rd, err := importer.NewReader(io.LimitReader(f, MaxUpload), importer.Options{Department: d.USCC, Type: t, Format: importer.FormatOf(fh.Filename)})
	var he *importer.HeaderError
	var le *limits.ExceededError
	switch {
	case errors.As(err, &he):
		data.Err = he.Message + "。未导入任何一行。第一行应为下面的表头（列的顺序不限，可选列可省略）。"
		data.Expected, data.Got = importer.Header(t), he.Header
		return s.page(c, http.StatusBadRequest, "console_import", "批量导入", data)
	case err != nil:
		return s.webError(c, err)
	}
	var rows importer.Rows
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.As(err, &le) {
			data.Err = le.Message + "，未导入任何一行。"
			return s.page(c, http.StatusRequestEntityTooLarge, "console_import", "批量导入", data)
		}
		if err != nil {
			return s.webError(c, err)
		}
		rows = append(rows, row)
	}
	actor := account(c).Actor()
	job := &registry.ImportJob{ID: newRequestKey()[4:], Department: d.USCC, TypeCode: t.Code, TypeName: t.Name, FileName: fh.Filename,
		Actor: actor.Name, Encoding: string(rd.Encoding()), Started: s.now(), Total: len(rows)}
	job.Updated = job.Started
	if err := s.reg.SaveImportJob(c.Request().Context(), job); err != nil {
		return s.webError(c, err)
	}
	s.web.imports.touch(job.ID, true)
	s.log.Info("import started", "job", job.ID, "department", d.USCC, "type", t.Code, "rows", job.Total, "encoding", job.Encoding)
	go s.runImport(job, t, actor, rows)
	return c.Redirect(http.StatusSeeOther, "/console/import/"+job.ID)
}

// runImport issues the rows of job in batches, keeping its counts and its
// first row errors in the store after each batch.
func (s *Server) runImport(job *registry.ImportJob, t license.Type, actor registry.Actor, rows importer.Rows) {
	ctx := context.Background()
	defer s.web.imports.touch(job.ID, false)
	kept := 0
	p, err := importer.Run(ctx, &rows, importer.Config{
		BatchSize: importBatchRows,
		// Two batches at once: one is signed while the other is anchored
		// and stored, and the server keeps a core's worth for its pages.
		InFlight:  2,
		OneActive: t.OneActive,
		Issue:     importer.Local(s.reg, actor, t),
		RowErrors: func(errs []importer.RowError) error {
			n := min(len(errs), limits.ImportErrorsKept-kept)
			if n <= 0 {
				return nil
			}
			if err := s.reg.AddImportErrors(ctx, job.ID, kept, jobErrors(errs[:n])); err != nil {
				return err
			}
			kept += n
			return nil
		},
		OnBatch: func(p importer.Progress) error {
			s.metrics.issued.Add(float64(p.Issued - job.Issued))
			job.Done, job.Issued, job.Existing, job.Failed, job.Updated = p.Rows, p.Issued, p.Existing, p.Failed, s.now()
			s.web.imports.touch(job.ID, true)
			return s.reg.SaveImportJob(ctx, job)
		},
	})
	if err != nil {
		s.log.Error("import stopped", "job", job.ID, "rows_done", p.Rows, "err", err)
		if kept < limits.ImportErrorsKept {
			_ = s.reg.AddImportErrors(ctx, job.ID, kept, []registry.ImportJobError{{Row: 0, Rule: "stopped",
				Message: fmt.Sprintf("导入在第 %d 行之后中止（系统错误，已记录日志）；重新导入同一文件即可继续，已签发的证照不会重复签发", p.Rows)}})
		}
	}
	job.Finished = s.now()
	job.Updated = job.Finished
	if err := s.reg.SaveImportJob(ctx, job); err != nil {
		s.log.Error("import job not saved", "job", job.ID, "err", err)
	}
	s.log.Info("import finished", "job", job.ID, "issued", p.Issued, "existing", p.Existing, "failed", p.Failed, "seconds", job.Finished.Sub(job.Started).Seconds())
}

func jobErrors(errs []importer.RowError) []registry.ImportJobError {
	out := make([]registry.ImportJobError, len(errs))
	for i, e := range errs {
		out[i] = registry.ImportJobError{Row: e.Row, Field: e.Field, Column: e.Column, Rule: e.Rule, Message: e.Message}
	}
	return out
}

func (s *Server) officerJob(c *echo.Context) (*registry.ImportJob, error) {
	j, err := s.reg.ImportJob(c.Request().Context(), c.Param("job"))
	if err != nil {
		return nil, err
	}
	if j.Department != account(c).Department {
		return nil, fmt.Errorf("import job %s: %w", c.Param("job"), registry.ErrNotFound)
	}
	return j, nil
}

// importJobData is the job page: its progress and one page of its kept
// row errors (limits.ImportErrorsPage a page).
type importJobData struct {
	Job        *registry.ImportJob
	Encoding   string
	P          importProgress
	Errors     []registry.ImportJobError
	Page       int // 1-based
	Pages      int
	Prev, Next int // neighbouring pages, 0 for none
	Unkept     int // failed rows whose errors were not kept
	ErrorsKept int
}

func (s *Server) importJobPage(c *echo.Context) error {
	ctx := c.Request().Context()
	j, err := s.officerJob(c)
	if err != nil {
		return s.webError(c, err)
	}
	p, err := s.progressOf(ctx, j)
	if err != nil {
		return s.webError(c, err)
	}
	d := importJobData{Job: j, Encoding: importer.Encoding(j.Encoding).Label(), P: p, Page: 1, ErrorsKept: limits.ImportErrorsKept}
	d.Pages = max(1, (p.Kept+limits.ImportErrorsPage-1)/limits.ImportErrorsPage)
	if n, err := strconv.Atoi(c.QueryParam("page")); err == nil && n >= 1 && n <= d.Pages {
		d.Page = n
	}
	if d.Errors, err = s.reg.ImportErrors(ctx, j.ID, (d.Page-1)*limits.ImportErrorsPage, limits.ImportErrorsPage); err != nil {
		return s.webError(c, err)
	}
	d.Unkept = p.Unkept
	if d.Page > 1 {
		d.Prev = d.Page - 1
	}
	if d.Page < d.Pages {
		d.Next = d.Page + 1
	}
	return s.page(c, http.StatusOK, "console_import_job", "导入进度", d)
}

func (s *Server) importProgress(c *echo.Context) error {
	j, err := s.officerJob(c)
	if err != nil {
		return err
	}
	p, err := s.progressOf(c.Request().Context(), j)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// importErrorsCSV streams the kept row errors as CSV (importer's error
// file: a UTF-8 BOM, then 行号, 列, 错误, 字段, 规则), read from the store
// a page at a time, with a last line saying how many more were counted
// but not kept.
func (s *Server) importErrorsCSV(c *echo.Context) error {
	ctx := c.Request().Context()
	j, err := s.officerJob(c)
	if err != nil {
		return s.webError(c, err)
	}
	p, err := s.progressOf(ctx, j)
	if err != nil {
		return s.webError(c, err)
	}
	h := c.Response().Header()
	setFilename(c, "attachment", "import-errors-"+j.ID+".csv")
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	c.Response().WriteHeader(http.StatusOK)
	w, err := importer.NewErrorWriter(c.Response())
	if err != nil {
		return err
	}
	for off := 0; off < p.Kept; off += limits.ImportErrorsPage {
		errs, err := s.reg.ImportErrors(ctx, j.ID, off, limits.ImportErrorsPage)
		if err != nil {
			return err
		}
		for _, e := range errs {
			if err := w.Write(importer.RowError{Row: e.Row, Field: e.Field, Column: e.Column, Rule: e.Rule, Message: e.Message}); err != nil {
				return err
			}
		}
	}
	if p.Unkept > 0 {
		if err := w.Write(importer.RowError{Rule: "unkept", Message: fmt.Sprintf("另有 %d 行的错误未保存：每个导入任务只保存前 %d 条错误。请修正以上各行后重新导入。", p.Unkept, limits.ImportErrorsKept)}); err != nil {
			return err
		}
	}
	return w.Flush()
}
