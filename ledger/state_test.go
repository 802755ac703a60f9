package ledger_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/ledgertest"
	"zhengzhao/license"
	"zhengzhao/signing"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func register(d *ledgertest.Dept, at time.Time) ledger.Event {
	dept, key := d.Department, d.Key
	return ledger.Event{V: 1, Kind: ledger.KindDepartmentRegistered, At: at, Department: &dept, Key: &key}
}

func addKey(k ledger.Key, at time.Time) ledger.Event {
	return ledger.Event{V: 1, Kind: ledger.KindKeyAdded, At: at, Key: &k}
}

func revoke(r ledger.KeyRevocation, at time.Time) ledger.Event {
	return ledger.Event{V: 1, Kind: ledger.KindKeyRevoked, At: at, Revocation: &r}
}

func anchor(a ledger.Anchor, at time.Time) ledger.Event {
	return ledger.Event{V: 1, Kind: ledger.KindLicenseAnchored, At: at, Anchor: &a}
}

func status(id, issuer string, s license.Status, at time.Time) ledger.Event {
	return statusWith(id, issuer, s, "other", at)
}

func statusWith(id, issuer string, s license.Status, reason string, at time.Time) ledger.Event {
	return ledger.Event{V: 1, Kind: ledger.KindLicenseStatus, At: at, Status: &ledger.StatusChange{Identifier: id, Issuer: issuer, Status: s, Reason: reason}}
}

