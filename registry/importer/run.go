package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// Result is what issuing one row's request came to.
type Result struct {
	// Identifier is the license issued, or the one an earlier run issued
	// for the row's request key (Existing).
	Identifier string `json:"id,omitempty"`
	// Existing is true when the row's request key had already issued the
	// license: a re-run, nothing new was issued.
	Existing bool `json:"existing,omitempty"`
	// Errs say why the row was not issued.
	Errs []RowError `json:"errors,omitempty"`
}

// IssueFunc issues one batch of rows and answers one Result per row, in
// order. An error means the batch as a whole failed (the ledger, the
// store or the network): nothing of it is reported, the run stops, and a
// later run resumes with it.
type IssueFunc func(ctx context.Context, rows []Row) ([]Result, error)

// Local issues batches through a registry in this process, as actor a,
// with Service.IssueBatch.
func Local(s *registry.Service, a registry.Actor, t license.Type) IssueFunc {
	return func(ctx context.Context, rows []Row) ([]Result, error) {
		reqs := make([]registry.IssueRequest, len(rows))
		for i, r := range rows {
			reqs[i] = r.Request
		}
		start := time.Now()
		res := s.IssueBatch(ctx, a, reqs)
		out := make([]Result, len(rows))
		for i, r := range res {
			if r.Err != nil {
				errs, ok := IssueErrors(rows[i].Line, t, r.Err)
				if !ok {
					return nil, r.Err
				}
				out[i].Errs = errs
				continue
			}
			out[i] = Result{Identifier: r.License.Identifier, Existing: r.License.IssuedAt.Before(start)}
		}
		return out, nil
	}
}

// Progress counts a run's rows.
type Progress struct {
	// Batches is how many batches are done, from the file's start.
	Batches  int `json:"batches"`
	Rows     int `json:"rows"`
	Issued   int `json:"issued"`
	Existing int `json:"existing"`
	Failed   int `json:"failed"`
}

// Source gives rows one at a time, io.EOF after the last (a *Reader, or
// rows read before).
type Source interface {
	Next() (Row, error)
}

// Rows is a Source of rows read before.
type Rows []Row

// Next returns the first row and drops it.
func (r *Rows) Next() (Row, error) {
	if len(*r) == 0 {
		return Row{}, io.EOF
	}
	row := (*r)[0]
	*r = (*r)[1:]
	return row, nil
}

// Config is how Run works through a file.
type Config struct {
	// BatchSize is the rows of one batch; 0 means 500.
	BatchSize int
	// Issue issues a batch.
	Issue IssueFunc
	// Start is the progress of an earlier run of the same file: its
	// Batches batches are read and skipped, and its counts carried on.
	Start Progress
	// RowErrors, when set, is called with each batch's row errors, in
	// row order, before OnBatch.
	RowErrors func([]RowError) error
	// OnBatch, when set, is called after each batch with the progress so
	// far; an error stops the run.
	OnBatch func(Progress) error
}

// Run reads every row of src and issues them in batches: rows that cannot
// be read are reported and never stop the others. It returns the progress
// at its end; an error is a batch that failed as a whole, a source that
// could not be read or a callback's error, and the progress then says
// which batches are done.
func Run(ctx context.Context, src Source, c Config) (Progress, error) {
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	p := c.Start
	skip := p.Batches * c.BatchSize
	for skipped := 0; skipped < skip; skipped++ {
		if _, err := src.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				return p, nil
			}
			return p, err
		}
	}
	batch := make([]Row, 0, c.BatchSize)
	for {
		row, err := src.Next()
		if err != nil && !errors.Is(err, io.EOF) {
			return p, err
		}
		if err == nil {
			batch = append(batch, row)
		}
		if len(batch) == c.BatchSize || (errors.Is(err, io.EOF) && len(batch) > 0) {
			if berr := runBatch(ctx, batch, &p, c); berr != nil {
				return p, berr
			}
			batch = batch[:0]
		}
		if errors.Is(err, io.EOF) {
			return p, nil
		}
	}
}

func runBatch(ctx context.Context, batch []Row, p *Progress, c Config) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var good []Row
	for _, r := range batch {
		if len(r.Errs) == 0 {
			good = append(good, r)
		}
	}
	var res []Result
	if len(good) > 0 {
		var err error
		if res, err = c.Issue(ctx, good); err != nil {
			return err
		}
		if len(res) != len(good) {
			return fmt.Errorf("importer: %d results for a batch of %d rows", len(res), len(good))
		}
	}
	next := *p
	var errs []RowError
	for _, r := range batch {
		next.Rows++
		if len(r.Errs) > 0 {
			next.Failed++
			errs = append(errs, r.Errs...)
			continue
		}
		out := res[0]
		res = res[1:]
		switch {
		case len(out.Errs) > 0:
			next.Failed++
			errs = append(errs, out.Errs...)
		case out.Existing:
			next.Existing++
		default:
			next.Issued++
		}
	}
	next.Batches++
	if c.RowErrors != nil && len(errs) > 0 {
		if err := c.RowErrors(errs); err != nil {
			return err
		}
	}
	*p = next
	if c.OnBatch != nil {
		return c.OnBatch(next)
	}
	return nil
}
