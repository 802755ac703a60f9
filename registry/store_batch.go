package registry

import "bytes"

// pendingOf is the insert of a license whose seal signature carries the
// seal, as insertLicense makes it (for the batch path, which does not queue):
// the signature is stored without the seal sealDER (id sealID).
func pendingOf(lic *License, sealID string, sealDER []byte) *pendingInsert {
	p := &pendingInsert{lic: lic, stripped: lic.SealSignature}
	if i := bytes.Index(lic.SealSignature, sealDER); i >= 0 && len(sealDER) > 0 {
		p.stripped = append(bytes.Clone(lic.SealSignature[:i]), lic.SealSignature[i+len(sealDER):]...)
		p.sealID, p.sealOffset = sealID, i
	}
	return p
}

// insertLicenses stores licenses issued together in one transaction and
// returns one error per license: if the transaction fails, each license is
// inserted alone, so a row that breaks a constraint takes no other down
// with it.
func (s *store) insertLicenses(lics []*License, sealID string, sealDER []byte) []error {
	batch := make([]*pendingInsert, len(lics))
	for i, l := range lics {
		batch[i] = pendingOf(l, sealID, sealDER)
	}
	errs := make([]error, len(lics))
	if s.insertBatch(batch) == nil {
		return errs
	}
	for i, p := range batch {
		errs[i] = s.insertBatch([]*pendingInsert{p})
	}
	return errs
}