// p256Cert returns a self-signed NIST P-256 certificate: not SM2.
func p256Cert(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "p256"}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestStateRules(t *testing.T) {
	w := ledgertest.NewWorld(t, t0)
	d := w.NewDepartment("某市市场监督管理局")
	other := w.NewDepartment("某区市场监督管理局")
	unregistered := w.NewDepartment("未登记部门")
	rotated, rotatedSigner := d.NewKey(t0.Add(-time.Hour), t0.AddDate(2, 0, 0))
	short, shortSigner := d.NewKey(t0.Add(-time.Hour), t0.Add(time.Hour))
	anchored := d.Anchor()
	revokedLicense := d.Anchor()

	// base is the history every case starts from.
	base := []ledger.Event{
		register(d, t0),
		register(other, t0),
		addKey(rotated, t0),
		addKey(short, t0),
		anchor(anchored, t0),
		anchor(revokedLicense, t0),
		status(revokedLicense.Identifier, d.Department.USCC, license.StatusRevoked, t0),
	}

	with := func(f func(*ledger.Anchor)) ledger.Event {
		a := d.Anchor()
		f(&a)
		return anchor(a, t0.Add(time.Minute))
	}
	deptWith := func(f func(*ledger.Department, *ledger.Key)) ledger.Event {
		n := w.NewDepartment("新部门")
		f(&n.Department, &n.Key)
		return register(n, t0)
	}
	keyWith := func(f func(*ledger.Key)) ledger.Event {
		k, _ := d.NewKey(t0.Add(-time.Hour), t0.AddDate(1, 0, 0))
		f(&k)
		return addKey(k, t0)
	}
	later := t0.Add(time.Minute)
	tests := []struct {
		name  string
		event ledger.Event
		want  error // nil: accepted
	}{
		// Departments.
		{"register new department", deptWith(func(*ledger.Department, *ledger.Key) {}), nil},
		{"register twice", register(d, t0), ledger.ErrDuplicate},
		{"bad USCC", deptWith(func(dp *ledger.Department, k *ledger.Key) { dp.USCC = "123"; k.Department = "123" }), ledger.ErrInvalidEvent},
		{"empty name", deptWith(func(dp *ledger.Department, _ *ledger.Key) { dp.Name = "" }), ledger.ErrInvalidEvent},
		{"no types", deptWith(func(dp *ledger.Department, _ *ledger.Key) { dp.Types = nil }), ledger.ErrInvalidEvent},
		{"type twice", deptWith(func(dp *ledger.Department, _ *ledger.Key) { dp.Types = append(dp.Types, dp.Types[0]) }), ledger.ErrInvalidEvent},
		{"key of another department", deptWith(func(_ *ledger.Department, k *ledger.Key) { k.Department = d.Department.USCC }), ledger.ErrInvalidEvent},
		{"missing key", ledger.Event{V: 1, Kind: ledger.KindDepartmentRegistered, At: t0, Department: &unregistered.Department}, ledger.ErrInvalidEvent},

		// Keys.
		{"add key", keyWith(func(*ledger.Key) {}), nil},
		{"add key twice", addKey(rotated, t0), ledger.ErrDuplicate},
		{"key of unknown department", addKey(unregistered.Key, t0), ledger.ErrUnknownDepartment},
		{"key id not of the certificate", keyWith(func(k *ledger.Key) { k.KeyID = "00112233aabbccdd" }), ledger.ErrInvalidEvent},
		{"certificate of another department", keyWith(func(k *ledger.Key) {
			*k = other.Key
			k.Department = d.Department.USCC
		}), ledger.ErrInvalidEvent},
		{"not an SM2 certificate", keyWith(func(k *ledger.Key) {
			k.CertDER = p256Cert(t)
			k.KeyID = signing.KeyID(k.CertDER)
		}), ledger.ErrInvalidEvent},
		{"garbage certificate", keyWith(func(k *ledger.Key) {
			k.CertDER = []byte{0x30, 0x03, 0x02, 0x01, 0x01}
			k.KeyID = signing.KeyID(k.CertDER)
		}), ledger.ErrInvalidEvent},
		{"validity reversed", keyWith(func(k *ledger.Key) { k.ValidUntil = k.ValidFrom.Add(-time.Second) }), ledger.ErrInvalidEvent},

		// Key revocations.
		{"revoke key", revoke(ledger.KeyRevocation{Department: d.Department.USCC, KeyID: rotated.KeyID, RevokedFrom: t0, Reason: "key_compromise"}, later), nil},
		{"revoke unknown key", revoke(ledger.KeyRevocation{Department: d.Department.USCC, KeyID: "00112233aabbccdd", RevokedFrom: t0, Reason: "key_compromise"}, later), ledger.ErrNotFound},
		{"revoke key of another department", revoke(ledger.KeyRevocation{Department: other.Department.USCC, KeyID: rotated.KeyID, RevokedFrom: t0, Reason: "key_compromise"}, later), ledger.ErrInvalidEvent},
		{"revoke for unknown department", revoke(ledger.KeyRevocation{Department: unregistered.Department.USCC, KeyID: rotated.KeyID, RevokedFrom: t0, Reason: "key_compromise"}, later), ledger.ErrUnknownDepartment},
		{"revoke without time", revoke(ledger.KeyRevocation{Department: d.Department.USCC, KeyID: rotated.KeyID}, later), ledger.ErrInvalidEvent},

		// Anchors.
		{"anchor", with(func(*ledger.Anchor) {}), nil},
		{"anchor with rotated key", anchor(d.AnchorWith(rotated.KeyID, rotatedSigner), later), nil},
		{"anchor twice", anchor(anchored, later), ledger.ErrDuplicate},
		{"bad signature", with(func(a *ledger.Anchor) { a.ProofHash[0] ^= 1 }), ledger.ErrBadSignature},
		{"signature by another key", anchor(d.AnchorWith(d.Key.KeyID, rotatedSigner), later), ledger.ErrBadSignature},
		{"unknown key", with(func(a *ledger.Anchor) { a.KeyID = "00112233aabbccdd" }), ledger.ErrKeyNotValid},
		{"key of another department", anchor(d.AnchorWith(other.Key.KeyID, other.Signer), later), ledger.ErrKeyNotValid},
		{"key expired", anchor(d.AnchorWith(short.KeyID, shortSigner), t0.Add(2*time.Hour)), ledger.ErrKeyNotValid},
		{"key not yet valid", anchor(d.Anchor(), d.Key.ValidFrom.Add(-time.Second)), ledger.ErrKeyNotValid},
		{"unknown department", anchor(unregistered.Anchor(), later), ledger.ErrUnknownDepartment},
		{"type not allowed", with(func(a *ledger.Anchor) {
			id, _ := license.ParseIdentifier(a.Identifier)
			nid, _ := license.NewIdentifier(ledgertest.OtherTypeCode, id.IssuerUSCC, id.Serial, id.Version)
			a.Identifier, a.TypeCode = nid.String(), ledgertest.OtherTypeCode
		}), ledger.ErrInvalidEvent},
		{"identifier of another issuer", with(func(a *ledger.Anchor) { a.Identifier = other.Identifier("5") }), ledger.ErrInvalidEvent},
		{"type differs from identifier", with(func(a *ledger.Anchor) { a.TypeCode = ledgertest.OtherTypeCode }), ledger.ErrInvalidEvent},
		{"bad identifier check", with(func(a *ledger.Anchor) {
			// Another check character than the right one (USCCs, hence
			// check characters, differ from run to run).
			wrong := "0"
			if strings.HasSuffix(a.Identifier, "0") {
				wrong = "1"
			}
			a.Identifier = a.Identifier[:len(a.Identifier)-1] + wrong
		}), ledger.ErrInvalidEvent},
		{"empty identifier", with(func(a *ledger.Anchor) { a.Identifier = "" }), ledger.ErrInvalidEvent},
		{"short proof hash", with(func(a *ledger.Anchor) { a.ProofHash = a.ProofHash[:16] }), ledger.ErrInvalidEvent},
		{"long document hash", with(func(a *ledger.Anchor) { a.DocumentHash = append(a.DocumentHash, 0) }), ledger.ErrInvalidEvent},
		{"short signature", with(func(a *ledger.Anchor) { a.Signature = a.Signature[:63] }), ledger.ErrInvalidEvent},
		{"no valid_from", with(func(a *ledger.Anchor) { a.ValidFrom = time.Time{} }), ledger.ErrInvalidEvent},
		{"valid_until before valid_from", with(func(a *ledger.Anchor) { a.ValidUntil = a.ValidFrom.Add(-time.Hour) }), ledger.ErrInvalidEvent},
		{"no valid_until (长期)", with(func(a *ledger.Anchor) { a.ValidUntil = time.Time{} }), nil},

		// Status changes.
		{"suspend", status(anchored.Identifier, d.Department.USCC, license.StatusSuspended, later), nil},
		{"revoke", status(anchored.Identifier, d.Department.USCC, license.StatusRevoked, later), nil},
		{"already active", status(anchored.Identifier, d.Department.USCC, license.StatusActive, later), ledger.ErrInvalidEvent},
		{"unknown status", status(anchored.Identifier, d.Department.USCC, "expired", later), ledger.ErrInvalidEvent},
		{"another issuer", status(anchored.Identifier, other.Department.USCC, license.StatusSuspended, later), ledger.ErrInvalidEvent},
		{"unknown license", status(d.Identifier("404"), d.Department.USCC, license.StatusSuspended, later), ledger.ErrNotFound},
		{"revoked is final", status(revokedLicense.Identifier, d.Department.USCC, license.StatusActive, later), ledger.ErrFinal},
		{"cancel", statusWith(anchored.Identifier, d.Department.USCC, license.StatusCancelled, "deregistered", later), nil},
		{"withdraw", statusWith(anchored.Identifier, d.Department.USCC, license.StatusWithdrawn, "issued_in_error", later), nil},
		{"superseded only by a version", statusWith(anchored.Identifier, d.Department.USCC, license.StatusSuperseded, "changed", later), ledger.ErrInvalidEvent},
		{"reason is free text", statusWith(anchored.Identifier, d.Department.USCC, license.StatusRevoked, "张三 110101199003074514 违法", later), ledger.ErrInvalidEvent},
		{"reason does not fit the status", statusWith(anchored.Identifier, d.Department.USCC, license.StatusCancelled, "penalty", later), ledger.ErrInvalidEvent},
		{"no reason", statusWith(anchored.Identifier, d.Department.USCC, license.StatusSuspended, "", later), ledger.ErrInvalidEvent},
		{"revoke key with free-text reason", revoke(ledger.KeyRevocation{Department: d.Department.USCC, KeyID: rotated.KeyID, RevokedFrom: t0, Reason: "王五说的"}, later), ledger.ErrInvalidEvent},

		// Shape.
		{"wrong version", ledger.Event{V: 2, Kind: ledger.KindKeyAdded, At: t0, Key: &rotated}, ledger.ErrInvalidEvent},
		{"unknown kind", ledger.Event{V: 1, Kind: "seal.issued", At: t0, Key: &rotated}, ledger.ErrInvalidEvent},
		{"two payloads", ledger.Event{V: 1, Kind: ledger.KindKeyAdded, At: t0, Key: &rotated, Anchor: &anchored}, ledger.ErrInvalidEvent},
		{"no time", ledger.Event{V: 1, Kind: ledger.KindKeyAdded, Key: &rotated}, ledger.ErrInvalidEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ledger.NewState()
			if err := s.ApplyAll(base, 0); err != nil {
				t.Fatalf("base history: %v", err)
			}
			before := snapshot(t, s, d, other)
			err := s.Apply(tt.event, uint64(len(base)))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Apply: %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Apply: %v, want %v", err, tt.want)
			}
			if after := snapshot(t, s, d, other); after != before {
				t.Fatalf("a refused event changed the state:\n%s\nwant\n%s", after, before)
			}
		})
	}
}

