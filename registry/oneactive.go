package registry

import (
	"context"
	"crypto/rand"
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
	h := holderOf{typ.Code, holderCode}
	unlock, taken, err := s.claimHolders(ctx, []holderOf{h})
	if err == nil && taken[h] {
		err = claimedError(typ)
	}
	if err == nil {
		var id string
		var st license.Status
		id, st, err = s.store.heldLicense(ctx, typ.Code, holderCode)
		if err == nil && id != "" {
			err = &OneActiveError{TypeName: typ.Name, Existing: id, Status: st}
		}
	}
	if err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// claimHolders locks the one-active holders in this process (callers of
// one holder wait for each other) and claims them in the store, where
// another instance may be issuing to one of them: those come back in
// taken. The unlock releases both.
func (s *Service) claimHolders(ctx context.Context, holders []holderOf) (unlock func(), taken map[holderOf]bool, err error) {
	keys := make([]string, len(holders))
	for i, h := range holders {
		keys[i] = h.typeCode + "|" + h.holderCode
	}
	unlockHere := s.holders.lockAll(keys)
	owner := s.instance + "/" + rand.Text()
	taken, err = s.store.claimHolders(ctx, owner, holders, s.now())
	if err != nil {
		unlockHere()
		return func() {}, nil, err
	}
	return func() {
		if err := s.store.releaseHolders(context.WithoutCancel(ctx), owner, holders); err != nil {
			s.log.Error("releasing one-active claims failed; they expire by themselves", "err", err)
		}
		unlockHere()
	}, taken, nil
}

// claimedError refuses an issue to a holder whom another instance is
// issuing a license of the same one-active type to at this moment.
func claimedError(typ license.Type) error {
	return fmt.Errorf("%w: 该持证主体的%s正在另一处签发，同一主体只能持有一张；请稍后再试", ErrConflict, typ.Name)
}
