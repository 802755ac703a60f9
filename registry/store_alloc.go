package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// allocBlock is how many serials or slots a store handle takes from the
// database at once. The database hands each block to one handle only
// (serials: an UPDATE … RETURNING of the sequence row; slots: one row per
// slot under a primary key), so several instances on one database never
// hand out a number twice; a handle gives back what it did not use when
// it closes. A crash loses at most one block: a gap in the serials, a few
// slots never used.
const allocBlock = 64

// maxSerialNumber is the largest sequence number of a serial (7 digits).
const maxSerialNumber = 9_999_999

// allocator keeps the blocks a store handle took and has not handed out.
type allocator struct {
	mu      sync.Mutex
	serials map[serialKey]*serialBlock
	slots   map[string]*slotBlock // by department
}

type serialKey struct{ uscc, typeCode, year string }

// serialBlock is the numbers next..last, taken from the database.
type serialBlock struct{ next, last int }

// slotBlock is slots taken from the database and not yet handed out.
type slotBlock struct {
	free   []int
	opened bool // the reservation opened a new list; told with the next slot
}

func (s *store) nextSerial(ctx context.Context, uscc, typeCode, year string) (int, error) {
	got, err := s.nextSerials(ctx, uscc, typeCode, map[string]int{year: 1})
	if len(got[year]) == 0 {
		return 0, err
	}
	return got[year][0], nil
}

// nextSerials hands out need[year] numbers of a department's type for each
// year, in order, from the handle's blocks; what the blocks lack is
// reserved first, in one transaction (a block of at least allocBlock a
// year), so a batch of rows of many years costs one commit, not one a
// block. If the reservation fails nothing is handed out and nothing is
// lost. A year whose numbers run out gets the ones left, fewer than asked,
// and the error says so (ErrConflict).
func (s *store) nextSerials(ctx context.Context, uscc, typeCode string, need map[string]int) (map[string][]int, error) {
	s.alloc.mu.Lock()
	defer s.alloc.mu.Unlock()
	if s.alloc.serials == nil {
		s.alloc.serials = map[serialKey]*serialBlock{}
	}
	years := slices.Sorted(maps.Keys(need)) // one lock order for every handle
	lack := map[string]int{}
	for _, y := range years {
		left := 0
		if b := s.alloc.serials[serialKey{uscc, typeCode, y}]; b != nil {
			left = b.last - b.next + 1
		}
		if need[y] > left {
			lack[y] = max(allocBlock, need[y]-left)
		}
	}
	fresh := map[string]*serialBlock{}
	if len(lack) > 0 {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("registry: reserve serials: %w", err)
		}
		defer tx.Rollback()
		for _, y := range years {
			if n, ok := lack[y]; ok {
				last, err := reserveSerials(ctx, tx, serialKey{uscc, typeCode, y}, n)
				if err != nil {
					return nil, err
				}
				fresh[y] = &serialBlock{next: last - n + 1, last: last}
			}
		}
		if err := tx.Commit(); err != nil {
			return nil, fmt.Errorf("registry: reserve serials: %w", err)
		}
	}
	out := make(map[string][]int, len(need))
	var errs []error
	for _, y := range years {
		k := serialKey{uscc, typeCode, y}
		for len(out[y]) < need[y] {
			b := s.alloc.serials[k]
			if b == nil || b.next > b.last {
				b = fresh[y] // reserved above: the old block is used up first
				s.alloc.serials[k] = b
			}
			if b.next > maxSerialNumber {
				errs = append(errs, fmt.Errorf("%w: serials for %s type %s in %s exhausted", ErrConflict, uscc, typeCode, y))
				break
			}
			out[y] = append(out[y], b.next)
			b.next++
		}
	}
	return out, errors.Join(errs...)
}

// reserveSerials takes n numbers of a sequence and returns the last of them.
// A sequence that has no row yet starts after the largest stored serial.
func reserveSerials(ctx context.Context, tx sqlTx, k serialKey, n int) (int, error) {
	var last int
	err := tx.QueryRowContext(ctx, `UPDATE serials SET last = last + ? WHERE uscc = ? AND type_code = ? AND year = ? RETURNING last`,
		n, k.uscc, k.typeCode, k.year).Scan(&last)
	if err == nil {
		return last, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("registry: reserve serials: %w", err)
	}
	var max sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT MAX(serial) FROM licenses WHERE uscc = ? AND type_code = ? AND serial LIKE ?`,
		k.uscc, k.typeCode, k.year+"%").Scan(&max); err != nil {
		return 0, err
	}
	seed := 0
	if max.String != "" {
		if seed, err = strconv.Atoi(max.String[len(k.year):]); err != nil {
			return 0, fmt.Errorf("registry: stored serial %q: %w", max.String, err)
		}
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO serials (uscc, type_code, year, last) VALUES (?, ?, ?, ?)
		ON CONFLICT (uscc, type_code, year) DO UPDATE SET last = serials.last + ? RETURNING last`,
		k.uscc, k.typeCode, k.year, seed+n, n).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("registry: reserve serials: %w", err)
	}
	return last, nil
}

// allocateSlot hands out a free slot (list × StatusListSize + index) of a
// department. A list is filled to half, then the next one opens; within a
// list the index is random (pick), so no index tells when a license was
// issued.
func (s *store) allocateSlot(ctx context.Context, uscc string, pick func() (int, error)) (int, bool, error) {
	slots, opened, err := s.allocateSlots(ctx, uscc, 1, pick)
	if err != nil {
		return 0, false, err
	}
	return slots[0], opened, nil
}

