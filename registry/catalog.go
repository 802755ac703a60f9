package registry

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/license"
	"zhengzhao/verifier"
)

// TypeVersion is one version of a license type of the managed catalog: its
// definition, the digest anchored on the ledger and who added it.
type TypeVersion struct {
	license.Type
	// Digest is hex SM3 of the JCS form of the definition
	// (verifier.TypeDigest), the digest on the ledger.
	Digest string `json:"digest"`
	// Anchored says the catalog.type event is on the ledger.
	Anchored bool `json:"anchored"`
	// Actor is who added it; empty for the built-in catalog.
	Actor     string    `json:"actor,omitempty"`
	CreatedAt time.Time `json:"created_at"`

	definition []byte
}

// loadCatalog makes the service's catalog from the store: version 1 of
// every type of cfg.Catalog that the store lacks is stored first (the
// built-in catalog seeds it), then every stored version is read back,
// checked against its digest and parsed with the catalog's rules. Versions
// not yet on the ledger are anchored; a ledger that refuses or cannot be
// reached now is logged, not fatal (the next open tries again).
func (s *Service) loadCatalog(ctx context.Context) error {
	stored, err := s.store.catalogTypes(ctx)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(stored))
	for _, st := range stored {
		have[st.Code] = true
	}
	for _, t := range s.cfg.Catalog.Types() {
		if have[t.Code] {
			continue
		}
		t.Version = 1
		st, err := storedTypeOf(t, "", s.now())
		if err != nil {
			return err
		}
		if err := s.store.insertCatalogType(ctx, st); err != nil && !errors.Is(err, ErrConflict) {
			return fmt.Errorf("seed type %s: %w", t.Code, err)
		}
	}
	if stored, err = s.store.catalogTypes(ctx); err != nil {
		return err
	}
	types := make([]license.Type, 0, len(stored))
	for _, st := range stored {
		t, err := typeOfStored(st)
		if err != nil {
			return err
		}
		types = append(types, t)
	}
	cat, err := license.NewCatalog(types)
	if err != nil {
		return err
	}
	s.catalog.Store(cat)
	for _, st := range stored {
		if st.Anchored {
			continue
		}
		if err := s.anchorType(ctx, st); err != nil {
			s.log.Warn("catalog type version not anchored yet", "type", st.Code, "version", st.Version, "err", err)
		}
	}
	return nil
}

// storedTypeOf is the row of a type version: its definition and digest.
func storedTypeOf(t license.Type, actor string, now time.Time) (storedType, error) {
	def, err := t.MarshalDefinition()
	if err != nil {
		return storedType{}, fmt.Errorf("registry: definition of type %s: %w", t.Code, err)
	}
	digest, err := verifier.TypeDigest(def)
	if err != nil {
		return storedType{}, fmt.Errorf("registry: digest of type %s: %w", t.Code, err)
	}
	return storedType{Code: t.Code, Version: t.Version, Name: t.Name, Definition: def, Digest: digest, Actor: actor, CreatedAt: now}, nil
}

// typeOfStored parses a stored type version and checks it against its
// stored digest, code and version.
func typeOfStored(st storedType) (license.Type, error) {
	digest, err := verifier.TypeDigest(st.Definition)
	if err != nil {
		return license.Type{}, fmt.Errorf("registry: stored type %s version %d: %w", st.Code, st.Version, err)
	}
	if hex.EncodeToString(digest) != hex.EncodeToString(st.Digest) {
		return license.Type{}, fmt.Errorf("registry: stored type %s version %d does not match its digest %x", st.Code, st.Version, st.Digest)
	}
	t, err := license.ParseType(st.Definition)
	if err != nil {
		return license.Type{}, fmt.Errorf("registry: stored type %s version %d: %w", st.Code, st.Version, err)
	}
	if t.Code != st.Code || t.Version != st.Version {
		return license.Type{}, fmt.Errorf("registry: stored type %s version %d defines %s version %d", st.Code, st.Version, t.Code, t.Version)
	}
	return t, nil
}

// anchorType puts a stored type version's digest on the ledger and notes it
// in the store. A version the ledger already holds counts as anchored.
func (s *Service) anchorType(ctx context.Context, st storedType) error {
	r, err := s.ledger.AnchorType(ctx, ledger.TypeVersion{Code: st.Code, Version: st.Version, Digest: st.Digest})
	receipt := ""
	switch {
	case errors.Is(err, ledger.ErrDuplicate):
	case err != nil:
		return err
	default:
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		receipt = string(b)
	}
	return s.store.markCatalogTypeAnchored(ctx, st.Code, st.Version, receipt)
}

// AddType adds a license type to the catalog: version 1 of a new type code,
// from a definition in the form of a catalog.json entry
// (license.ParseType). The admin only. The definition passes the rules of
// the built-in catalog (a valid type code of the authority's USCC, fields
// with labels and patterns that compile, validities …); errors are
// *license.FieldError values with Chinese messages naming the member at
// fault. The digest of the definition is anchored on the ledger before the
// type can be issued; if the ledger refuses, nothing changes.
func (s *Service) AddType(ctx context.Context, a Actor, definition []byte) (*TypeVersion, error) {
	return s.addType(ctx, a, "", definition)
}

