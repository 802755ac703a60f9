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
	// InFlight is how many batches may be issuing at once, so that one
	// is signed while another is anchored and stored and the next is
	// read; 0 means 1, one batch after another. Two batches that share a
	// request key (or, with OneActive, a holder) are never issued at once:
	// the later waits for the earlier, so rows are issued as they would
	// be one batch after another.
	InFlight int
	// OneActive says each holder may hold one license of the rows' type;
	// a holder's rows are then issued in the order of the file.
	OneActive bool
	// Issue issues a batch. With InFlight above 1 it is called from
	// several goroutines at once.
	Issue IssueFunc
	// Start is the progress of an earlier run of the same file: its
	// Batches batches are read and skipped, and its counts carried on.
	Start Progress
	// RowErrors, when set, is called with each batch's row errors, in
	// row order, before OnBatch.
	RowErrors func([]RowError) error
	// OnBatch, when set, is called after each batch with the progress so
	// far; an error stops the run. RowErrors and OnBatch are called from
	// one goroutine, batch after batch in the order of the file, and only
	// once every batch before has been issued: a progress handed to
	// OnBatch counts only batches that are done.
	OnBatch func(Progress) error
}

// flight is a batch being issued.
type flight struct {
	rows []Row
	keys map[string]struct{} // what no other batch may issue at once
	res  []Result            // one per row without errors, in order
	err  error
	done chan struct{} // closed once Issue returned
}

// Run reads every row of src and issues them in batches: rows that cannot
// be read are reported and never stop the others. It returns the progress
// at its end; an error is a batch that failed as a whole, a source that
// could not be read or a callback's error, and the progress then says
// which batches are done: every batch before the one that failed, even
// when later ones, issued at the same time, were issued too (a run that
// resumes issues those again, which answers the licenses they issued).
func Run(ctx context.Context, src Source, c Config) (Progress, error) {
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.InFlight <= 0 {
		c.InFlight = 1
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

	// The batches go to the committer in file order; it waits for each
	// to be issued, then counts it. slots holds one token per batch
	// issued and not yet counted.
	order := make(chan *flight, c.InFlight)
	slots := make(chan struct{}, c.InFlight)
	stop := make(chan struct{}) // closed by the committer when it stops early
	var commitErr error
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		stopped := false
		for f := range order {
			<-f.done
			if !stopped {
				err := f.err
				if err == nil {
					err = commit(f, &p, c)
				}
				if err != nil {
					commitErr, stopped = err, true
					close(stop)
				}
			}
			<-slots
		}
	}()

	var open []*flight // batches sent to the committer, maybe still issuing
	launch := func(batch []Row) bool {
		select {
		case <-stop:
			return false
		default:
		}
		f := &flight{rows: batch, keys: make(map[string]struct{}, len(batch)), done: make(chan struct{})}
		for _, r := range batch {
			if len(r.Errs) == 0 {
				f.keys[r.Request.RequestKey] = struct{}{}
				if c.OneActive {
					f.keys["holder\x00"+r.Request.HolderCode] = struct{}{}
				}
			}
		}
		// Wait for the batches still issuing that share a key with this one.
		kept := open[:0]
		for _, o := range open {
			select {
			case <-o.done:
				continue
			default:
			}
			if overlaps(f.keys, o.keys) {
				select {
				case <-o.done:
					continue
				case <-stop:
					return false
				}
			}
			kept = append(kept, o)
		}
		clear(open[len(kept):])
		open = kept
		select {
		case slots <- struct{}{}:
		case <-stop:
			return false
		}
		if err := ctx.Err(); err != nil {
			f.err = err
			close(f.done)
			order <- f
			return false
		}
		open = append(open, f)
		order <- f
		go issue(ctx, f, c.Issue)
		return true
	}

	var readErr error
	batch := make([]Row, 0, c.BatchSize)
	for {
		row, err := src.Next()
		if err != nil && !errors.Is(err, io.EOF) {
			readErr = err
			break
		}
		if err == nil {
			batch = append(batch, row)
		}
		if len(batch) == c.BatchSize || (errors.Is(err, io.EOF) && len(batch) > 0) {
			if !launch(batch) {
				break
			}
			batch = make([]Row, 0, c.BatchSize)
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	close(order)
	<-committed
	if commitErr != nil {
		return p, commitErr
	}
	return p, readErr
}

func overlaps(a, b map[string]struct{}) bool {
	if len(b) < len(a) {
		a, b = b, a
	}
	for k := range a {
		if _, ok := b[k]; ok {
			return true
		}
	}
	return false
}

// issue issues f's rows that have no errors.
func issue(ctx context.Context, f *flight, fn IssueFunc) {
	defer close(f.done)
	good := make([]Row, 0, len(f.rows))
	for _, r := range f.rows {
		if len(r.Errs) == 0 {
			good = append(good, r)
		}
	}
	if len(good) == 0 {
		return
	}
	res, err := fn(ctx, good)
	switch {
	case err != nil:
		f.err = err
	case len(res) != len(good):
		f.err = fmt.Errorf("importer: %d results for a batch of %d rows", len(res), len(good))
	default:
		f.res = res
	}
}

// commit counts an issued batch into p and hands its row errors and the
// progress to the callbacks.
func commit(f *flight, p *Progress, c Config) error {
	next := *p
	res := f.res
	var errs []RowError
	for _, r := range f.rows {
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
