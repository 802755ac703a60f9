package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/credential"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/signing"
	"zhengzhao/signing/seal"
)

// maxCachedCheckpoints bounds the verified receipt checkpoints an index keeps.
const maxCachedCheckpoints = 256

// index is a bundle parsed once for fast verification: departments and keys
// by id, parsed certificates and keys, the chain result per key, the invalid
// licenses by identifier and the verified checkpoints.
type index struct {
	roots []*smx509.Certificate
	depts map[string]*deptEntry // by USCC
	lists map[listKey]*listEntry
	// listByURL finds a usable list by the exact URL credentials name.
	listByURL map[string]*listEntry
	logKey    *ecdsa.PublicKey
	logErr    error
	origin    string
	// head is the bundle's checkpoint; proven holds the root of it and of
	// every earlier checkpoint proved consistent with it, by tree size.
	head   tlog.Checkpoint
	proven map[uint64][]byte
	// compromised holds, per compromised key id, the sorted digests of
	// signatures anchored before the compromise.
	compromised map[string][]byte
	// types are the catalog's type versions the bundle carries; latest is
	// the highest version of each code.
	types  map[typeKey]*license.Type
	latest map[string]int
	// asOf is the offline status reason's tail: "截至 T（信任包第 S 版）".
	asOf     string
	problems []error // what makes the bundle unacceptable to ParseBundle

	mu          sync.Mutex
	checkpoints map[string]tlog.Checkpoint // verified notes
}

type deptEntry struct {
	dept  *Department
	types map[string]bool
	keys  map[string]*keyEntry  // by key id
	seals map[string]*seal.Seal // by esID, made by a root and listing a key of the department
}

// keyEntry is one department key with its certificate checked once.
type keyEntry struct {
	key  *Key
	cert *smx509.Certificate
	pub  *ecdsa.PublicKey
	// err is set when the certificate cannot be used at all (does not parse,
	// is not SM2, does not match the key id or the department).
	err error
	// chainErr is the certificate chain result; notBefore..notAfter is where
	// both the certificate and the root that issued it are valid.
	chainErr            error
	notBefore, notAfter time.Time
}

// newIndex indexes b. It never fails: problems are recorded in
// index.problems (for ParseBundle) and on the affected keys (for Verify).
func newIndex(b *TrustBundle) *index {
	ix := &index{
		depts:       make(map[string]*deptEntry, len(b.Departments)),
		lists:       make(map[listKey]*listEntry, len(b.StatusLists)),
		listByURL:   make(map[string]*listEntry, len(b.StatusLists)),
		origin:      b.Log.Origin,
		checkpoints: make(map[string]tlog.Checkpoint),
		proven:      make(map[uint64][]byte, 1+len(b.Previous)),
		compromised: make(map[string][]byte, len(b.Compromised)),
		asOf:        "截至 " + when(b.IssuedAt) + "（信任包第 " + strconv.FormatUint(b.Sequence, 10) + " 版）",
	}
	ix.indexRoots(b.Roots)
	ix.indexLog(b)
	for i := range b.Departments {
		ix.indexDepartment(&b.Departments[i])
	}
	for i := range b.StatusLists {
		ix.indexList(&b.StatusLists[i])
	}
	ix.indexCompromised(b.Compromised)
	ix.indexTypes(b.Types)
	return ix
}

func (ix *index) problem(format string, args ...any) {
	ix.problems = append(ix.problems, fmt.Errorf(format, args...))
}

func (ix *index) indexRoots(roots []string) {
	if len(roots) == 0 {
		ix.problem("no root certificate")
	}
	for i, p := range roots {
		c, err := signing.ParseCertificatePEM([]byte(p))
		if err != nil {
			ix.problem("roots[%d]: %w", i, err)
			continue
		}
		if !c.BasicConstraintsValid || !c.IsCA {
			ix.problem("roots[%d] is not a CA certificate", i)
			continue
		}
		ix.roots = append(ix.roots, c)
	}
}