// snapshot renders what the state knows of the departments and their
// licenses.
func snapshot(t *testing.T, s *ledger.State, depts ...*ledgertest.Dept) string {
	t.Helper()
	var out string
	for _, d := range depts {
		ds, err := s.Department(d.Department.USCC)
		if err != nil {
			t.Fatal(err)
		}
		out += mustJSON(t, ds) + "\n"
	}
	return out
}

func TestKeyRevocationTime(t *testing.T) {
	w := ledgertest.NewWorld(t, t0)
	d := w.NewDepartment("某市公安局")
	s := ledger.NewState()
	if err := s.Apply(register(d, t0), 0); err != nil {
		t.Fatal(err)
	}
	before := d.Anchor()
	if err := s.Apply(anchor(before, t0.Add(time.Hour)), 1); err != nil {
		t.Fatal(err)
	}
	// Revoked from two hours in: a license anchored before stays, later ones are refused.
	rev := ledger.KeyRevocation{Department: d.Department.USCC, KeyID: d.Key.KeyID, RevokedFrom: t0.Add(2 * time.Hour), Reason: "key_rotated"}
	if err := s.Apply(revoke(rev, t0.Add(3*time.Hour)), 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(anchor(d.Anchor(), t0.Add(2*time.Hour)), 3); !errors.Is(err, ledger.ErrKeyNotValid) {
		t.Fatalf("anchor at the revocation time: %v, want ErrKeyNotValid", err)
	}
	if err := s.Apply(anchor(d.Anchor(), t0.Add(2*time.Hour-time.Microsecond)), 3); err != nil {
		t.Fatalf("anchor just before the revocation time: %v", err)
	}
	// Revoking again later is a duplicate; earlier (compromise found to
	// date from before) moves the revocation.
	later := rev
	later.RevokedFrom = t0.Add(5 * time.Hour)
	if err := s.Apply(revoke(later, t0.Add(4*time.Hour)), 4); !errors.Is(err, ledger.ErrDuplicate) {
		t.Fatalf("later revocation: %v, want ErrDuplicate", err)
	}
	earlier := rev
	earlier.RevokedFrom, earlier.Reason = t0, "key_compromise"
	if err := s.Apply(revoke(earlier, t0.Add(4*time.Hour)), 4); err != nil {
		t.Fatalf("earlier revocation: %v", err)
	}
	if err := s.Apply(anchor(d.Anchor(), t0.Add(time.Minute)), 5); !errors.Is(err, ledger.ErrKeyNotValid) {
		t.Fatalf("anchor after the earlier revocation time: %v, want ErrKeyNotValid", err)
	}
	ds, _ := s.Department(d.Department.USCC)
	if len(ds.Revocations) != 2 {
		t.Fatalf("revocations %+v, want 2", ds.Revocations)
	}
	if _, err := s.License(before.Identifier); err != nil {
		t.Fatalf("license anchored before the revocation: %v", err)
	}
}

func TestApplyAllIsAtomic(t *testing.T) {
	w := ledgertest.NewWorld(t, t0)
	d := w.NewDepartment("某市民政局")
	s := ledger.NewState()
	a := d.Anchor()
	if err := s.ApplyAll([]ledger.Event{register(d, t0), anchor(a, t0)}, 0); err != nil {
		t.Fatal(err)
	}
	k2, _ := d.NewKey(t0, t0.AddDate(1, 0, 0))
	good := d.Anchor()
	tests := []struct {
		name   string
		events []ledger.Event
		want   error
	}{
		{"anchor then duplicate", []ledger.Event{anchor(good, t0), anchor(good, t0)}, ledger.ErrDuplicate},
		{"status changes then bad", []ledger.Event{
			status(a.Identifier, d.Department.USCC, license.StatusSuspended, t0),
			status(a.Identifier, d.Department.USCC, license.StatusRevoked, t0),
			status(a.Identifier, d.Department.USCC, license.StatusActive, t0),
		}, ledger.ErrFinal},
		{"key, revocation, then bad", []ledger.Event{
			addKey(k2, t0),
			revoke(ledger.KeyRevocation{Department: d.Department.USCC, KeyID: d.Key.KeyID, RevokedFrom: t0, Reason: "key_compromise"}, t0),
			anchor(d.Anchor(), t0),
		}, ledger.ErrKeyNotValid},
		{"new department then bad", []ledger.Event{register(w.NewDepartment("新部门"), t0), register(d, t0)}, ledger.ErrDuplicate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, s, d)
			lic, _ := s.License(a.Identifier)
			err := s.ApplyAll(tt.events, 2)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ApplyAll: %v, want %v", err, tt.want)
			}
			if after := snapshot(t, s, d); after != before {
				t.Fatalf("refused batch changed the department:\n%s\nwant\n%s", after, before)
			}
			lic2, _ := s.License(a.Identifier)
			if mustJSON(t, lic2) != mustJSON(t, lic) {
				t.Fatalf("refused batch changed license %s", a.Identifier)
			}
			if _, err := s.License(good.Identifier); !errors.Is(err, ledger.ErrNotFound) {
				t.Fatalf("refused batch left license %s: %v", good.Identifier, err)
			}
		})
	}
}

