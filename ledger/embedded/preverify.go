package embedded

import (
	"crypto/ecdsa"
	"runtime"
	"sync"

	"zhengzhao/ledger"
	"zhengzhao/signing"
)

// The writer is one goroutine and an SM2 verification is most of what it
// does per anchor. So Anchor verifies its anchors' signatures in the
// caller's goroutine (many callers, all cores) before queuing them, and the
// writer accepts a signature checked that way with the same key instead of
// verifying it again. Everything else the rules say — the key's validity at
// the commit's time, duplicates, the predecessor — the writer still checks.

// parallelVerifyMin is the number of anchors from which one Anchor call
// verifies on several goroutines.
const parallelVerifyMin = 64

// checked holds signatures verified ahead of the writer: the key is the
// signed message followed by the signature, the value the public key that
// verified it.
type checked struct {
	m sync.Map
	// pubs holds the public keys preverify has looked up, by key id (a
	// key id names one certificate, so its key never changes).
	pubs sync.Map
}

func checkedKey(msg, sig []byte) string { return string(msg) + string(sig) }

// verify is the State's signature check: a signature verified ahead with
// the same key passes, anything else is verified now.
func (c *checked) verify(pub *ecdsa.PublicKey, msg, sig []byte) error {
	if v, ok := c.m.Load(checkedKey(msg, sig)); ok && v.(*ecdsa.PublicKey).Equal(pub) {
		return nil
	}
	return signing.Verify(pub, msg, sig)
}

// preverify verifies the anchors' signatures with the keys they name, as
// the state knows them now, and remembers those that verify. It returns the
// keys to forget once the anchors are committed or refused. A signature
// that does not verify (or names no known key) is left to the writer, which
// refuses it with the reason.
func (l *Ledger) preverify(anchors []ledger.Anchor) []string {
	pubs := make([]*ecdsa.PublicKey, len(anchors))
	missing := false
	for i, a := range anchors {
		if v, ok := l.checked.pubs.Load(a.KeyID); ok {
			pubs[i] = v.(*ecdsa.PublicKey)
		} else {
			missing = true
		}
	}
	if missing {
		// The writer holds l.mu through its fsync; a key's public key never
		// changes, so it is read under l.mu once and kept.
		l.mu.RLock()
		for i, a := range anchors {
			if pubs[i] == nil && l.state != nil {
				if pub, ok := l.state.KeyPublic(a.KeyID); ok {
					pubs[i] = pub
					l.checked.pubs.Store(a.KeyID, pub)
				}
			}
		}
		l.mu.RUnlock()
	}
	keys := make([]string, len(anchors))
	check := func(i int) {
		a := &anchors[i]
		if pubs[i] == nil || len(a.ProofHash) != ledger.HashSize || len(a.DocumentHash) != ledger.HashSize {
			return
		}
		msg := make([]byte, 0, 2*ledger.HashSize)
		msg = append(append(msg, a.ProofHash...), a.DocumentHash...)
		if signing.Verify(pubs[i], msg, a.Signature) != nil {
			return
		}
		keys[i] = checkedKey(msg, a.Signature)
		l.checked.m.Store(keys[i], pubs[i])
	}
	workers := runtime.GOMAXPROCS(0)
	if len(anchors) < parallelVerifyMin || workers < 2 {
		for i := range anchors {
			check(i)
		}
		return keys
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(anchors); i += workers {
				check(i)
			}
		})
	}
	wg.Wait()
	return keys
}

// forget drops what preverify remembered.
func (l *Ledger) forget(keys []string) {
	for _, k := range keys {
		if k != "" {
			l.checked.m.Delete(k)
		}
	}
}