func (ix *index) indexLog(b *TrustBundle) {
	if b.Log.Origin == "" {
		ix.logErr = errors.New("the bundle names no log origin")
		ix.problem("log origin is empty")
		return
	}
	pub, err := parsePublicKeyPEM(b.Log.PublicKey)
	if err != nil {
		ix.logErr = fmt.Errorf("log public key: %w", err)
		ix.problem("log public key: %w", err)
		return
	}
	ix.logKey = pub
	cp, err := tlog.VerifyCheckpoint(b.Checkpoint, b.Log.Origin, pub)
	if err != nil {
		ix.problem("checkpoint: %w", err)
		return
	}
	ix.checkpoints[b.Checkpoint] = cp
	ix.head = cp
	ix.proven[cp.Size] = cp.Root
	if len(b.Previous) > maxPreviousCheckpoints {
		ix.problem("%d previous checkpoints, limit %d", len(b.Previous), maxPreviousCheckpoints)
		return
	}
	for i, pc := range b.Previous {
		old, err := tlog.VerifyCheckpoint(pc.Checkpoint, b.Log.Origin, pub)
		if err != nil {
			ix.problem("previous_checkpoints[%d]: %w", i, err)
			continue
		}
		if err := tlog.VerifyConsistency(old.Size, cp.Size, pc.Proof, old.Root, cp.Root); err != nil {
			ix.problem("previous_checkpoints[%d] (size %d) is not consistent with the checkpoint (size %d): %w", i, old.Size, cp.Size, err)
			continue
		}
		ix.checkpoints[pc.Checkpoint] = old
		ix.proven[old.Size] = old.Root
	}
}

// vouches reports whether the bundle vouches for a checkpoint: it is the
// bundle's own tree, or an earlier one the bundle proves consistent with it.
func (ix *index) vouches(cp tlog.Checkpoint) bool {
	root, ok := ix.proven[cp.Size]
	return ok && bytes.Equal(root, cp.Root)
}

// listKey names a department's status list.
type listKey struct {
	uscc string
	n    int
}

// listEntry is a bundle status list, its signature checked once.
type listEntry struct {
	list *credential.StatusListCredential
	err  error // why the list cannot be used; the status is then unknown
}

// indexList checks a status list's signature with the department key its
// proof names, which must have been valid (and not yet revoked) when it
// signed. A list that fails is kept with its error, so that Verify can say
// why a status is unknown.
func (ix *index) indexList(bl *BundleList) {
	k := listKey{bl.USCC, bl.Number}
	if _, dup := ix.lists[k]; dup {
		ix.problem("status list %s/%d listed twice", bl.USCC, bl.Number)
		return
	}
	le := &listEntry{}
	ix.lists[k] = le
	// A list that fails its checks does not spoil the bundle: the statuses
	// it would give are unknown (Verify says why), the others stand.
	le.list, le.err = ix.checkList(bl.Credential, bl.USCC, bl.Number)
	if le.err == nil {
		ix.listByURL[le.list.ID] = le
	}
}

// checkList checks a status list credential that should be list n of
// department uscc.
func (ix *index) checkList(raw []byte, uscc string, n int) (*credential.StatusListCredential, error) {
	l, err := credential.ParseStatusListCredential(raw)
	if err != nil {
		return nil, err
	}
	if l.USCC != uscc || l.Number != n {
		return nil, fmt.Errorf("the credential is list %s/%d", l.USCC, l.Number)
	}
	de := ix.depts[l.USCC]
	if de == nil {
		return nil, fmt.Errorf("department %s is not in the bundle", l.USCC)
	}
	ke := de.keys[l.KeyID]
	switch {
	case ke == nil:
		return nil, fmt.Errorf("signed with key %s, not a key of %s", l.KeyID, l.USCC)
	case ke.err != nil || ke.chainErr != nil:
		return nil, fmt.Errorf("signed with unusable key %s", l.KeyID)
	}
	signed := l.Created
	if signed.IsZero() {
		signed = l.ValidFrom
	}
	if err := ke.usableAt(signed); err != nil {
		return nil, fmt.Errorf("signed at %s: %w", when(signed), err)
	}
	if err := l.VerifyProof(ke.pub); err != nil {
		return nil, err
	}
	return l, nil
}