func TestLicenseHistory(t *testing.T) {
	w := ledgertest.NewWorld(t, t0)
	d := w.NewDepartment("某市自然资源局")
	a := d.Anchor()
	s := ledger.NewState()
	events := []ledger.Event{
		register(d, t0),
		anchor(a, t0.Add(1*time.Minute)),
		status(a.Identifier, d.Department.USCC, license.StatusSuspended, t0.Add(2*time.Minute)),
		status(a.Identifier, d.Department.USCC, license.StatusActive, t0.Add(3*time.Minute)),
		status(a.Identifier, d.Department.USCC, license.StatusRevoked, t0.Add(4*time.Minute)),
	}
	for i, e := range events {
		if err := s.Apply(e, uint64(i)); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	ls, err := s.License(a.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	want := []ledger.StatusEvent{
		{Status: license.StatusActive, At: t0.Add(time.Minute), LogIndex: 1},
		{Status: license.StatusSuspended, Reason: "other", At: t0.Add(2 * time.Minute), LogIndex: 2},
		{Status: license.StatusActive, Reason: "other", At: t0.Add(3 * time.Minute), LogIndex: 3},
		{Status: license.StatusRevoked, Reason: "other", At: t0.Add(4 * time.Minute), LogIndex: 4},
	}
	if got := mustJSON(t, ls.History); got != mustJSON(t, want) {
		t.Fatalf("History = %s\nwant %s", got, mustJSON(t, want))
	}
	if ls.LogIndex != 1 || !ls.AnchoredAt.Equal(t0.Add(time.Minute)) || ls.Status != license.StatusRevoked {
		t.Fatalf("License = %+v", ls)
	}
	// What License returns is a copy.
	ls.History[0].Status = license.StatusRevoked
	ls.Anchor.Signature[0] ^= 1
	again, _ := s.License(a.Identifier)
	if again.History[0].Status != license.StatusActive || again.Anchor.Signature[0] == ls.Anchor.Signature[0] {
		t.Fatalf("License returned the state's own memory")
	}
}
