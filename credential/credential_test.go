package credential

import (
	"crypto/ecdsa"
	"errors"
	"slices"
	"testing"
	"time"

	"zhengzhao/license"
	"zhengzhao/signing"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestNew(t *testing.T) {
	in := vectorInput()
	c, err := New(in.Record, in.IssuerName, in.Status)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"id", c.ID, "urn:license:1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"},
		{"Identifier()", c.Identifier(), in.Record.Identifier},
		{"issuer.id", c.Issuer.ID, "urn:uscc:11430000006122244L"},
		{"issuer.name", c.Issuer.Name, "湖南省市场监督管理局"},
		{"validFrom", c.ValidFrom, "2024-12-31T16:00:00Z"},
		{"validUntil", c.ValidUntil, "2044-12-31T15:59:59Z"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.name, ck.got, ck.want)
		}
	}
	if want := []string{ContextV2}; !slices.Equal(c.Context, want) {
		t.Errorf("@context = %q, want %q", c.Context, want)
	}
	if want := []string{TypeCredential, TypeElectronicLicense}; !slices.Equal(c.Type, want) {
		t.Errorf("type = %q, want %q", c.Type, want)
	}
	if c.Proof != nil {
		t.Errorf("New set a proof")
	}
	// Copies, not aliases.
	in.Record.Fields["address"] = "changed"
	in.Status[0].StatusListIndex = "1"
	if c.CredentialSubject.Fields["address"] == "changed" || c.CredentialStatus[0].StatusListIndex == "1" {
		t.Errorf("New aliases the caller's map or slice")
	}
}

func TestNewDates(t *testing.T) {
	tests := []struct {
		from, until         string
		wantFrom, wantUntil string
	}{
		{"2025-01-01", "", "2024-12-31T16:00:00Z", ""},
		{"2025-01-01", "2025-01-01", "2024-12-31T16:00:00Z", "2025-01-01T15:59:59Z"},
		{"2024-02-29", "2028-02-28", "2024-02-28T16:00:00Z", "2028-02-28T15:59:59Z"},
		{"2030-07-01", "2030-12-31", "2030-06-30T16:00:00Z", "2030-12-31T15:59:59Z"},
	}
	for _, tt := range tests {
		rec := vectorInput().Record
		rec.ValidFrom, rec.ValidUntil = tt.from, tt.until
		c, err := New(rec, "某局", nil)
		if err != nil {
			t.Fatalf("New(%s..%s): %v", tt.from, tt.until, err)
		}
		if c.ValidFrom != tt.wantFrom || c.ValidUntil != tt.wantUntil {
			t.Errorf("New(%s..%s) = %s..%s, want %s..%s", tt.from, tt.until, c.ValidFrom, c.ValidUntil, tt.wantFrom, tt.wantUntil)
		}
	}
}

func TestNewRejects(t *testing.T) {
	good := vectorInput()
	tests := []struct {
		name      string
		edit      func(r *license.Record, issuerName *string, st []StatusListEntry) []StatusListEntry
		wantField string
		wantRule  string
	}{
		{"bad identifier", func(r *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			r.Identifier = "1.2.3"
			return st
		}, "credentialSubject.identifier", RuleValue},
		{"bad issuer USCC", func(r *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			r.IssuerCode = "11430000006122244X"
			return st
		}, "credentialSubject.issuerCode", RuleValue},
		{"issuer not in identifier", func(r *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			r.IssuerCode = "91430100MA4L12345A"
			return st
		}, "credentialSubject.issuerCode", RuleValue},
		{"no issuer name", func(_ *license.Record, n *string, st []StatusListEntry) []StatusListEntry {
			*n = " "
			return st
		}, "issuer.name", RuleRequired},
		{"no validFrom", func(r *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			r.ValidFrom = ""
			return st
		}, "credentialSubject.validFrom", RuleDate},
		{"bad validFrom", func(r *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			r.ValidFrom = "2025-02-30"
			return st
		}, "credentialSubject.validFrom", RuleDate},
		{"bad validUntil", func(r *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			r.ValidUntil = "2044/12/31"
			return st
		}, "credentialSubject.validUntil", RuleDate},
		{"validUntil before validFrom", func(r *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			r.ValidUntil = "2024-12-31"
			return st
		}, "credentialSubject.validUntil", RuleValue},
		{"status type", func(_ *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			st[0].Type = "StatusList2021Entry"
			return st
		}, "credentialStatus[0].type", RuleValue},
		{"status purpose", func(_ *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			st[0].StatusPurpose = "revocation"
			return st
		}, "credentialStatus[0].statusPurpose", RuleValue},
		{"status index", func(_ *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			st[0].StatusListIndex = "0x10"
			return st
		}, "credentialStatus[0].statusListIndex", RuleValue},
		{"status index leading zero", func(_ *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			st[0].StatusListIndex = "010"
			return st
		}, "credentialStatus[0].statusListIndex", RuleValue},
		{"status list", func(_ *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			st[0].StatusListCredential = ""
			return st
		}, "credentialStatus[0].statusListCredential", RuleRequired},
		{"status size", func(_ *license.Record, _ *string, st []StatusListEntry) []StatusListEntry {
			st[0].StatusSize = 1
			return st
		}, "credentialStatus[0].statusSize", RuleValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, name, st := good.Record, good.IssuerName, slices.Clone(good.Status)
			st = tt.edit(&rec, &name, st)
			_, err := New(rec, name, st)
			var fe *FormatError
			if !errors.Is(err, ErrFormat) || !errors.As(err, &fe) {
				t.Fatalf("New = %v, want a *FormatError", err)
			}
			if fe.Field != tt.wantField || fe.Rule != tt.wantRule {
				t.Errorf("New = %v, want field %q rule %q", err, tt.wantField, tt.wantRule)
			}
		})
	}
}

