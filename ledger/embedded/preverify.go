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
// verifying it again. A signature made with a key this process holds (the
// registry's department keys, in the one-machine default) is verified with
// that key, at a fifth of the cost and with the same answer
// (signing.VerifyHeld). Everything else the rules say — the key's validity at
// the commit's time, duplicates, the predecessor — the writer still checks.

// parallelVerifyMin is the number of anchors from which one Anchor call
// verifies on several goroutines.
const parallelVerifyMin = 64

// checked holds signatures verified ahead of the writer: the key is the
// signed message followed by the signature, the value the public key that
// verified it.
type checked struct {
	mu sync.Mutex
	m  map[string]*ecdsa.PublicKey
	// pubs holds the public keys preverify has looked up, by key id (a
	// key id names one certificate, so its key never changes).
	pubs sync.Map
}

// checkedKeySize is the size of a key of checked.m: an anchor's signed
// message (two hashes) and its signature.
const checkedKeySize = 2*ledger.HashSize + signing.SignatureSize

// appendCheckedKey appends the key of checked.m for msg and sig to b.
func appendCheckedKey(b, msg, sig []byte) []byte { return append(append(b, msg...), sig...) }

func (c *checked) store(key string, pub *ecdsa.PublicKey) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]*ecdsa.PublicKey)
	}
	c.m[key] = pub
	c.mu.Unlock()
}

// verify is the State's signature check: a signature verified ahead with
// the same key passes, anything else is verified now.
func (c *checked) verify(pub *ecdsa.PublicKey, msg, sig []byte) error {
	var buf [checkedKeySize]byte
	k := appendCheckedKey(buf[:0], msg, sig)
	c.mu.Lock()
	v, ok := c.m[string(k)] // no allocation: the conversion is only for the lookup
	c.mu.Unlock()
	// The keys preverify used are the state's own: the same pointer.
	if ok && (v == pub || v.Equal(pub)) {
		return nil
	}
	return signing.VerifyHeld(pub, msg, sig)
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
		if signing.VerifyHeld(pubs[i], msg, a.Signature) != nil {
			return
		}
		keys[i] = string(appendCheckedKey(make([]byte, 0, checkedKeySize), msg, a.Signature))
		l.checked.store(keys[i], pubs[i])
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
	l.checked.mu.Lock()
	defer l.checked.mu.Unlock()
	for _, k := range keys {
		if k != "" {
			delete(l.checked.m, k)
		}
	}
}
