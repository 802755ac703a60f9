package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// SQLite in WAL mode appends every commit to the -wal file and copies the
// pages back into the database file in a checkpoint. Left to itself it
// checkpoints on the committing connection once the WAL passes 1000 pages:
// the commit that crosses the mark also reads the WAL back, writes every
// page it holds into the database and fsyncs it, and the store's one
// connection waits meanwhile. With a large store a batch's rows land on a
// page each of several indexes, so that is most commits, and it doubles
// the time a batch holds the writer.
//
// The store's connection therefore checkpoints only as a backstop
// (walBackstopPages), and walCheckpointer checkpoints on a connection of its
// own, PASSIVE (it takes no lock the writer waits for), every
// walCheckpointEvery (one that finds nothing to copy does nothing). A page
// written by several commits between two checkpoints is copied once.
//
// Between checkpoints that catch up with it the WAL grows (to ~270 MB in
// a long import); when the writer starts it over it cuts the file back to
// walKeepBytes, so the data directory does not keep the peak.
const (
	walCheckpointEvery = 250 * time.Millisecond
	walBackstopPages   = 16384 // 256 MiB of 16 KiB pages
	walKeepBytes       = 64 << 20
)

// walCheckpointer runs PASSIVE checkpoints of one SQLite database until
// stopped.
type walCheckpointer struct {
	db   *sql.DB
	stop chan struct{}
	done sync.WaitGroup
	err  error // the last checkpoint's error, if it failed; read after done
}

// startCheckpointer opens a second connection to the SQLite database at
// path and checkpoints its WAL in the background.
func startCheckpointer(path string) (*walCheckpointer, error) {
	db, err := sql.Open("sqlite", sqliteDSN(path, nil, "busy_timeout(10000)", "synchronous(FULL)", "cache_size(-256)"))
	if err != nil {
		return nil, fmt.Errorf("registry: open checkpointer of %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	c := &walCheckpointer{db: db, stop: make(chan struct{})}
	c.done.Go(c.run)
	return c, nil
}

func (c *walCheckpointer) run() {
	t := time.NewTicker(walCheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		// A failed checkpoint is tried again at the next tick, and the
		// writer's own checkpoint past walBackstopPages goes on meanwhile;
		// Close tells the last error if a later tick did not mend it.
		// Neither bounds the WAL while a reader holds an old snapshot: it
		// cannot be copied back past that reader (as before, when only the
		// writer checkpointed).
		c.err = c.checkpoint()
	}
}

// checkpoint copies back what it can of the WAL without waiting for the
// writer or readers.
func (c *walCheckpointer) checkpoint() error {
	// The row tells whether it was blocked and how many frames it copied;
	// a blocked or partial checkpoint is no error, the next tick goes on.
	var busy, frames, copied int
	if err := c.db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		return fmt.Errorf("registry: WAL checkpoint: %w", err)
	}
	return nil
}

// Close stops the checkpoints and closes the connection.
func (c *walCheckpointer) Close() error {
	close(c.stop)
	c.done.Wait()
	return errors.Join(c.err, c.db.Close())
}