func TestVerificationMethod(t *testing.T) {
	vm := VerificationMethod("11430000006122244L", "5f2a9c07e1d3b468")
	if want := "urn:uscc:11430000006122244L#5f2a9c07e1d3b468"; vm != want {
		t.Fatalf("VerificationMethod = %q, want %q", vm, want)
	}
	uscc, kid, err := ParseVerificationMethod(vm)
	if err != nil || uscc != "11430000006122244L" || kid != "5f2a9c07e1d3b468" {
		t.Fatalf("ParseVerificationMethod(%q) = %q, %q, %v", vm, uscc, kid, err)
	}
	for _, bad := range []string{
		"",
		"did:web:x#5f2a9c07e1d3b468",
		"urn:uscc:11430000006122244L",
		"urn:uscc:11430000006122244L#",
		"urn:uscc:11430000006122244X#5f2a9c07e1d3b468",
		"urn:uscc:11430000006122244L#5F2A9C07E1D3B468",
		"urn:uscc:11430000006122244L#5f2a9c07e1d3b46",
		"urn:uscc:11430000006122244L#5f2a9c07e1d3b468#x",
	} {
		if _, _, err := ParseVerificationMethod(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseVerificationMethod(%q) = %v, want ErrFormat", bad, err)
		}
	}
}

type fakeSigner struct {
	pub *ecdsa.PublicKey
	sig []byte
	err error
}

func (f fakeSigner) Public() *ecdsa.PublicKey    { return f.pub }
func (f fakeSigner) Sign([]byte) ([]byte, error) { return f.sig, f.err }

func TestSignRejects(t *testing.T) {
	in := vectorInput()
	key := vectorKey(t)
	created := mustTime(t, in.Created)
	boom := errors.New("hsm unavailable")
	tests := []struct {
		name    string
		signer  signing.Signer
		vm      string
		created time.Time
		wantErr error
	}{
		{"no signer", nil, in.VerificationMethod, created, nil},
		{"no verification method", signing.NewKeySigner(key), "", created, ErrFormat},
		{"zero time", signing.NewKeySigner(key), in.VerificationMethod, time.Time{}, ErrFormat},
		{"signer fails", fakeSigner{pub: &key.PublicKey, err: boom}, in.VerificationMethod, created, boom},
		{"short signature", fakeSigner{pub: &key.PublicKey, sig: make([]byte, 63)}, in.VerificationMethod, created, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(in.Record, in.IssuerName, in.Status)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Sign(tt.signer, tt.vm, tt.created)
			if err == nil {
				t.Fatal("Sign succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Sign = %v, want %v", err, tt.wantErr)
			}
			if c.Proof != nil {
				t.Errorf("a failed Sign left a proof")
			}
		})
	}
}

func TestSignRejectsInvalidCredential(t *testing.T) {
	c := &Credential{ID: "urn:license:x"}
	err := c.Sign(signing.NewKeySigner(vectorKey(t)), "urn:uscc:11430000006122244L#5f2a9c07e1d3b468", time.Unix(0, 0))
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Field != "@context" {
		t.Errorf("Sign of an empty credential = %v, want a FormatError on @context", err)
	}
}

// TestSignMarshalParse: what Sign produces, Marshal writes and Parse reads
// back with the same hashes, and it verifies.
func TestSignMarshalParse(t *testing.T) {
	in := vectorInput()
	key := vectorKey(t)
	for _, until := range []string{"2044-12-31", ""} {
		rec := in.Record
		rec.ValidUntil = until
		c, err := New(rec, in.IssuerName, nil)
		if err != nil {
			t.Fatal(err)
		}
		created := time.Date(2025, 1, 1, 9, 30, 0, 999, license.ChinaTime)
		if err := c.Sign(signing.NewKeySigner(key), in.VerificationMethod, created); err != nil {
			t.Fatal(err)
		}
		if got, want := c.Proof.Created, "2025-01-01T01:30:00Z"; got != want {
			t.Errorf("proof.created = %q, want %q", got, want)
		}
		ph, dh, err := c.Hashes()
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		ph2, dh2, err := p.Hashes()
		if err != nil {
			t.Fatal(err)
		}
		if string(ph) != string(ph2) || string(dh) != string(dh2) {
			t.Errorf("hashes after Sign differ from hashes after Parse(Marshal())")
		}
		if err := p.VerifyProof(&key.PublicKey); err != nil {
			t.Errorf("VerifyProof: %v", err)
		}
		if until == "" && p.ValidUntil != "" {
			t.Errorf("长期 license has validUntil %q", p.ValidUntil)
		}
	}
}
