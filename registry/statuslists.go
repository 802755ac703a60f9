package registry

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"zhengzhao/credential"
	"zhengzhao/ledger"
)

// StatusListSize is the number of entries of every status list (W3C
// Bitstring Status List's 16 KiB minimum at one bit an entry). A stored
// status_index is list × StatusListSize + index within the list.
const StatusListSize = credential.ListSize

// randomListIndex draws an index within a list uniformly.
func randomListIndex() (int, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint64(b[:]) % StatusListSize), nil
}

// splitSlot splits a stored status_index into list number and index.
func splitSlot(slot int) (list, index int) { return slot / StatusListSize, slot % StatusListSize }

// StatusListURL is the URL of a department's status list n.
func (s *Service) StatusListURL(uscc string, n int) string {
	return credential.StatusListURL(s.cfg.PublicURL, uscc, n)
}

// statusEntries is the credentialStatus of a license at slot.
func (s *Service) statusEntries(uscc string, slot int) ([]credential.StatusListEntry, error) {
	list, index := splitSlot(slot)
	e, err := credential.NewStatusListEntry(s.StatusListURL(uscc, list), index)
	if err != nil {
		return nil, fmt.Errorf("registry: status entry: %w", err)
	}
	return []credential.StatusListEntry{e}, nil
}

// SignedList is a signed status list credential as served.
type SignedList struct {
	// JSON is the BitstringStatusListCredential's canonical bytes.
	JSON []byte
	// ETag is a strong entity tag of JSON.
	ETag string
	// ValidUntil is when the list expires; serve it no longer than that.
	ValidUntil time.Time
}

type listKey struct {
	uscc string
	n    int
}

type cachedList struct {
	gen  int64
	list *SignedList
	// refreshAt is when to sign afresh even if no bit changed: halfway
	// through the validity, so that a cached copy is never served expired.
	refreshAt time.Time
}

// listCache holds the signed lists, rebuilt only when a bit changes or half
// their validity has passed.
type listCache struct {
	mu    sync.Mutex
	lists map[listKey]*cachedList
	build sync.Map // listKey → *sync.Mutex: one build of a list at a time
}

// StatusList returns department uscc's status list n, signed by the
// department's active key. It answers ErrNotFound for a list never opened.
func (s *Service) StatusList(ctx context.Context, uscc string, n int) (*SignedList, error) {
	gen, err := s.store.statusListGen(ctx, uscc, n)
	if err != nil {
		return nil, err
	}
	k := listKey{uscc, n}
	now := s.now()
	if l := s.lists.get(k, gen, now); l != nil {
		return l, nil
	}
	mu, _ := s.lists.build.LoadOrStore(k, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if l := s.lists.get(k, gen, now); l != nil {
		return l, nil
	}
	l, refreshAt, err := s.sharedList(ctx, uscc, n, gen, now)
	if err != nil {
		return nil, err
	}
	s.lists.put(k, &cachedList{gen: gen, list: l, refreshAt: refreshAt})
	return l, nil
}

func (c *listCache) get(k listKey, gen int64, now time.Time) *SignedList {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.lists[k]; l != nil && l.gen == gen && now.Before(l.refreshAt) {
		return l.list
	}
	return nil
}

func (c *listCache) put(k listKey, l *cachedList) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lists == nil {
		c.lists = map[listKey]*cachedList{}
	}
	c.lists[k] = l
}

// signList builds list n of uscc from the store and signs it. The
// generation is read before the statuses, so a change during the build
// makes the next request build again rather than serve a stale list.
func (s *Service) signList(ctx context.Context, uscc string, n int) (*SignedList, error) {
	statuses, err := s.store.listStatuses(ctx, uscc, n)
	if err != nil {
		return nil, err
	}
	bits := credential.NewStatusList()
	for i, st := range statuses {
		v, ok := credential.ListStatusByCode(string(st))
		if !ok {
			return nil, fmt.Errorf("registry: license status %q has no status-list value", st)
		}
		if err := bits.Set(i, v); err != nil {
			return nil, err
		}
	}
	key, err := s.activeKey(uscc)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	d := s.deptByID[uscc]
	s.mu.Unlock()
	if d == nil {
		return nil, fmt.Errorf("department %s: %w", uscc, ErrNotFound)
	}
	now := s.now()
	raw, err := credential.NewStatusListCredential(credential.StatusListConfig{
		PublicURL: s.cfg.PublicURL, USCC: uscc, IssuerName: d.Name, Number: n, List: bits,
		Signer: key.signer, KeyID: key.keyID, ValidFrom: now, ValidFor: s.cfg.StatusListValidity,
	})
	if err != nil {
		return nil, fmt.Errorf("registry: sign status list %s/%d: %w", uscc, n, err)
	}
	sum := sm3.Sum(raw)
	return &SignedList{
		JSON: raw, ETag: `"` + fmt.Sprintf("%x", sum[:12]) + `"`,
		ValidUntil: now.UTC().Truncate(time.Second).Add(s.cfg.StatusListValidity),
	}, nil
}

// checkLedger refuses a ledger shorter than one the store has seen (a
// rollback), then reconciles the store with the ledger: the changes a crash
// left half done, and, once per store, every license.
func (s *Service) checkLedger(ctx context.Context) error {
	cp, err := s.ledger.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("registry: ledger checkpoint: %w", err)
	}
	seen, err := s.store.ledgerSizeSeen(ctx)
	if err != nil {
		return err
	}
	if cp.Size < seen {
		return fmt.Errorf("%w: the ledger has %d entries, but the registry store has seen %d: restore the ledger's newer copy",
			ledger.ErrRollback, cp.Size, seen)
	}
	if err := s.store.sawLedgerSize(ctx, cp.Size); err != nil {
		return err
	}
	if err := s.recoverVersions(ctx); err != nil {
		return err
	}
	done, err := s.store.meta(ctx, metaReconciled)
	if err != nil {
		return err
	}
	rep, err := s.Reconcile(ctx, done == "")
	if err != nil {
		return err
	}
	if rep.Checked > 0 {
		s.log.Info("store reconciled with the ledger", "checked", rep.Checked, "repaired", rep.Repaired, "missing", rep.Missing)
	}
	return nil
}

// ParseListPath reads the n of a status list path segment.
func ParseListPath(n string) (int, error) {
	i, err := strconv.Atoi(n)
	if err != nil || i < 0 || strconv.Itoa(i) != n {
		return 0, errors.New("status list number must be a non-negative decimal integer")
	}
	return i, nil
}
