package registry

import (
	"errors"
	"maps"
)

// ErrKeyReused: an idempotency key (IssueRequest.RequestKey, the API's
// Idempotency-Key header) came back with a request that differs from the
// one that first used it. The server answers 422.
var ErrKeyReused = errors.New("registry: idempotency key reused with a different request")

// KeyReuseError is ErrKeyReused with the first request member that differs.
type KeyReuseError struct {
	// Field is the member's JSON name ("holder", "fields.address").
	Field string
}

func (e *KeyReuseError) Error() string {
	return "idempotency key already used by a request with another " + e.Field
}

// Unwrap returns ErrKeyReused.
func (e *KeyReuseError) Unwrap() error { return ErrKeyReused }

// sameRequest reports whether req asks for the license prior was issued
// from: nil, or a *KeyReuseError naming the first member that differs.
// Members req leaves to their defaults (number, dates) match whatever the
// first request got, so a retry the next day still answers the license of
// the day before.
func sameRequest(prior *License, req IssueRequest) error {
	r := prior.Record
	must := []struct {
		field     string
		got, want string
		optional  bool
	}{
		{"type", req.TypeCode, prior.TypeCode, false},
		{"holder", req.Holder, r.Holder, false},
		{"holderCode", req.HolderCode, r.HolderCode, false},
		{"jurisdiction", req.Jurisdiction, r.Jurisdiction, false},
		{"number", req.Number, r.Number, true},
		{"issueDate", req.IssueDate, r.IssueDate, true},
		{"validFrom", req.ValidFrom, r.ValidFrom, true},
		{"validUntil", req.ValidUntil, r.ValidUntil, true},
	}
	for _, m := range must {
		if m.got != m.want && !(m.optional && m.got == "") {
			return &KeyReuseError{Field: m.field}
		}
	}
	if !maps.Equal(req.Fields, r.Fields) && (len(req.Fields) > 0 || len(r.Fields) > 0) {
		for k, v := range req.Fields {
			if w, ok := r.Fields[k]; !ok || w != v {
				return &KeyReuseError{Field: "fields." + k}
			}
		}
		for k := range r.Fields {
			if _, ok := req.Fields[k]; !ok {
				return &KeyReuseError{Field: "fields." + k}
			}
		}
	}
	return nil
}
