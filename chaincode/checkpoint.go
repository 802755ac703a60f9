package chaincode

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/tlog"
	"zhengzhao/signing"
)

// SetLogKey records the key that signs the registry log's checkpoints: an SM2
// public key or certificate, as PEM ("PUBLIC KEY" or "CERTIFICATE") or as
// base64 of its DER, and the log's origin, which is also the key name in the
// signed notes. Platform org only, and only once.
func (r *Registry) SetLogKey(stub Stub, creatorMSP, pemOrDER, origin string) (*wire.LogKey, error) {
	t, err := r.begin(stub, creatorMSP)
	if err != nil {
		return nil, err
	}
	if err := t.requirePlatform(wire.FnSetLogKey); err != nil {
		return nil, err
	}
	if err := tlog.CheckKeyName(origin); err != nil {
		return nil, wire.Errorf(wire.CodeInvalid, "argument origin: %w", err)
	}
	pub, err := parseLogKey(pemOrDER)
	if err != nil {
		return nil, err
	}
	der, err := signing.MarshalPublicKey(pub)
	if err != nil {
		return nil, wire.Errorf(wire.CodeInvalid, "argument key: %w", err)
	}
	var old wire.LogKey
	found, err := t.getJSON(logKeyKey, &old)
	if err != nil {
		return nil, err
	}
	if found {
		return nil, wire.Errorf(wire.CodeDuplicate, "%w: the log key is already set (origin %s)", ledger.ErrDuplicate, old.Origin)
	}
	lk := &wire.LogKey{Origin: origin, PublicKey: der}
	if err := t.putJSON(logKeyKey, lk); err != nil {
		return nil, err
	}
	return lk, nil
}

// GetLogKey returns the registered log key.
func (r *Registry) GetLogKey(stub Stub) (*wire.LogKey, error) {
	t, err := r.begin(stub, "")
	if err != nil {
		return nil, err
	}
	var lk wire.LogKey
	found, err := t.getJSON(logKeyKey, &lk)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, wire.Errorf(wire.CodeNotFound, "%w: no log key is set", ledger.ErrNotFound)
	}
	return &lk, nil
}

// PutCheckpoint records a new checkpoint of the registry's Merkle log: note
// is the C2SP signed note, which must verify with the log key; proofJSON is
// the consistency proof from the previous checkpoint to this one, a JSON array
// of base64 hashes (ignored for the first checkpoint). A checkpoint smaller
// than the previous one, or not consistent with it, is refused. Platform org
// only.
func (r *Registry) PutCheckpoint(stub Stub, creatorMSP, note, proofJSON string) (*wire.CheckpointRecord, error) {
	t, err := r.begin(stub, creatorMSP)
	if err != nil {
		return nil, err
	}
	if err := t.requirePlatform(wire.FnPutCheckpoint); err != nil {
		return nil, err
	}
	var lk wire.LogKey
	found, err := t.getJSON(logKeyKey, &lk)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, wire.Errorf(wire.CodeNotFound, "%w: no log key is set; SetLogKey first", ledger.ErrNotFound)
	}
	pub, err := signing.ParsePublicKey(lk.PublicKey)
	if err != nil {
		return nil, wire.Errorf(wire.CodeInternal, "stored log key: %w", err)
	}
	cp, err := tlog.VerifyCheckpoint(note, lk.Origin, pub)
	if err != nil {
		return nil, wire.Classify(fmt.Errorf("argument note: %w", err))
	}
	var proof [][]byte
	if strings.TrimSpace(proofJSON) != "" {
		if err := wire.DecodeArg("proof", proofJSON, &proof); err != nil {
			return nil, err
		}
	}
	var prev wire.CheckpointRecord
	found, err = t.getJSON(checkpointKey, &prev)
	if err != nil {
		return nil, err
	}
	if found {
		switch {
		case cp.Size < prev.Size:
			return nil, wire.Errorf(wire.CodeConsistency, "%w: tree size %d is smaller than the previous checkpoint's %d", tlog.ErrProof, cp.Size, prev.Size)
		case cp.Size == prev.Size && bytes.Equal(cp.Root, prev.Root):
			return nil, wire.Errorf(wire.CodeDuplicate, "%w: a checkpoint of tree size %d with this root is already recorded", ledger.ErrDuplicate, cp.Size)
		}
		if err := tlog.VerifyConsistency(prev.Size, cp.Size, proof, prev.Root, cp.Root); err != nil {
			return nil, wire.Classify(err)
		}
	}
	rec := &wire.CheckpointRecord{
		SignedCheckpoint: ledger.SignedCheckpoint{Note: note, Size: cp.Size, Root: cp.Root},
		TxID:             stub.GetTxID(),
	}
	if err := t.putJSON(checkpointKey, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// GetCheckpoint returns the latest accepted checkpoint.
func (r *Registry) GetCheckpoint(stub Stub) (*wire.CheckpointRecord, error) {
	t, err := r.begin(stub, "")
	if err != nil {
		return nil, err
	}
	var rec wire.CheckpointRecord
	found, err := t.getJSON(checkpointKey, &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, wire.Errorf(wire.CodeNotFound, "%w: no checkpoint yet", ledger.ErrNotFound)
	}
	return &rec, nil
}

// parseLogKey reads an SM2 public key from PEM (PUBLIC KEY or CERTIFICATE)
// or base64 DER of either.
func parseLogKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	var der []byte
	kind := ""
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, wire.Errorf(wire.CodeInvalid, "argument key: bad PEM")
		}
		der, kind = block.Bytes, block.Type
	} else {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, wire.Errorf(wire.CodeInvalid, "argument key: neither PEM nor base64 DER: %v", err)
		}
		der = b
	}
	if kind == "" || kind == "PUBLIC KEY" {
		if pub, err := signing.ParsePublicKey(der); err == nil {
			return pub, nil
		} else if kind != "" {
			return nil, wire.Errorf(wire.CodeInvalid, "argument key: %w", err)
		}
	}
	if kind == "" || kind == "CERTIFICATE" {
		cert, err := smx509.ParseCertificate(der)
		if err != nil {
			return nil, wire.Errorf(wire.CodeInvalid, "argument key: not an SM2 public key or certificate: %v", err)
		}
		pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
		if !ok || !sm2.IsSM2PublicKey(pub) {
			return nil, wire.Errorf(wire.CodeInvalid, "argument key: the certificate's key is not SM2")
		}
		return pub, nil
	}
	return nil, wire.Errorf(wire.CodeInvalid, "argument key: PEM type %q, want PUBLIC KEY or CERTIFICATE", kind)
}