// usableAt reports why the key could not sign at t, or nil.
func (ke *keyEntry) usableAt(t time.Time) error {
	k := ke.key
	switch {
	case t.Before(k.ValidFrom) || (!k.ValidUntil.IsZero() && t.After(k.ValidUntil)):
		return fmt.Errorf("key %s was not in use", k.KeyID)
	case t.Before(ke.notBefore) || t.After(ke.notAfter):
		return fmt.Errorf("certificate of key %s was not valid", k.KeyID)
	case k.RevokedFrom != nil && !t.Before(*k.RevokedFrom):
		return fmt.Errorf("key %s was revoked from %s", k.KeyID, when(*k.RevokedFrom))
	}
	return nil
}

// indexCompromised checks and keeps each compromised key's digest set.
func (ix *index) indexCompromised(cks []CompromisedKey) {
	for i, ck := range cks {
		if _, dup := ix.compromised[ck.KeyID]; dup {
			ix.problem("compromised[%d]: key %s listed twice", i, ck.KeyID)
			continue
		}
		if len(ck.Digests)%CompromiseDigestSize != 0 {
			ix.problem("compromised[%d]: digests are %d bytes, not a multiple of %d", i, len(ck.Digests), CompromiseDigestSize)
			continue
		}
		for j := CompromiseDigestSize; j < len(ck.Digests); j += CompromiseDigestSize {
			if bytes.Compare(ck.Digests[j-CompromiseDigestSize:j], ck.Digests[j:j+CompromiseDigestSize]) >= 0 {
				ix.problem("compromised[%d]: digests are not sorted and distinct", i)
				break
			}
		}
		ix.compromised[ck.KeyID] = ck.Digests
	}
}

// anchoredBeforeCompromise reports whether a signature by the compromised
// key keyID is one the bundle lists as anchored before the compromise.
func (ix *index) anchoredBeforeCompromise(keyID string, signature []byte) bool {
	set := ix.compromised[keyID]
	if len(set) == 0 || len(signature) == 0 {
		return false
	}
	d := CompromiseDigest(signature)
	n := len(set) / CompromiseDigestSize
	i := sort.Search(n, func(i int) bool {
		return bytes.Compare(set[i*CompromiseDigestSize:(i+1)*CompromiseDigestSize], d[:]) >= 0
	})
	return i < n && bytes.Equal(set[i*CompromiseDigestSize:(i+1)*CompromiseDigestSize], d[:])
}

func (ix *index) indexDepartment(d *Department) {
	if err := license.ValidateUSCC(d.USCC); err != nil {
		ix.problem("department %q: %w", d.USCC, err)
	}
	if _, dup := ix.depts[d.USCC]; dup {
		ix.problem("department %s listed twice", d.USCC)
		return
	}
	de := &deptEntry{dept: d, types: make(map[string]bool, len(d.Types)), keys: make(map[string]*keyEntry, len(d.Keys))}
	for _, t := range d.Types {
		de.types[t] = true
	}
	for i := range d.Keys {
		k := &d.Keys[i]
		if _, dup := de.keys[k.KeyID]; dup {
			ix.problem("department %s: key %s listed twice", d.USCC, k.KeyID)
			continue
		}
		ke := ix.indexKey(d.USCC, k)
		if ke.err != nil {
			ix.problem("department %s: key %s: %w", d.USCC, k.KeyID, ke.err)
		} else if ke.chainErr != nil {
			ix.problem("department %s: key %s: %w", d.USCC, k.KeyID, ke.chainErr)
		}
		de.keys[k.KeyID] = ke
	}
	de.seals = make(map[string]*seal.Seal, len(d.Seals))
	for i := range d.Seals {
		ix.indexSeal(de, &d.Seals[i])
	}
	ix.depts[d.USCC] = de
}

// isRoot reports whether der is one of the platform root certificates. Only
// a root makes seals: a department certificate chains to the root too, but a
// department must not make its own (or another's) seals.
func (ix *index) isRoot(der []byte) bool {
	for _, r := range ix.roots {
		if bytes.Equal(r.Raw, der) {
			return true
		}
	}
	return false
}

