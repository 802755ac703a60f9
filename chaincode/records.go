package chaincode

import (
	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
)

// recordsHeadPrefix keys the last anchored head of each record chain:
// rechead/<chain>: the canonical bytes of the event that anchored it.
const recordsHeadPrefix = "rechead/"

// recordsHeadRecord is what the chaincode keeps of a record chain.
type recordsHeadRecord struct {
	Entry wire.Entry `json:"entry"`
}

// AnchorRecordsHead records the head of a record chain (ledger.RecordsHead
// JSON). The chain's last anchored head is replayed first, so the rule that
// a head's sequence only grows is the same State rule the embedded ledger
// applies. Platform org only.
func (r *Registry) AnchorRecordsHead(stub Stub, creatorMSP, headJSON string) (*wire.WriteResult, error) {
	t, err := r.begin(stub, creatorMSP)
	if err != nil {
		return nil, err
	}
	if err := t.requirePlatform(wire.FnAnchorRecordsHead); err != nil {
		return nil, err
	}
	var h ledger.RecordsHead
	if err := wire.DecodeArg("head", headJSON, &h); err != nil {
		return nil, err
	}
	var prev recordsHeadRecord
	found, err := t.getJSON(recordsHeadPrefix+h.Chain, &prev)
	if err != nil {
		return nil, err
	}
	if found {
		pe, err := ledger.ParseEvent(prev.Entry.Event)
		if err != nil {
			return nil, wire.Errorf(wire.CodeInternal, "stored records head of %s: %w", h.Chain, err)
		}
		if err := t.st.Apply(pe, 0); err != nil {
			return nil, wire.Errorf(wire.CodeInternal, "stored records head of %s: %w", h.Chain, err)
		}
		if pe.At.After(t.latest) {
			t.latest = pe.At
		}
	}
	if err := t.checkTime(); err != nil {
		return nil, err
	}
	e := ledger.Event{V: ledger.EventVersion, Kind: ledger.KindRecordsHead, At: t.at, RecordsHead: &h}
	if err := t.st.Apply(e, 0); err != nil {
		return nil, wire.Classify(err)
	}
	entry, err := t.record(e)
	if err != nil {
		return nil, err
	}
	if err := t.putJSON(recordsHeadPrefix+h.Chain, recordsHeadRecord{Entry: entry}); err != nil {
		return nil, err
	}
	return t.finish()
}
