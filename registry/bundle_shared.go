package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"zhengzhao/ledger/tlog"
)

// Several instances on one store serve the same signed bytes: the trust
// bundle and each status list are signed by whichever instance first needs
// them after a change, stored (store_shared.go), and served from the store
// by every instance, so sequences and ETags agree. Changes the bundle shows
// are counted in the store too (sharedChanges), so an instance learns of
// another's within ledgerPoll.

// sharedBundle returns the stored bundle if it is current — built after the
// last change, with the ledger's latest checkpoint or a later one, and not
// due for refresh — and otherwise builds one, signs it and stores it. If
// another instance stored one meanwhile, that one is served instead.
func (s *Service) sharedBundle(ctx context.Context) (*SignedBundle, error) {
	gen := s.gen.Load()
	changes, err := s.store.sharedChanges(ctx)
	if err != nil {
		return nil, err
	}
	row, err := s.store.sharedBundle(ctx)
	if err != nil {
		return nil, err
	}
	cp, err := s.ledger.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("registry: latest checkpoint: %w", err)
	}
	now := s.now()
	if row != nil && row.Changes == changes && row.TreeSize >= cp.Size && now.Before(row.RefreshAt) {
		return s.bundleFromRow(row, gen, changes)
	}
	if err := s.syncDepartments(ctx); err != nil { // the departments and keys the store has now
		return nil, err
	}
	b, err := s.buildBundle(ctx)
	if err != nil {
		return nil, err
	}
	b.changes = changes
	mine := &sharedBundleRow{
		Seq: b.Sequence, Changes: changes, TreeSize: b.Checkpoint.Size, Body: b.JSON, ETag: b.ETag, Note: b.Note,
		History: b.notes, ValidUntil: b.ValidUntil, RefreshAt: b.refresh,
	}
	// Store it unless another instance stored one with a sequence as high
	// meanwhile; then serve that one. The stored sequence only grows, so no
	// instance serves a bundle older than one any instance served.
	for {
		var prev int64
		if row != nil {
			prev = row.Ver
		}
		stored, err := s.store.swapSharedBundle(ctx, prev, mine)
		if err != nil {
			return nil, fmt.Errorf("registry: store the trust bundle: %w", err)
		}
		if stored {
			return b, nil
		}
		if row, err = s.store.sharedBundle(ctx); err != nil {
			return nil, err
		}
		if row != nil && row.Seq >= b.Sequence {
			return s.bundleFromRow(row, gen, row.Changes)
		}
	}
}

// bundleFromRow is the stored bundle as served.
func (s *Service) bundleFromRow(row *sharedBundleRow, gen uint64, changes int64) (*SignedBundle, error) {
	pub := s.cfg.Platform.Log.Public()
	head, err := tlog.VerifyCheckpoint(row.Note, s.cfg.LogOrigin, pub)
	if err != nil {
		return nil, fmt.Errorf("registry: the stored trust bundle's checkpoint: %w", err)
	}
	b := &SignedBundle{
		JSON: row.Body, ETag: row.ETag, Sequence: row.Seq, ValidUntil: row.ValidUntil,
		Checkpoint: head, Note: row.Note, gen: gen, changes: changes, polled: s.now(), refresh: row.RefreshAt,
	}
	for _, note := range row.History {
		c, err := tlog.VerifyCheckpoint(note, s.cfg.LogOrigin, pub)
		if err != nil {
			return nil, fmt.Errorf("registry: the stored trust bundle's history: %w", err)
		}
		b.history, b.notes = append(b.history, c), append(b.notes, note)
	}
	return b, nil
}

// sharedStale reports whether another instance changed what the bundle
// shows since b (polled with the ledger: a change shows within ledgerPoll).
func (s *Service) sharedStale(ctx context.Context, b *SignedBundle) bool {
	changes, err := s.store.sharedChanges(ctx)
	return err != nil || changes != b.changes
}

// newerStored reports whether another instance stored a bundle other than
// b. It is asked on every request, not polled: once any instance served a
// sequence, none may serve an older one, or a verifier going from one
// instance to another would see a rollback.
func (s *Service) newerStored(ctx context.Context, b *SignedBundle) bool {
	seq, err := s.store.sharedBundleSeq(ctx)
	return err != nil || seq != b.Sequence
}

// sharedChanged counts a change the bundle shows in the store, for the
// other instances; a failure only delays their rebuild until the bundle's
// refresh, so it is logged, not returned.
func (s *Service) sharedChanged() {
	if err := s.store.bumpSharedChanges(context.Background()); err != nil {
		s.log.Warn("count a trust bundle change in the store", "err", err)
	}
}

// sharedList returns list uscc/n of generation gen as stored for every
// instance, and when to sign it afresh; it signs and stores it if the stored
// one is older or due for refresh. If another instance stored one meanwhile,
// that one is served.
func (s *Service) sharedList(ctx context.Context, uscc string, n int, gen int64, now time.Time) (*SignedList, time.Time, error) {
	row, err := s.store.sharedList(ctx, uscc, n)
	if err != nil {
		return nil, time.Time{}, err
	}
	if row != nil && row.Gen >= gen && now.Before(row.RefreshAt) {
		return listFromRow(row), row.RefreshAt, nil
	}
	// Sign with the department's key as the store has it now, not as this
	// instance last loaded it: a list signed with a key another instance
	// just rotated out would be stored for every instance.
	if err := s.syncDepartments(ctx); err != nil {
		return nil, time.Time{}, err
	}
	l, err := s.signList(ctx, uscc, n)
	if err != nil {
		return nil, time.Time{}, err
	}
	refresh := now.Add(s.cfg.StatusListValidity / 2)
	var prev int64
	if row != nil {
		prev = row.Ver
	}
	stored, err := s.store.swapSharedList(ctx, uscc, n, prev, &sharedListRow{Gen: gen, Body: l.JSON, ETag: l.ETag, ValidUntil: l.ValidUntil, RefreshAt: refresh})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("registry: store status list %s/%d: %w", uscc, n, err)
	}
	if stored {
		return l, refresh, nil
	}
	if row, err = s.store.sharedList(ctx, uscc, n); err != nil {
		return nil, time.Time{}, err
	}
	if row != nil && row.Gen >= gen {
		return listFromRow(row), row.RefreshAt, nil
	}
	return l, refresh, nil
}

func listFromRow(r *sharedListRow) *SignedList {
	return &SignedList{JSON: r.Body, ETag: r.ETag, ValidUntil: r.ValidUntil}
}

// SharedKey returns the 32-byte secret named name that every instance on
// this store shares (for example the key CSRF tokens are made with, so that
// a form one instance served may be posted to another). The first instance
// that asks makes it.
func (s *Service) SharedKey(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	v, err := s.store.metaOnce(ctx, "shared_key:"+name, hex.EncodeToString(fresh))
	if err != nil {
		return nil, fmt.Errorf("registry: shared key %s: %w", name, err)
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("registry: stored shared key %s is not 32 bytes of hex", name)
	}
	return key, nil
}