// AddTypeVersion adds the next version of the catalog type code, as AddType
// does. Licenses already issued keep the version they were issued under;
// new issues use the new version. Beyond AddType's rules, the new version
// may not remove a field that existing licenses of the type carry, make a
// field required that some of them lack, change a used field's value type
// or the holder kind (license.CheckTypeEdit).
func (s *Service) AddTypeVersion(ctx context.Context, a Actor, code string, definition []byte) (*TypeVersion, error) {
	if code == "" {
		return nil, &license.FieldError{Field: "code", Rule: "required", Message: "类型代码（code）必填"}
	}
	return s.addType(ctx, a, code, definition)
}

func (s *Service) addType(ctx context.Context, a Actor, versionOf string, definition []byte) (*TypeVersion, error) {
	if a.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin manages the catalog", ErrForbidden)
	}
	t, err := license.ParseType(definition)
	if err != nil {
		return nil, err
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	cat := s.Catalog()
	prev, exists := cat.Type(t.Code)
	switch {
	case versionOf == "" && exists:
		return nil, fmt.Errorf("%w: 证照类型 %s（%s）已存在，请新增版本（POST /api/v1/catalog/types/%s/versions）", ErrConflict, t.Code, prev.Name, t.Code)
	case versionOf != "" && t.Code != versionOf:
		return nil, &license.FieldError{Field: "code", Rule: "mismatch", Message: fmt.Sprintf("定义中的类型代码 %s 与要新增版本的类型 %s 不一致", t.Code, versionOf)}
	case versionOf != "" && !exists:
		return nil, fmt.Errorf("%w: 证照目录中没有类型 %s", ErrNotFound, versionOf)
	}
	next := 1
	if exists {
		next = prev.Version + 1
	}
	if t.Version != 0 && t.Version != next {
		return nil, &license.FieldError{Field: "version", Rule: "sequence", Message: fmt.Sprintf("版本号（version）须为下一版 %d，或省略由平台编号", next)}
	}
	t.Version = next
	if exists {
		use, err := s.store.typeUse(ctx, t.Code)
		if err != nil {
			return nil, err
		}
		if err := license.CheckTypeEdit(prev, t, use); err != nil {
			return nil, err
		}
	}
	newCat, err := cat.With(t)
	if err != nil {
		return nil, err
	}
	st, err := storedTypeOf(t, actorName(a), s.now())
	if err != nil {
		return nil, err
	}
	if err := s.store.insertCatalogType(ctx, st); err != nil {
		return nil, err
	}
	if err := s.anchorType(ctx, st); err != nil {
		if derr := s.store.deleteCatalogType(context.WithoutCancel(ctx), st.Code, st.Version); derr != nil {
			s.log.Error("catalog type version left unanchored in the store", "type", st.Code, "version", st.Version, "err", derr)
		}
		return nil, fmt.Errorf("registry: anchor type %s version %d: %w", st.Code, st.Version, err)
	}
	s.catalog.Store(newCat)
	s.changed()
	s.recordDone(ctx, a, ActionCatalog, nil, "ok", fmt.Sprintf("type %s version %d digest %x", st.Code, st.Version, st.Digest))
	s.log.Info("catalog type version added", "type", st.Code, "version", st.Version, "actor", st.Actor)
	return &TypeVersion{Type: t, Digest: hex.EncodeToString(st.Digest), Anchored: true, Actor: st.Actor, CreatedAt: st.CreatedAt, definition: st.Definition}, nil
}

// actorName names an actor in the catalog's records.
func actorName(a Actor) string {
	if a.Name != "" {
		return string(a.Role) + ":" + a.Name
	}
	return string(a.Role)
}

// TypeVersions returns every version of every catalog type, by code and
// version, with digests and whether each is anchored.
func (s *Service) TypeVersions(ctx context.Context) ([]TypeVersion, error) {
	stored, err := s.store.catalogTypes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]TypeVersion, 0, len(stored))
	for _, st := range stored {
		t, err := typeOfStored(st)
		if err != nil {
			return nil, err
		}
		out = append(out, TypeVersion{Type: t, Digest: hex.EncodeToString(st.Digest), Anchored: st.Anchored,
			Actor: st.Actor, CreatedAt: st.CreatedAt, definition: st.Definition})
	}
	return out, nil
}

// bundleTypes is the catalog as the trust bundle carries it.
func (s *Service) bundleTypes(ctx context.Context) ([]verifier.BundleType, error) {
	tvs, err := s.TypeVersions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]verifier.BundleType, len(tvs))
	for i, tv := range tvs {
		out[i] = verifier.BundleType{Code: tv.Code, Version: tv.Version, Name: tv.Name, Digest: tv.Digest, Definition: tv.definition}
	}
	return out, nil
}

// Definition returns the type version's definition, as stored and digested.
func (tv *TypeVersion) Definition() json.RawMessage {
	return json.RawMessage(strings.Clone(string(tv.definition)))
}

// LicenseType returns the type version a license was issued under (a
// record without a type version is of version 1): what its face, its
// fields' labels and the fields a holder may share are read with. A new
// version of a license follows the latest type version instead.
func (s *Service) LicenseType(rec license.Record) (license.Type, bool) {
	return s.Catalog().TypeVersion(rec.TypeCode, max(rec.TypeVersion, 1))
}