// indexSeal parses a department seal and checks once that a root made it and
// that it lists one of the department's keys.
func (ix *index) indexSeal(de *deptEntry, bs *Seal) {
	uscc := de.dept.USCC
	sl, err := seal.ParseSeal(bs.DER)
	if err != nil {
		ix.problem("department %s: seal %s: %w", uscc, bs.ID, err)
		return
	}
	if sl.ID != bs.ID {
		ix.problem("department %s: seal listed as %s is %s", uscc, bs.ID, sl.ID)
		return
	}
	if _, dup := de.seals[sl.ID]; dup {
		ix.problem("department %s: seal %s listed twice", uscc, sl.ID)
		return
	}
	if err := sl.Verify(ix.roots); err != nil {
		ix.problem("department %s: seal %s: %w", uscc, sl.ID, err)
		return
	}
	if !ix.isRoot(sl.MakerCert) {
		ix.problem("department %s: seal %s was not made by a platform root", uscc, sl.ID)
		return
	}
	for _, ke := range de.keys {
		if ke.cert != nil && sl.Lists(ke.cert.Raw) {
			de.seals[sl.ID] = sl
			return
		}
	}
	ix.problem("department %s: seal %s lists none of the department's keys", uscc, sl.ID)
}

// indexKey parses a key's certificate and checks its chain once. The
// signature part of the chain does not depend on time, so it is checked here
// at the start of the window where the certificate and its root are both
// valid; Verify then only checks that the anchor time falls in that window.
func (ix *index) indexKey(uscc string, k *Key) *keyEntry {
	ke := &keyEntry{key: k}
	cert, err := signing.ParseCertificatePEM([]byte(k.Certificate))
	if err != nil {
		ke.err = fmt.Errorf("certificate: %w", err)
		return ke
	}
	ke.cert = cert
	if got := signing.KeyID(cert.Raw); got != k.KeyID {
		ke.err = fmt.Errorf("key id is %s for this certificate", got)
		return ke
	}
	if got := signing.DepartmentUSCC(cert); got != uscc {
		ke.err = fmt.Errorf("certificate names department %q", got)
		return ke
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		ke.err = errors.New("certificate key is not SM2")
		return ke
	}
	ke.pub = pub
	var parent *smx509.Certificate
	for _, r := range ix.roots {
		if cert.CheckSignatureFrom(r) == nil {
			parent = r
			break
		}
	}
	if parent == nil {
		ke.chainErr = errors.New("certificate is not issued by a platform root")
		return ke
	}
	ke.notBefore = later(cert.NotBefore, parent.NotBefore)
	ke.notAfter = earlier(cert.NotAfter, parent.NotAfter)
	if ke.notAfter.Before(ke.notBefore) {
		ke.chainErr = errors.New("certificate is not valid at any time its root is")
		return ke
	}
	if err := signing.VerifyDepartmentCertificate(cert, []*smx509.Certificate{parent}, ke.notBefore); err != nil {
		ke.chainErr = err
	}
	return ke
}

// checkpoint verifies a checkpoint note with the log key, remembering the
// notes that verified (the bundle's own and those of receipts) so that a
// batch of licenses sharing one checkpoint costs one signature check.
func (ix *index) checkpoint(note string) (tlog.Checkpoint, error) {
	ix.mu.Lock()
	cp, ok := ix.checkpoints[note]
	ix.mu.Unlock()
	if ok {
		return cp, nil
	}
	if ix.logErr != nil {
		return tlog.Checkpoint{}, ix.logErr
	}
	cp, err := tlog.VerifyCheckpoint(note, ix.origin, ix.logKey)
	if err != nil {
		return tlog.Checkpoint{}, err
	}
	ix.mu.Lock()
	if len(ix.checkpoints) >= maxCachedCheckpoints {
		clear(ix.checkpoints)
	}
	ix.checkpoints[note] = cp
	ix.mu.Unlock()
	return cp, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
