package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// importSchema holds the console's import jobs, so that a job's page and
// its row errors survive a restart and every instance sees them. Portable
// SQL (migration 5).
const importSchema = `
CREATE TABLE IF NOT EXISTS import_jobs (
	id         TEXT PRIMARY KEY,
	department TEXT NOT NULL,
	type_code  TEXT NOT NULL,
	type_name  TEXT NOT NULL,
	file_name  TEXT NOT NULL,
	actor      TEXT NOT NULL,
	encoding   TEXT NOT NULL,
	started    TEXT NOT NULL,
	finished   TEXT NOT NULL DEFAULT '',
	updated    TEXT NOT NULL,           -- the last save: a running job saves after every batch
	total      INTEGER NOT NULL,
	done       INTEGER NOT NULL DEFAULT 0,
	issued     INTEGER NOT NULL DEFAULT 0,
	existing   INTEGER NOT NULL DEFAULT 0,
	failed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS import_jobs_department ON import_jobs (department, started);
-- The first limits.ImportErrorsKept row errors of each job.
CREATE TABLE IF NOT EXISTS import_job_errors (
	job     TEXT NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
	seq     INTEGER NOT NULL,
	row_no  INTEGER NOT NULL,
	field   TEXT NOT NULL,
	col     TEXT NOT NULL,
	rule    TEXT NOT NULL,
	message TEXT NOT NULL,
	PRIMARY KEY (job, seq)
);
`

// ImportJob is a batch import started on the console: what it imports and
// how far it got. Its counts are rows of the file.
type ImportJob struct {
	ID         string
	Department string // USCC
	TypeCode   string
	TypeName   string
	FileName   string
	Actor      string // who started it
	Encoding   string // the file's encoding as read
	Started    time.Time
	Finished   time.Time // zero while it runs (or if it was interrupted)
	Updated    time.Time // when the job last saved its progress
	Total      int
	Done       int
	Issued     int
	Existing   int
	Failed     int
}

// ImportJobError is one kept row error of an import job (see
// importer.RowError).
type ImportJobError struct {
	Row     int
	Field   string
	Column  string
	Rule    string
	Message string
}

// importStore keeps the console's import jobs and their first row errors.
type importStore interface {
	saveImportJob(ctx context.Context, j *ImportJob) error
	addImportErrors(ctx context.Context, id string, from int, errs []ImportJobError) error
	importJob(ctx context.Context, id string) (*ImportJob, error)
	importErrorCounts(ctx context.Context, id string) (errs, rows int, err error)
	importErrors(ctx context.Context, id string, offset, limit int) ([]ImportJobError, error)
}

// SaveImportJob stores a job's description, counts and Updated, adding it
// the first time.
func (s *Service) SaveImportJob(ctx context.Context, j *ImportJob) error {
	return s.store.saveImportJob(ctx, j)
}

// AddImportErrors keeps row errors of job id after the first from ones
// already kept (from is their count). The caller bounds how many it keeps.
func (s *Service) AddImportErrors(ctx context.Context, id string, from int, errs []ImportJobError) error {
	return s.store.addImportErrors(ctx, id, from, errs)
}

// ImportJob returns a job, ErrNotFound if there is none.
func (s *Service) ImportJob(ctx context.Context, id string) (*ImportJob, error) {
	return s.store.importJob(ctx, id)
}

// ImportErrorCounts says how many row errors of job id are kept, and on
// how many rows (a note on the whole job, row 0, is not counted).
func (s *Service) ImportErrorCounts(ctx context.Context, id string) (errs, rows int, err error) {
	return s.store.importErrorCounts(ctx, id)
}

// ImportErrors returns up to limit kept row errors of job id, from offset,
// in row order.
func (s *Service) ImportErrors(ctx context.Context, id string, offset, limit int) ([]ImportJobError, error) {
	return s.store.importErrors(ctx, id, offset, limit)
}

func (s *store) saveImportJob(ctx context.Context, j *ImportJob) error {
	finished := ""
	if !j.Finished.IsZero() {
		finished = sortableTime(j.Finished)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO import_jobs
		(id, department, type_code, type_name, file_name, actor, encoding, started, finished, updated, total, done, issued, existing, failed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET finished = excluded.finished, updated = excluded.updated, total = excluded.total,
			done = excluded.done, issued = excluded.issued, existing = excluded.existing, failed = excluded.failed`,
		j.ID, j.Department, j.TypeCode, j.TypeName, j.FileName, j.Actor, j.Encoding, sortableTime(j.Started), finished, sortableTime(j.Updated),
		j.Total, j.Done, j.Issued, j.Existing, j.Failed)
	if err != nil {
		return fmt.Errorf("registry: save import job %s: %w", j.ID, err)
	}
	return nil
}

func (s *store) addImportErrors(ctx context.Context, id string, from int, errs []ImportJobError) error {
	if len(errs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i, e := range errs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO import_job_errors (job, seq, row_no, field, col, rule, message)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job, seq) DO NOTHING`,
			id, from+i, e.Row, e.Field, e.Column, e.Rule, e.Message); err != nil {
			return fmt.Errorf("registry: keep import errors of %s: %w", id, err)
		}
	}
	return tx.Commit()
}

func (s *store) importJob(ctx context.Context, id string) (*ImportJob, error) {
	var j ImportJob
	var started, finished, updated string
	err := s.db.QueryRowContext(ctx, `SELECT id, department, type_code, type_name, file_name, actor, encoding,
		started, finished, updated, total, done, issued, existing, failed FROM import_jobs WHERE id = ?`, id).Scan(
		&j.ID, &j.Department, &j.TypeCode, &j.TypeName, &j.FileName, &j.Actor, &j.Encoding,
		&started, &finished, &updated, &j.Total, &j.Done, &j.Issued, &j.Existing, &j.Failed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("import job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	j.Started, j.Updated = parseTime(started), parseTime(updated)
	if finished != "" {
		j.Finished = parseTime(finished)
	}
	return &j, nil
}

func (s *store) importErrorCounts(ctx context.Context, id string) (errs, rows int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT row_no) FROM import_job_errors WHERE job = ? AND row_no > 0`, id).Scan(&errs, &rows)
	return errs, rows, err
}

func (s *store) importErrors(ctx context.Context, id string, offset, limit int) ([]ImportJobError, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT row_no, field, col, rule, message FROM import_job_errors
		WHERE job = ? ORDER BY row_no, seq LIMIT ? OFFSET ?`, id, limit, offset)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ImportJobError
	for rows.Next() {
		var e ImportJobError
		if err := rows.Scan(&e.Row, &e.Field, &e.Column, &e.Rule, &e.Message); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
