package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"zhengzhao/internal/limits"
	"zhengzhao/license"
	"zhengzhao/registry"
)

// Batch import of existing licenses from CSV. A job runs in the background;
// the page polls its progress. Every row carries a request key derived from
// its content, so running the same file again issues nothing twice; a bad
// row is reported and never stops the good ones.

// importCore are the CSV columns before the type's own field keys.
var importCore = []string{"holder", "holderCode", "jurisdiction", "number", "issueDate", "validFrom", "validUntil"}

// importHeader is the header a CSV for type t must have.
func importHeader(t license.Type) []string {
	h := append([]string{}, importCore...)
	for _, f := range t.Fields {
		h = append(h, f.Key)
	}
	return h
}

// importWorkers issue rows concurrently so the store's group commit and the
// ledger batch them.
const importWorkers = 64

type rowError struct {
	Row     int    `json:"row"` // 1-based line number in the file, header = 1
	Field   string `json:"field"`
	Message string `json:"message"`
}

type importJob struct {
	ID         string
	Department string
	TypeCode   string
	TypeName   string
	FileName   string
	Started    time.Time

	mu       sync.Mutex
	total    int
	done     int
	issued   int
	existing int
	errors   []rowError // the first limits.ImportErrorsKept, by row once finished
	failed   int        // every row error, kept or not
	finished time.Time
}

// addErrors records row errors: all are counted, the first
// limits.ImportErrorsKept are kept, each message cut to
// limits.ImportMessage bytes, so a file of bad rows cannot fill memory. The
// caller holds j.mu.
func (j *importJob) addErrors(errs ...rowError) {
	j.failed += len(errs)
	for _, e := range errs {
		if len(j.errors) >= limits.ImportErrorsKept {
			return
		}
		if len(e.Message) > limits.ImportMessage {
			cut := limits.ImportMessage
			for cut > 0 && !utf8.RuneStart(e.Message[cut]) {
				cut--
			}
			e.Message = e.Message[:cut] + "…"
		}
		j.errors = append(j.errors, e)
	}
}

// importProgress is what the progress endpoint answers.
type importProgress struct {
	Total    int        `json:"total"`
	Done     int        `json:"done"`
	Issued   int        `json:"issued"`
	Existing int        `json:"existing"`
	Failed   int        `json:"failed"`
	Kept     int        `json:"kept"` // row errors kept; Failed - Kept were counted only
	Finished bool       `json:"finished"`
	Seconds  float64    `json:"seconds"`
	Errors   []rowError `json:"errors,omitempty"`
}

func (j *importJob) progress(withErrors bool) importProgress {
	j.mu.Lock()
	defer j.mu.Unlock()
	p := importProgress{Total: j.total, Done: j.done, Issued: j.issued, Existing: j.existing, Failed: j.failed, Kept: len(j.errors), Finished: !j.finished.IsZero()}
	end := j.finished
	if end.IsZero() {
		end = time.Now()
	}
	p.Seconds = end.Sub(j.Started).Seconds()
	if withErrors {
		p.Errors = append([]rowError{}, j.errors...)
	}
	return p
}

type importJobs struct {
	mu   sync.Mutex
	jobs map[string]*importJob
}

func newImportJobs() *importJobs { return &importJobs{jobs: map[string]*importJob{}} }

func (js *importJobs) add(j *importJob) {
	js.mu.Lock()
	defer js.mu.Unlock()
	// Keep the latest 100 jobs.
	if len(js.jobs) >= 100 {
		var oldest *importJob
		for _, o := range js.jobs {
			if oldest == nil || o.Started.Before(oldest.Started) {
				oldest = o
			}
		}
		delete(js.jobs, oldest.ID)
	}
	js.jobs[j.ID] = j
}

func (js *importJobs) get(id string) *importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.jobs[id]
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

