package registry

import (
	"context"
	"slices"
	"strings"

	"zhengzhao/license"
)

// holderOf names a holder of a license type: the key of the one-active rule.
type holderOf struct{ typeCode, holderCode string }

// heldLicense is the license a holder holds of a one-active type.
type heldLicense struct {
	identifier string
	status     license.Status
}

func (s *store) heldLicenses(ctx context.Context, holders []holderOf) (map[holderOf]heldLicense, error) {
	out := map[holderOf]heldLicense{}
	want := make(map[holderOf]bool, len(holders))
	codes := make([]string, 0, len(holders))
	for _, h := range holders {
		if !want[h] {
			want[h] = true
			codes = append(codes, h.holderCode)
		}
	}
	for chunk := range slices.Chunk(codes, maxInParams) {
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = c
		}
		rows, err := s.db.QueryContext(ctx, `SELECT type_code, holder_code, identifier, status FROM licenses
			WHERE holder_code IN (?`+strings.Repeat(", ?", len(chunk)-1)+`) AND status IN ('active', 'suspended')`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var h holderOf
			var l heldLicense
			if err := rows.Scan(&h.typeCode, &h.holderCode, &l.identifier, &l.status); err != nil {
				rows.Close()
				return nil, err
			}
			if !want[h] {
				continue // another type this holder holds
			}
			if prior, ok := out[h]; !ok || l.identifier < prior.identifier {
				out[h] = l
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
