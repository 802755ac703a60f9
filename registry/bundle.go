package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"zhengzhao/credential"
	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/signing"
	"zhengzhao/verifier"
)

// ledgerPoll is how often at most a cached bundle asks the ledger whether
// its checkpoint moved on.
const ledgerPoll = time.Second

// historySpacing and maxBundleHistory shape the earlier checkpoints a bundle
// proves consistent with its own (verifier.TrustBundle.Previous): one every
// ten minutes at most, for a day. A receipt is refreshed on download against
// the newest of them that holds the license, so it stays checkable with
// every bundle of the next day.
const (
	historySpacing   = 10 * time.Minute
	maxBundleHistory = 144
)

// SignedBundle is the signed trust bundle as served.
type SignedBundle struct {
	// JSON is the bundle's canonical bytes.
	JSON []byte
	// ETag is a strong entity tag of JSON.
	ETag string
	// Sequence and ValidUntil are the bundle's.
	Sequence   uint64
	ValidUntil time.Time
	// Checkpoint is the log checkpoint the bundle carries.
	Checkpoint tlog.Checkpoint
	// Note is Checkpoint as the signed note.
	Note string

	gen     uint64
	changes int64     // the store's count of changes when built (sharedChanges)
	refresh time.Time // rebuild after this even if nothing changed
	// history are the checkpoints later bundles will prove, oldest first
	// (the bundle's own when it joined them).
	history []tlog.Checkpoint
	notes   []string

	polled time.Time // when the ledger was last asked for its checkpoint
	stale  bool      // the ledger moved on since: build again
}

// bundleCache holds the last signed bundle; one build at a time.
type bundleCache struct {
	build sync.Mutex
	mu    sync.Mutex
	last  *SignedBundle
	// compromised holds each compromised key's digest set by key id and
	// compromise time: the ledger takes no anchor with the key after it,
	// so the set never changes and is read from the store once (under build).
	compromised map[string]compromisedSet
}

type compromisedSet struct {
	from    time.Time
	digests []byte
}

// Bundle returns the signed trust bundle. It is built and signed only when
// something it shows changed (a department, key, seal, status or the log),
// or halfway through its validity; otherwise the same bytes are served from
// memory. Concurrent callers share one build, and instances sharing a store
// serve the bundle one of them signed (bundle_shared.go).
func (s *Service) Bundle(ctx context.Context) (*SignedBundle, error) {
	if b := s.cachedBundle(ctx); b != nil {
		return b, nil
	}
	s.bundle.build.Lock()
	defer s.bundle.build.Unlock()
	if b := s.cachedBundle(ctx); b != nil {
		return b, nil
	}
	b, err := s.sharedBundle(ctx)
	if err != nil {
		return nil, err
	}
	s.bundle.mu.Lock()
	s.bundle.last = b
	s.bundle.mu.Unlock()
	return b, nil
}

// cachedBundle returns the last bundle if it is still current.
func (s *Service) cachedBundle(ctx context.Context) *SignedBundle {
	s.bundle.mu.Lock()
	b := s.bundle.last
	s.bundle.mu.Unlock()
	if b == nil || b.gen != s.gen.Load() {
		return nil
	}
	now := s.now()
	if now.After(b.refresh) {
		return nil
	}
	s.bundle.mu.Lock()
	stale := b.stale
	poll := !stale && now.Sub(b.polled) >= ledgerPoll
	if poll {
		b.polled = now
	}
	s.bundle.mu.Unlock()
	if stale || s.newerStored(ctx, b) {
		return nil
	}
	if poll {
		if cp, err := s.ledger.Checkpoint(ctx); err != nil || cp.Size > b.Checkpoint.Size || s.sharedStale(ctx, b) {
			s.bundle.mu.Lock()
			b.stale = true
			s.bundle.mu.Unlock()
			return nil
		}
	}
	return b
}

// bundleHistory is what the store keeps of earlier bundles' checkpoints.
type bundleHistory struct {
	Notes []string  `json:"notes"` // newest last
	Last  time.Time `json:"last"`  // when the newest was added
}

