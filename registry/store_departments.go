package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"zhengzhao/license"
	"zhengzhao/signing/seal"
)

// Store.

func insertSeal(tx sqlTx, sl *Seal) error {
	if _, err := tx.Exec(`UPDATE seals SET active = 0 WHERE uscc = ?`, sl.Department); err != nil {
		return fmt.Errorf("registry: retire seals of %s: %w", sl.Department, err)
	}
	_, err := tx.Exec(`INSERT INTO seals (id, uscc, key_id, der, valid_start, valid_end, active) VALUES (?, ?, ?, ?, ?, ?, 1)`,
		sl.ID, sl.Department, sl.KeyID, sl.DER, sortableTime(sl.ValidStart), sortableTime(sl.ValidEnd))
	if err != nil {
		return fmt.Errorf("registry: insert seal %s: %w", sl.ID, err)
	}
	return nil
}

func (s *store) seals(ctx context.Context, uscc string) ([]Seal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, uscc, key_id, der, valid_start, valid_end, active FROM seals WHERE uscc = ? ORDER BY valid_start, active, id`, uscc)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Seal
	for rows.Next() {
		var sl Seal
		var start, end string
		if err := rows.Scan(&sl.ID, &sl.Department, &sl.KeyID, &sl.DER, &start, &end, &sl.Active); err != nil {
			return nil, err
		}
		sl.ValidStart, sl.ValidEnd = parseTime(start), parseTime(end)
		out = append(out, sl)
	}
	return out, rows.Err()
}

// activeSeal is the department's current seal, parsed.
func (s *store) activeSeal(ctx context.Context, uscc string) (*seal.Seal, error) {
	var der []byte
	err := s.db.QueryRowContext(ctx, `SELECT der FROM seals WHERE uscc = ? AND active = 1`, uscc).Scan(&der)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return seal.ParseSeal(der)
}

// heldLicense returns the identifier and status of a license of the type
// the holder holds that is not final (active or suspended), or "" if none.
func (s *store) heldLicense(ctx context.Context, typeCode, holderCode string) (string, license.Status, error) {
	stmt, err := s.prepared(ctx, `SELECT identifier, status FROM licenses
		WHERE type_code = ? AND holder_code = ? AND status IN ('active', 'suspended')
		ORDER BY identifier LIMIT 1`)
	if err != nil {
		return "", "", err
	}
	var id, st string
	err = stmt.QueryRowContext(ctx, typeCode, holderCode).Scan(&id, &st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return id, license.Status(st), err
}

// savePendingVersion writes a version ahead of its anchor, and the status
// intent of the predecessor it supersedes, in one transaction.
func (s *store) savePendingVersion(ctx context.Context, p pendingVersion, predecessor string, at time.Time) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO pending_versions (identifier, body) VALUES (?, ?)
		ON CONFLICT (identifier) DO UPDATE SET body = excluded.body`, p.License.Identifier, b); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO status_intents (identifier, at) VALUES (?, ?)
		ON CONFLICT (identifier) DO UPDATE SET at = excluded.at`, predecessor, sortableTime(at)); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *store) dropPendingVersion(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM pending_versions WHERE identifier = ?`, id)
	return err
}

func (s *store) pendingVersions(ctx context.Context) ([]pendingVersion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT body FROM pending_versions ORDER BY identifier`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pendingVersion
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		var p pendingVersion
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("registry: pending version: %w", err)
		}
		p.License.Credential, p.License.SealSignature = p.Credential, p.SealSignature
		out = append(out, p)
	}
	return out, rows.Err()
}