// importTemplate answers a CSV with the header and one example row.
func (s *Server) importTemplate(c *echo.Context) error {
	d, t, err := s.formType(c)
	if err != nil {
		return s.webError(c, err)
	}
	ex := t.Example(d.USCC, d.Name)
	row := []string{ex.Holder, ex.HolderCode, ex.Jurisdiction, "", "", "", ""}
	for _, f := range t.Fields {
		row = append(row, ex.Fields[f.Key])
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(importHeader(t))
	_ = w.Write(row)
	w.Flush()
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
	raw, err := io.ReadAll(f)
	if err != nil {
		return s.webError(c, err)
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")) // a BOM from Excel
	r := csv.NewReader(bytes.NewReader(raw))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	want := importHeader(t)
	if err != nil || strings.Join(header, ",") != strings.Join(want, ",") {
		data.Err = "CSV 表头不符合「" + t.Name + "」的格式，未导入任何一行。第一行应为下面的表头。"
		data.Expected, data.Got = want, header
		return s.page(c, http.StatusBadRequest, "console_import", "批量导入", data)
	}
	job := &importJob{ID: newRequestKey()[4:], Department: d.USCC, TypeCode: t.Code, TypeName: t.Name, FileName: fh.Filename, Started: time.Now()}
	rows := make(chan []string, 256)
	var rowsRead [][]string
	line := 1
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.Err == csv.ErrFieldCount {
				rec = nil
			} else {
				job.addErrors(rowError{Row: line, Field: "", Message: "CSV 格式错误：" + err.Error()})
				continue
			}
		}
		rowsRead = append(rowsRead, append([]string{fmt.Sprint(line)}, rec...))
	}
	job.total = len(rowsRead) + job.failed
	job.done = job.failed
	s.web.imports.add(job)
	actor := account(c).Actor()
	s.log.Info("import started", "job", job.ID, "department", d.USCC, "type", t.Code, "rows", job.total)
	go func() {
		for _, rec := range rowsRead {
			rows <- rec
		}
		close(rows)
	}()
	go s.runImport(job, t, actor, rows)
	return c.Redirect(http.StatusSeeOther, "/console/import/"+job.ID)
}

