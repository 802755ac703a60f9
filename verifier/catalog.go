package verifier

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/emmansun/gmsm/sm3"
	"github.com/gowebpki/jcs"

	"zhengzhao/license"
)

// BundleType is one license type version of the platform's catalog as the
// trust bundle carries it: its definition (license.Type.MarshalDefinition,
// with the field labels) and the digest the platform anchored on the ledger
// (a catalog.type event). An offline verifier names types and reads their
// fields from here, not from a catalog built into the verifier.
type BundleType struct {
	Code    string `json:"code"`
	Version int    `json:"version"`
	Name    string `json:"name"`
	// Digest is hex SM3 of the JCS form of Definition (TypeDigest).
	Digest string `json:"digest"`
	// Definition is the type version's definition, as ParseType reads it.
	Definition json.RawMessage `json:"definition"`
}

// TypeDigest is the digest of a type definition that the ledger and the
// bundle carry: SM3 of its RFC 8785 (JCS) form.
func TypeDigest(definition []byte) ([]byte, error) {
	canon, err := jcs.Transform(definition)
	if err != nil {
		return nil, fmt.Errorf("type definition is not canonicalisable JSON: %w", err)
	}
	sum := sm3.Sum(canon)
	return sum[:], nil
}

// typeKey names one type version.
type typeKey struct {
	code    string
	version int
}

// indexTypes checks each type version against its own digest and
// definition (code, version and name agree, the definition passes the
// catalog's rules) and indexes it; anything else is a bundle problem.
func (ix *index) indexTypes(types []BundleType) {
	ix.types = make(map[typeKey]*license.Type, len(types))
	ix.latest = make(map[string]int, len(types))
	for i, bt := range types {
		digest, err := TypeDigest(bt.Definition)
		if err != nil {
			ix.problem("types[%d] (%s version %d): %w", i, bt.Code, bt.Version, err)
			continue
		}
		if hex.EncodeToString(digest) != bt.Digest {
			ix.problem("types[%d] (%s version %d): digest %s, the definition's is %x", i, bt.Code, bt.Version, bt.Digest, digest)
			continue
		}
		t, err := license.ParseType(bt.Definition)
		if err != nil {
			ix.problem("types[%d] (%s version %d): definition: %w", i, bt.Code, bt.Version, err)
			continue
		}
		if t.Code != bt.Code || t.Version != bt.Version || t.Name != bt.Name || bt.Version < 1 {
			ix.problem("types[%d]: code %s, version %d, name %q do not match the definition's %s, %d, %q", i, bt.Code, bt.Version, bt.Name, t.Code, t.Version, t.Name)
			continue
		}
		k := typeKey{bt.Code, bt.Version}
		if ix.types[k] != nil {
			ix.problem("types[%d]: %s version %d listed twice", i, bt.Code, bt.Version)
			continue
		}
		ix.types[k] = &t
		ix.latest[bt.Code] = max(ix.latest[bt.Code], bt.Version)
	}
}

// licenseTypeOf returns the type version a credential names (version 0, a
// license issued before types had versions, is version 1). A bundle that
// carries no types (made before it did) falls back to the catalog built
// into the verifier; ok is false when the type is not known either way.
func (ix *index) licenseTypeOf(code string, version int) (t license.Type, ok bool) {
	if version == 0 {
		version = 1
	}
	if len(ix.types) == 0 {
		if version != 1 {
			return license.Type{}, false
		}
		return license.DefaultCatalog().Type(code)
	}
	p := ix.types[typeKey{code, version}]
	if p == nil {
		return license.Type{}, false
	}
	return *p, true
}

// typeName names a license type for a result: the bundle's name of the
// version (or its latest version when the version is not known), or ""
// when the type is unknown.
func (ix *index) typeName(code string, version int) string {
	if t, ok := ix.licenseTypeOf(code, version); ok {
		return t.Name
	}
	if len(ix.types) > 0 {
		if p := ix.types[typeKey{code, ix.latest[code]}]; p != nil {
			return p.Name
		}
		return ""
	}
	return typeNames()[code]
}
