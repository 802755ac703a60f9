package registry

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// holderClaimsSchema keeps the one-active holders being issued to right
// now. An instance claims a holder before it checks that the holder holds
// no license of the type and keeps the claim until the new license is
// stored, so that two instances sharing a store cannot both issue one
// holder a license of a one-active type (in one process a lock does the
// same, and its callers wait instead of being refused). A claim of a
// crashed instance expires.
const holderClaimsSchema = `
CREATE TABLE IF NOT EXISTS holder_claims (
	type_code   TEXT NOT NULL,
	holder_code TEXT NOT NULL,        -- personal data: lives only in this store, and only while issuing
	owner       TEXT NOT NULL,        -- the claiming store handle and its call
	expires_at  TEXT NOT NULL,
	PRIMARY KEY (type_code, holder_code)
);
`

// claimTTL is how long a claim holds when its instance does not release
// it: longer than any anchor and store of a batch.
const claimTTL = 5 * time.Minute

// claimChunk is how many holders one claim statement names.
const claimChunk = 400

// claimHolders claims each holder for owner and returns those another
// owner holds an unexpired claim on (not claimed). Claims of holders
// already claimed by owner are renewed.
func (s *store) claimHolders(ctx context.Context, owner string, holders []holderOf, now time.Time) (taken map[holderOf]bool, err error) {
	taken = map[holderOf]bool{}
	claimed := map[holderOf]bool{}
	at, until := sortableTime(now), sortableTime(now.Add(claimTTL))
	// One transaction for all the chunks: one commit a batch, not one a
	// chunk. It holds the rows of its earlier chunks while it writes the
	// later ones, so every handle claims in one order (PostgreSQL would
	// otherwise find two batches with shared holders deadlocked).
	holders = slices.SortedFunc(slices.Values(holders), func(a, b holderOf) int {
		return cmp.Or(cmp.Compare(a.typeCode, b.typeCode), cmp.Compare(a.holderCode, b.holderCode))
	})
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("registry: claim holders: %w", err)
	}
	defer tx.Rollback()
	for lo := 0; lo < len(holders); lo += claimChunk {
		chunk := holders[lo:min(lo+claimChunk, len(holders))]
		args := make([]any, 0, 4*len(chunk)+2)
		for _, h := range chunk {
			args = append(args, h.typeCode, h.holderCode, owner, until)
		}
		args = append(args, owner, at)
		rows, err := tx.QueryContext(ctx, `INSERT INTO holder_claims (type_code, holder_code, owner, expires_at)
			VALUES (?, ?, ?, ?)`+strings.Repeat(", (?, ?, ?, ?)", len(chunk)-1)+`
			ON CONFLICT (type_code, holder_code) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
			WHERE holder_claims.owner = ? OR holder_claims.expires_at < ?
			RETURNING type_code, holder_code`, args...)
		if err != nil {
			return nil, fmt.Errorf("registry: claim holders: %w", err)
		}
		for rows.Next() {
			var h holderOf
			if err := rows.Scan(&h.typeCode, &h.holderCode); err != nil {
				rows.Close()
				return nil, err
			}
			claimed[h] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("registry: claim holders: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("registry: claim holders: %w", err)
	}
	for _, h := range holders {
		if !claimed[h] {
			taken[h] = true
		}
	}
	return taken, nil
}

// releaseHolders drops owner's claims on the holders.
func (s *store) releaseHolders(ctx context.Context, owner string, holders []holderOf) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("registry: release holders: %w", err)
	}
	defer tx.Rollback()
	for lo := 0; lo < len(holders); lo += claimChunk {
		chunk := holders[lo:min(lo+claimChunk, len(holders))]
		args := make([]any, 0, 2*len(chunk)+1)
		args = append(args, owner)
		for _, h := range chunk {
			args = append(args, h.typeCode, h.holderCode)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM holder_claims WHERE owner = ? AND (type_code, holder_code) IN (VALUES (?, ?)`+
			strings.Repeat(", (?, ?)", len(chunk)-1)+`)`, args...); err != nil {
			return fmt.Errorf("registry: release holders: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("registry: release holders: %w", err)
	}
	return nil
}

// releaseInstanceClaims drops the claims an instance's earlier run left
// (its owners start with "instance/"): a restarted instance does not wait
// claimTTL for its own holders.
func (s *store) releaseInstanceClaims(ctx context.Context, instance string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM holder_claims WHERE owner LIKE ?`, instance+"/%"); err != nil {
		return fmt.Errorf("registry: release claims of an earlier run: %w", err)
	}
	return nil
}

// InstanceIDFile names, in the data directory, the id an instance's
// one-active claims carry; made at the first start. It is the instance's
// own: another instance made from a copy of this data directory must not
// get it.
const InstanceIDFile = "instance-id"

// instanceID reads the data directory's instance id, making it the first
// time. Each instance has its own data directory, so each its own id.
func instanceID(dir string) (string, error) {
	path := filepath.Join(dir, InstanceIDFile)
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("registry: instance id: %w", err)
	}
	id := rand.Text()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("registry: instance id: %w", err)
	}
	return id, nil
}
