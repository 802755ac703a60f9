package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"zhengzhao/credential"
	"zhengzhao/license"
)

// catalogStore keeps every version of every license type of the managed
// catalog, and counts what issued licenses use of a type.
type catalogStore interface {
	catalogTypes(ctx context.Context) ([]storedType, error)
	insertCatalogType(ctx context.Context, t storedType) error
	deleteCatalogType(ctx context.Context, code string, version int) error
	markCatalogTypeAnchored(ctx context.Context, code string, version int, receipt string) error
	typeUse(ctx context.Context, code string) (license.TypeUse, error)
}

// catalogSchema (migration 8) keeps every version of every license type:
// the built-in catalog seeds version 1 of its types at open, the admin adds
// types and versions. A version is never changed once stored; its
// definition is exactly what was digested and anchored.
const catalogSchema = `
CREATE TABLE IF NOT EXISTS catalog_types (
	code       TEXT NOT NULL,
	version    INTEGER NOT NULL,
	name       TEXT NOT NULL,
	definition TEXT NOT NULL,           -- license.Type.MarshalDefinition
	digest     BLOB NOT NULL,           -- SM3 of the JCS form of definition
	anchored   INTEGER NOT NULL DEFAULT 0, -- 1 once the catalog.type event is on the ledger
	receipt    TEXT NOT NULL DEFAULT '', -- ledger.Receipt JSON of that event, when this store made it
	actor      TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	PRIMARY KEY (code, version)
);
`

// storedType is one row of catalog_types.
type storedType struct {
	Code       string
	Version    int
	Name       string
	Definition []byte
	Digest     []byte
	Anchored   bool
	Receipt    string
	Actor      string
	CreatedAt  time.Time
}

// catalogTypes returns every stored type version, by code and version.
func (s *store) catalogTypes(ctx context.Context) ([]storedType, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT code, version, name, definition, digest, anchored, receipt, actor, created_at
		FROM catalog_types ORDER BY code, version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedType
	for rows.Next() {
		var t storedType
		var def, created string
		var anchored int
		if err := rows.Scan(&t.Code, &t.Version, &t.Name, &def, &t.Digest, &anchored, &t.Receipt, &t.Actor, &created); err != nil {
			return nil, err
		}
		t.Definition, t.Anchored, t.CreatedAt = []byte(def), anchored == 1, parseTime(created)
		out = append(out, t)
	}
	return out, rows.Err()
}

// insertCatalogType stores a new type version; one already stored under
// the same code and version is ErrConflict.
func (s *store) insertCatalogType(ctx context.Context, t storedType) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO catalog_types (code, version, name, definition, digest, anchored, receipt, actor, created_at)
		VALUES (?, ?, ?, ?, ?, 0, '', ?, ?) ON CONFLICT (code, version) DO NOTHING`,
		t.Code, t.Version, t.Name, string(t.Definition), t.Digest, t.Actor, sortableTime(t.CreatedAt))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: license type %s version %d already exists", ErrConflict, t.Code, t.Version)
	}
	return nil
}

// deleteCatalogType removes a type version that was never anchored (the
// ledger refused it), so the edit changes nothing.
func (s *store) deleteCatalogType(ctx context.Context, code string, version int) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM catalog_types WHERE code = ? AND version = ? AND anchored = 0`, code, version)
	return err
}

// markCatalogTypeAnchored records that a type version is on the ledger,
// with the receipt of its event when this store made it.
func (s *store) markCatalogTypeAnchored(ctx context.Context, code string, version int, receipt string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE catalog_types SET anchored = 1, receipt = ? WHERE code = ? AND version = ?`, receipt, code, version)
	return err
}

// typeUse counts, over the licenses of a type that are not superseded by a
// newer version, how many there are and how many carry each field. A row
// whose record was left out (packLicense) is read from its credential.
func (s *store) typeUse(ctx context.Context, code string) (license.TypeUse, error) {
	use := license.TypeUse{Fields: map[string]int{}}
	rows, err := s.db.QueryContext(ctx, `SELECT identifier, record, credential FROM licenses WHERE type_code = ? AND status <> ?`, code, string(license.StatusSuperseded))
	if err != nil {
		return use, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, raw string
		var credCol []byte
		if err := rows.Scan(&id, &raw, &credCol); err != nil {
			return use, err
		}
		var fields map[string]string
		if raw != "" {
			var rec struct {
				Fields map[string]string `json:"fields"`
			}
			if err := json.Unmarshal([]byte(raw), &rec); err != nil {
				return use, fmt.Errorf("record of license %s: %w", id, err)
			}
			fields = rec.Fields
		} else {
			cred, err := unpackCredential(credCol)
			if err != nil {
				return use, fmt.Errorf("credential of license %s: %w", id, err)
			}
			c, err := credential.Parse(cred)
			if err != nil {
				return use, fmt.Errorf("credential of license %s: %w", id, err)
			}
			fields = c.CredentialSubject.Fields
		}
		use.Licenses++
		for k, v := range fields {
			if v != "" {
				use.Fields[k]++
			}
		}
	}
	return use, rows.Err()
}
