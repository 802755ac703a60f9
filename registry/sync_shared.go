package registry

import (
	"context"
	"fmt"
	"time"
)

// counterDepartments counts changes of departments and their keys
// (registered, key rotated, key revoked), on every instance.
const counterDepartments = "departments"

// deptSyncEvery is how often an instance looks for departments and keys
// another instance changed.
const deptSyncEvery = time.Second

// deptChanged notes a change of a department or its keys: the bundle shows
// it, and the other instances reload departments and active keys.
func (s *Service) deptChanged() {
	s.changed()
	n, err := s.store.bumpCounter(context.Background(), counterDepartments)
	if err != nil {
		s.log.Warn("count a department change in the store", "err", err)
		return
	}
	// This instance holds its own change already; only if another
	// instance's came in between is a reload due.
	s.deptSeen.CompareAndSwap(n-1, n)
}

// startDeptSync starts following the departments and active keys other
// instances on the store change, and returns the function that stops it.
func (s *Service) startDeptSync(ctx context.Context) (stop func(), err error) {
	n, err := s.store.counter(ctx, counterDepartments)
	if err != nil {
		return nil, err
	}
	s.deptSeen.Store(n)
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(deptSyncEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if err := s.syncDepartments(context.Background()); err != nil {
				s.log.Warn("reload departments changed by another instance", "err", err)
			}
		}
	}()
	return func() { close(done); <-stopped }, nil
}

// syncDepartments reloads departments and active keys if the store's count
// of department changes moved past the one this instance holds. Only a key
// this instance does not hold yet is decrypted.
func (s *Service) syncDepartments(ctx context.Context) error {
	seen := s.deptSeen.Load()
	n, err := s.store.counter(ctx, counterDepartments)
	if err != nil || n == seen {
		return err
	}
	depts, err := s.store.departments(ctx)
	if err != nil {
		return err
	}
	for _, d := range depts {
		s.mu.Lock()
		cur := s.signers[d.USCC]
		s.mu.Unlock()
		ds := cur
		for _, k := range d.Keys {
			if !k.Active || (cur != nil && cur.keyID == k.KeyID) {
				continue
			}
			signer, err := openDepartmentKey(&k, s.cfg.Passphrase)
			if err != nil {
				return fmt.Errorf("registry: key %s of department %s: %w", k.KeyID, d.USCC, err)
			}
			if ds, err = s.loadSigner(ctx, d, &k, signer); err != nil {
				return err
			}
		}
		s.mu.Lock()
		s.deptByID[d.USCC] = d
		if ds != nil {
			s.signers[d.USCC] = ds
		}
		s.mu.Unlock()
	}
	s.gen.Add(1) // the bundle shows departments and keys
	s.deptSeen.CompareAndSwap(seen, n)
	s.log.Info("departments reloaded: another instance changed them", "departments", len(depts))
	return nil
}