// allocateSlots hands out n free slots of a department at once, as
// allocateSlot does one: a batch of n licenses takes them in one
// transaction (or a few, where a list fills up) rather than one every
// allocBlock licenses.
func (s *store) allocateSlots(ctx context.Context, uscc string, n int, pick func() (int, error)) ([]int, bool, error) {
	s.alloc.mu.Lock()
	defer s.alloc.mu.Unlock()
	out := make([]int, 0, n)
	opened := false
	for len(out) < n {
		b := s.alloc.slots[uscc]
		if b == nil || len(b.free) == 0 {
			var err error
			if b, err = s.reserveSlots(ctx, uscc, pick, max(allocBlock, n-len(out))); err != nil {
				return nil, false, err
			}
			if s.alloc.slots == nil {
				s.alloc.slots = map[string]*slotBlock{}
			}
			s.alloc.slots[uscc] = b
		}
		k := min(n-len(out), len(b.free))
		out = append(out, b.free[:k]...)
		opened = opened || b.opened
		b.free, b.opened = b.free[k:], false
	}
	return out, opened, nil
}

// reserveSlots takes up to n free slots of the department's open list in
// one transaction that holds the list's row.
func (s *store) reserveSlots(ctx context.Context, uscc string, pick func() (int, error), n int) (*slotBlock, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	b := &slotBlock{}
	list, used, moved := 0, 0, false
	err = tx.QueryRowContext(ctx, `SELECT list, used FROM status_lists WHERE uscc = ? ORDER BY list DESC LIMIT 1`+s.db.d.forUpdate(), uscc).Scan(&list, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if b.opened, err = openList(ctx, tx, uscc, 0); err != nil {
			return nil, err
		}
		moved = true
	case err != nil:
		return nil, fmt.Errorf("registry: open status list of %s: %w", uscc, err)
	case used >= StatusListSize/2:
		list++
		if b.opened, err = openList(ctx, tx, uscc, list); err != nil {
			return nil, err
		}
		moved = true
	}
	if moved {
		// Another instance may have opened it first: read it under lock.
		if err := tx.QueryRowContext(ctx, `SELECT used FROM status_lists WHERE uscc = ? AND list = ?`+s.db.d.forUpdate(), uscc, list).Scan(&used); err != nil {
			return nil, err
		}
	}
	want := min(n, StatusListSize/2-used)
	for len(b.free) < want { // at most half the list is taken, so this ends soon
		// Random indexes, many a statement; the ones another handle holds
		// already do not come back.
		k := want - len(b.free)
		args := make([]any, 0, 2*k)
		for range k {
			i, err := pick()
			if err != nil {
				return nil, err
			}
			args = append(args, uscc, list*StatusListSize+i)
		}
		rows, err := tx.QueryContext(ctx, `INSERT INTO status_slots (uscc, slot) VALUES `+strings.Repeat("(?, ?), ", k-1)+`(?, ?)
			ON CONFLICT DO NOTHING RETURNING slot`, args...)
		if err != nil {
			return nil, fmt.Errorf("registry: take status slots: %w", err)
		}
		for rows.Next() {
			var slot int
			if err := rows.Scan(&slot); err != nil {
				rows.Close()
				return nil, err
			}
			b.free = append(b.free, slot)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("registry: take status slots: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE status_lists SET used = used + ? WHERE uscc = ? AND list = ?`, len(b.free), uscc, list); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("registry: take status slots: %w", err)
	}
	return b, nil
}

// openList makes the row of a department's new list; false when another
// instance made it first.
func openList(ctx context.Context, tx sqlTx, uscc string, list int) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO status_lists (uscc, list, used) VALUES (?, ?, 0) ON CONFLICT DO NOTHING`, uscc, list)
	if err != nil {
		return false, fmt.Errorf("registry: open status list %s/%d: %w", uscc, list, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// releaseBlocks gives back the serials and slots this handle took and did
// not hand out, where nobody took more after them. It runs at Close.
func (s *store) releaseBlocks(ctx context.Context) error {
	s.alloc.mu.Lock()
	defer s.alloc.mu.Unlock()
	var errs []error
	for k, b := range s.alloc.serials {
		if b.next <= b.last {
			_, err := s.db.ExecContext(ctx, `UPDATE serials SET last = ? WHERE uscc = ? AND type_code = ? AND year = ? AND last = ?`,
				b.next-1, k.uscc, k.typeCode, k.year, b.last)
			errs = append(errs, err)
		}
	}
	for uscc, b := range s.alloc.slots {
		if len(b.free) > 0 {
			errs = append(errs, s.releaseSlots(ctx, uscc, b.free))
		}
	}
	s.alloc.serials, s.alloc.slots = nil, nil
	return errors.Join(errs...)
}

func (s *store) releaseSlots(ctx context.Context, uscc string, free []int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, slot := range free {
		if _, err := tx.ExecContext(ctx, `DELETE FROM status_slots WHERE uscc = ? AND slot = ?`, uscc, slot); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE status_lists SET used = used - 1 WHERE uscc = ? AND list = ?`, uscc, slot/StatusListSize); err != nil {
			return err
		}
	}
	return tx.Commit()
}