func (s *Service) buildBundle(ctx context.Context) (*SignedBundle, error) {
	gen := s.gen.Load() // read first: a change during the build makes the next call build again
	cp, err := s.ledger.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("registry: latest checkpoint: %w", err)
	}
	logKey, err := signing.MarshalPublicKey(s.cfg.Platform.Log.Public())
	if err != nil {
		return nil, err
	}
	head, err := tlog.VerifyCheckpoint(cp.Note, s.cfg.LogOrigin, s.cfg.Platform.Log.Public())
	if err != nil {
		return nil, fmt.Errorf("registry: the ledger's checkpoint: %w", err)
	}
	now := s.now().UTC()
	seq, hist, joined, err := s.nextBundleSeq(ctx, cp.Note, now)
	if err != nil {
		return nil, err
	}
	b := &verifier.TrustBundle{
		Version:    verifier.BundleVersion,
		Sequence:   seq,
		IssuedAt:   now,
		ValidUntil: now.Add(s.cfg.StatusListValidity),
		Roots:      []string{string(signing.EncodeCertificatePEM(s.cfg.Platform.RootCert.Raw))},
		Log:        verifier.LogInfo{Origin: s.cfg.LogOrigin, PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: logKey}))},
		Checkpoint: cp.Note,
	}
	var history []tlog.Checkpoint
	var notes []string
	for _, note := range hist {
		old, err := tlog.VerifyCheckpoint(note, s.cfg.LogOrigin, s.cfg.Platform.Log.Public())
		if err != nil || old.Size >= head.Size {
			continue
		}
		proof, err := s.ledger.ConsistencyProof(ctx, old.Size, head.Size)
		if err != nil {
			return nil, fmt.Errorf("registry: consistency proof %d→%d: %w", old.Size, head.Size, err)
		}
		b.Previous = append(b.Previous, verifier.PriorCheckpoint{Checkpoint: note, Proof: proof})
		history, notes = append(history, old), append(notes, note)
	}
	if joined {
		history, notes = append(history, head), append(notes, cp.Note)
	}
	depts, err := s.store.departments(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range depts {
		bd := verifier.Department{USCC: d.USCC, Name: d.Name, Types: d.Types}
		for _, k := range d.Keys {
			bd.Keys = append(bd.Keys, verifier.Key{
				KeyID: k.KeyID, Certificate: string(signing.EncodeCertificatePEM(k.CertDER)),
				ValidFrom: k.ValidFrom, ValidUntil: k.ValidUntil,
				RevokedFrom: k.RevokedFrom, RevocationReason: k.RevocationReason,
			})
			if k.RevokedFrom != nil && k.RevocationReason != license.ReasonKeyRotated {
				set, ok := s.bundle.compromised[k.KeyID]
				if !ok || !set.from.Equal(*k.RevokedFrom) {
					digests, err := s.anchoredBefore(ctx, d.USCC, k.KeyID, *k.RevokedFrom)
					if err != nil {
						return nil, err
					}
					set = compromisedSet{from: *k.RevokedFrom, digests: digests}
					if s.bundle.compromised == nil {
						s.bundle.compromised = map[string]compromisedSet{}
					}
					s.bundle.compromised[k.KeyID] = set
				}
				b.Compromised = append(b.Compromised, verifier.CompromisedKey{KeyID: k.KeyID, Digests: set.digests})
			}
		}
		seals, err := s.store.seals(ctx, d.USCC)
		if err != nil {
			return nil, err
		}
		for _, sl := range seals {
			bd.Seals = append(bd.Seals, verifier.Seal{ID: sl.ID, DER: sl.DER})
		}
		b.Departments = append(b.Departments, bd)
	}
	lists, err := s.store.statusLists(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range lists {
		sl, err := s.StatusList(ctx, l.USCC, l.List)
		if err != nil {
			return nil, err
		}
		b.StatusLists = append(b.StatusLists, verifier.BundleList{USCC: l.USCC, Number: l.List, Credential: sl.JSON})
	}
	raw, err := b.Sign(s.cfg.Platform.Root)
	if err != nil {
		return nil, err
	}
	sum := sm3.Sum(raw)
	s.log.Info("trust bundle signed", "sequence", seq, "bytes", len(raw), "tree_size", head.Size)
	return &SignedBundle{
		JSON: raw, ETag: fmt.Sprintf(`"%x"`, sum[:12]), Sequence: seq, ValidUntil: b.ValidUntil,
		Checkpoint: head, Note: cp.Note, gen: gen, polled: now,
		refresh: now.Add(s.cfg.StatusListValidity / 2), history: history, notes: notes,
	}, nil
}

// nextBundleSeq hands out the next bundle sequence and returns the
// checkpoints of earlier bundles to prove consistent with this one. The
// bundle's own checkpoint note joins them (joined) when the newest is older
// than historySpacing.
func (s *Service) nextBundleSeq(ctx context.Context, note string, now time.Time) (seq uint64, prev []string, joined bool, err error) {
	v, err := s.store.meta(ctx, metaBundleSeq)
	if err != nil {
		return 0, nil, false, err
	}
	if v != "" {
		if seq, err = strconv.ParseUint(v, 10, 64); err != nil {
			return 0, nil, false, fmt.Errorf("registry: stored bundle sequence %q: %w", v, err)
		}
	}
	seq++
	var hist bundleHistory
	if v, err := s.store.meta(ctx, metaBundleHist); err != nil {
		return 0, nil, false, err
	} else if v != "" {
		if err := json.Unmarshal([]byte(v), &hist); err != nil {
			return 0, nil, false, fmt.Errorf("registry: stored bundle history: %w", err)
		}
	}
	prev = slices.Clone(hist.Notes)
	if len(hist.Notes) == 0 || now.Sub(hist.Last) >= historySpacing {
		hist.Notes, hist.Last, joined = append(hist.Notes, note), now, true
	}
	if len(hist.Notes) > maxBundleHistory {
		hist.Notes = hist.Notes[len(hist.Notes)-maxBundleHistory:]
	}
	enc, err := json.Marshal(hist)
	if err != nil {
		return 0, nil, false, err
	}
	if err := s.store.setMeta(ctx, metaBundleHist, string(enc)); err != nil {
		return 0, nil, false, err
	}
	if err := s.store.setMeta(ctx, metaBundleSeq, strconv.FormatUint(seq, 10)); err != nil {
		return 0, nil, false, err
	}
	return seq, prev, joined, nil
}

// anchoredBefore returns the sorted compromise digests of the licenses a
// department anchored with keyID before from: their credentials' and QR
// forms' signatures.
func (s *Service) anchoredBefore(ctx context.Context, uscc, keyID string, from time.Time) ([]byte, error) {
	var digests [][]byte
	err := s.store.eachAnchor(ctx, uscc, func(rcpt ledger.Receipt, compact string) error {
		ev, err := ledger.DecodeEntry(rcpt.Entry)
		if err != nil || ev.Anchor == nil || ev.Anchor.KeyID != keyID || !ev.At.Before(from) {
			return nil
		}
		d := verifier.CompromiseDigest(ev.Anchor.Signature)
		digests = append(digests, d[:])
		if compact != "" {
			if c, err := credential.ParseCompact(compact); err == nil {
				d := verifier.CompromiseDigest(c.Signature())
				digests = append(digests, d[:])
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(digests, bytes.Compare)
	digests = slices.CompactFunc(digests, bytes.Equal)
	return bytes.Join(digests, nil), nil
}

// RefreshReceipt proves a license's anchor against the checkpoint of the
// current trust bundle, so that an offline verifier holding that bundle (or
// a later one) can check it. A license newer than the bundle keeps the
// receipt it has.
func (s *Service) RefreshReceipt(ctx context.Context, lic *License) error {
	b, err := s.Bundle(ctx)
	if err != nil {
		return err
	}
	r := lic.Receipt
	if r.LogIndex >= b.Checkpoint.Size {
		return nil // newer than the bundle
	}
	// The newest checkpoint later bundles will prove that holds the
	// license, so that the receipt stays checkable longest; failing that,
	// the bundle's own.
	size, note := b.Checkpoint.Size, b.Note
	if last := len(b.history) - 1; last >= 0 && r.LogIndex < b.history[last].Size {
		size, note = b.history[last].Size, b.notes[last]
	}
	if r.TreeSize == size && r.Checkpoint == note {
		return nil
	}
	proof, err := s.ledger.InclusionProof(ctx, r.LogIndex, size)
	if err != nil {
		return fmt.Errorf("registry: inclusion proof of %s: %w", lic.Identifier, err)
	}
	lic.Receipt = ledger.Receipt{Entry: r.Entry, LogIndex: r.LogIndex, TreeSize: size, InclusionProof: proof, Checkpoint: note}
	return nil
}