func (s *Server) runImport(job *importJob, t license.Type, actor registry.Actor, rows <-chan []string) {
	ctx := context.Background()
	header := importHeader(t)
	var wg sync.WaitGroup
	for range importWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rec := range rows {
				var line int
				fmt.Sscan(rec[0], &line)
				errs, existed := s.importRow(ctx, job, t, actor, header, rec[1:])
				job.mu.Lock()
				job.done++
				switch {
				case len(errs) > 0:
					for i := range errs {
						errs[i].Row = line
					}
					job.addErrors(errs...)
				case existed:
					job.existing++
				default:
					job.issued++
				}
				job.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	job.mu.Lock()
	job.finished = time.Now()
	slices.SortStableFunc(job.errors, func(a, b rowError) int { return a.Row - b.Row })
	job.mu.Unlock()
	p := job.progress(false)
	s.log.Info("import finished", "job", job.ID, "issued", p.Issued, "existing", p.Existing, "failed", p.Failed, "seconds", p.Seconds)
}

// importRow issues one row; existed is true when its request key had
// already issued a license (a re-run).
func (s *Server) importRow(ctx context.Context, job *importJob, t license.Type, actor registry.Actor, header, rec []string) ([]rowError, bool) {
	if len(rec) != len(header) {
		return []rowError{{Message: fmt.Sprintf("列数为 %d，应为 %d（与表头一致）", len(rec), len(header))}}, false
	}
	sum := sha256.Sum256([]byte(t.Code + "\x00" + strings.Join(rec, "\x1f")))
	req := registry.IssueRequest{TypeCode: t.Code, Fields: map[string]string{}, RequestKey: "csv-" + hex.EncodeToString(sum[:20])}
	for i, col := range header {
		v := strings.TrimSpace(rec[i])
		switch col {
		case "holder":
			req.Holder = v
		case "holderCode":
			req.HolderCode = strings.ToUpper(v)
		case "jurisdiction":
			req.Jurisdiction = v
		case "number":
			req.Number = v
		case "issueDate":
			req.IssueDate = v
		case "validFrom":
			req.ValidFrom = v
		case "validUntil":
			req.ValidUntil = v
		default:
			if v != "" {
				req.Fields[col] = v
			}
		}
	}
	lic, err := s.reg.Issue(ctx, actor, req)
	if err != nil {
		fes := fieldErrors(err)
		if len(fes) == 0 {
			return []rowError{{Message: err.Error()}}, false
		}
		out := make([]rowError, len(fes))
		for i, fe := range fes {
			out[i] = rowError{Field: strings.TrimPrefix(fe.Field, "fields."), Message: fe.Message}
		}
		return out, false
	}
	if lic.IssuedAt.Before(job.Started) {
		return nil, true
	}
	s.metrics.issued.Inc()
	return nil, false
}

func (s *Server) officerJob(c *echo.Context) (*importJob, error) {
	j := s.web.imports.get(c.Param("job"))
	if j == nil || j.Department != account(c).Department {
		return nil, fmt.Errorf("import job %s: %w", c.Param("job"), registry.ErrNotFound)
	}
	return j, nil
}

// importJobData is the job page: its progress and one page of its kept
// row errors (limits.ImportErrorsPage a page).
type importJobData struct {
	Job        *importJob
	P          importProgress
	Errors     []rowError
	Page       int // 1-based
	Pages      int
	Prev, Next int // neighbouring pages, 0 for none
	Unkept     int // row errors counted but not kept
	ErrorsKept int
}

func (s *Server) importJobPage(c *echo.Context) error {
	j, err := s.officerJob(c)
	if err != nil {
		return s.webError(c, err)
	}
	d := importJobData{Job: j, P: j.progress(false), Page: 1, ErrorsKept: limits.ImportErrorsKept}
	j.mu.Lock()
	d.Pages = max(1, (len(j.errors)+limits.ImportErrorsPage-1)/limits.ImportErrorsPage)
	if n, err := strconv.Atoi(c.QueryParam("page")); err == nil && n >= 1 && n <= d.Pages {
		d.Page = n
	}
	from := (d.Page - 1) * limits.ImportErrorsPage
	d.Errors = slices.Clone(j.errors[min(from, len(j.errors)):min(from+limits.ImportErrorsPage, len(j.errors))])
	d.Unkept = j.failed - len(j.errors)
	j.mu.Unlock()
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
	return c.JSON(http.StatusOK, j.progress(false))
}

// importErrorsCSV streams the kept row errors as CSV, written row by row
// to the response (at most limits.ImportErrorsKept rows), with a last line
// saying how many more were counted but not kept.
func (s *Server) importErrorsCSV(c *echo.Context) error {
	j, err := s.officerJob(c)
	if err != nil {
		return s.webError(c, err)
	}
	j.mu.Lock()
	errs, unkept := slices.Clone(j.errors), j.failed-len(j.errors)
	j.mu.Unlock()
	h := c.Response().Header()
	setFilename(c, "attachment", "import-errors-"+j.ID+".csv")
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	c.Response().WriteHeader(http.StatusOK)
	_, _ = io.WriteString(c.Response(), "\xef\xbb\xbf")
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"行号", "字段", "错误"})
	for _, e := range errs {
		_ = w.Write([]string{strconv.Itoa(e.Row), e.Field, e.Message})
	}
	if unkept > 0 {
		_ = w.Write([]string{"", "", fmt.Sprintf("另有 %d 条错误未保存：每个导入任务只保存前 %d 条（上限 %d）。请修正以上各行后重新导入。", unkept, limits.ImportErrorsKept, limits.ImportErrorsKept)})
	}
	w.Flush()
	return w.Error()
}
