package registry

import (
	"context"
	"fmt"

	"zhengzhao/license"
)

// OneActiveError is an issue refused because the holder already holds a
// license of a type that allows one (license.Type.OneActive) and it is not
// final. It wraps ErrConflict; the holder code stays out of the message.
type OneActiveError struct {
	TypeName string
	// Existing is the identifier of the license the holder already holds.
	Existing string
	Status   license.Status
}

func (e *OneActiveError) Error() string {
	return fmt.Sprintf("该持证主体已持有%s的%s %s，同一主体只能持有一张；如需更改内容或有效期，请对 %s 办理变更或延续（制作新版本）",
		e.Status.Label(), e.TypeName, e.Existing, e.Existing)
}

func (e *OneActiveError) Unwrap() error { return ErrConflict }

// holdOne serializes issues of a one-active type to one holder (in this
// process) and refuses the issue when the holder already holds one. The
// caller calls the returned unlock once the new license is stored or the
// issue failed.
func (s *Service) holdOne(ctx context.Context, typ license.Type, holderCode string) (unlock func(), err error) {
	if !typ.OneActive {
		return func() {}, nil
	}
	unlock = s.holders.lock(typ.Code + "|" + holderCode)
	id, st, err := s.store.heldLicense(ctx, typ.Code, holderCode)
	if err == nil && id != "" {
		err = &OneActiveError{TypeName: typ.Name, Existing: id, Status: st}
	}
	if err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}
