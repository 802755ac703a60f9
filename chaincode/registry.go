package chaincode

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/tlog"
)

// Stub is the part of shim.ChaincodeStubInterface the chaincode uses. Reads
// see the state before the transaction (Fabric does not read its own
// writes); writes take effect only if the transaction commits.
type Stub interface {
	GetState(key string) ([]byte, error)
	// GetMultipleStates reads many keys in one exchange with the peer.
	GetMultipleStates(keys ...string) ([][]byte, error)
	PutState(key string, value []byte) error
	// StartWriteBatch makes the following PutState calls go to the peer in
	// one message when the transaction ends, not one exchange each.
	StartWriteBatch()
	GetTxID() string
	GetTxTimestamp() (*timestamppb.Timestamp, error)
	SetEvent(name string, payload []byte) error
}

// State keys. Plain keys, no composite keys.
const (
	deptPrefix    = "dept/"      // dept/<uscc>: deptRecord
	keyPrefix     = "key/"       // key/<key id>: keyRecord (key ids are unique across departments)
	licensePrefix = "lic/"       // lic/<identifier>: licenseRecord
	typePrefix    = "type/"      // type/<type code>: typeRecord
	logKeyKey     = "logkey"     // logKeyRecord
	checkpointKey = "checkpoint" // wire.CheckpointRecord
)

type deptRecord struct {
	MSP string `json:"msp"`
	// Entries: registration, key additions and revocations, in the order
	// they were accepted.
	Entries []wire.Entry `json:"entries"`
}

type keyRecord struct {
	Department string `json:"department"`
}

type licenseRecord struct {
	// Entries: the anchor, then each status change.
	Entries []wire.Entry `json:"entries"`
}

type typeRecord struct {
	// Entries: the catalog.type events of one type code, version 1 first.
	Entries []wire.Entry `json:"entries"`
}

// Registry holds the chaincode's rules. Its methods take the stub and the
// creator's MSP ID, so tests drive them without Fabric.
type Registry struct {
	// PlatformMSP is the MSP ID of the platform org.
	PlatformMSP string
}

// txn is one transaction: a fresh ledger.State into which the facts the
// transaction depends on are replayed, and the records read so far.
type txn struct {
	stub     Stub
	msp      string
	platform string
	at       time.Time
	st       *ledger.State
	lics     licenseMap // st's licenses
	depts    map[string]*deptRecord
	replayed map[string]bool
	owners   map[string]bool // key ids whose owner is replayed
	entries  []json.RawMessage
	// latest is the latest time of the events replayed so far.
	latest time.Time
}

func (r *Registry) begin(stub Stub, creatorMSP string) (*txn, error) {
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return nil, wire.Errorf(wire.CodeInternal, "transaction timestamp: %w", err)
	}
	if ts == nil || ts.AsTime().IsZero() {
		return nil, wire.Errorf(wire.CodeInternal, "transaction has no timestamp")
	}
	platform := r.PlatformMSP
	if platform == "" {
		platform = wire.DefaultPlatformMSP
	}
	t := &txn{
		stub:     stub,
		msp:      creatorMSP,
		platform: platform,
		at:       ledger.NormalizeTime(ts.AsTime()),
		depts:    map[string]*deptRecord{},
	}
	t.fresh()
	return t, nil
}

// fresh gives t an empty State: nothing replayed yet.
func (t *txn) fresh() {
	t.lics = licenseMap{}
	t.st = ledger.NewStateWith(t.lics)
	t.replayed = map[string]bool{}
	t.owners = map[string]bool{}
}

// licenseMap is the in-memory ledger.LicenseStore of a transaction's State.
type licenseMap map[string]*ledger.LicenseState

func (m licenseMap) License(id string) (*ledger.LicenseState, bool, error) {
	ls, ok := m[id]
	return ls, ok, nil
}
func (m licenseMap) SetLicense(ls *ledger.LicenseState) { m[ls.Anchor.Identifier] = ls }
func (m licenseMap) DeleteLicense(id string)            { delete(m, id) }

// RegisterDepartment records a department (ledger.Department JSON), its first
// key (ledger.Key JSON) and the MSP ID of the org whose clients act for it.
// Platform org only.
func (r *Registry) RegisterDepartment(stub Stub, creatorMSP, deptJSON, keyJSON, mspID string) (*wire.WriteResult, error) {
	t, err := r.begin(stub, creatorMSP)
	if err != nil {
		return nil, err
	}
	if err := t.requirePlatform(wire.FnRegisterDepartment); err != nil {
		return nil, err
	}
	var d ledger.Department
	var k ledger.Key
	if err := wire.DecodeArg("department", deptJSON, &d); err != nil {
		return nil, err
	}
	if err := wire.DecodeArg("key", keyJSON, &k); err != nil {
		return nil, err
	}
	if err := wire.CheckMSPID(mspID); err != nil {
		return nil, err
	}
	// Replay what the rules look at: the department if it exists (a
	// duplicate) and the owner of the key id (a key recorded twice).
	if err := t.replayDept(d.USCC, true); err != nil {
		return nil, err
	}
	if err := t.replayKeyOwner(k.KeyID); err != nil {
		return nil, err
	}
	if err := t.checkTime(); err != nil {
		return nil, err
	}
	e := ledger.Event{V: ledger.EventVersion, Kind: ledger.KindDepartmentRegistered, At: t.at, Department: &d, Key: &k}
	if err := t.st.Apply(e, 0); err != nil {
		return nil, wire.Classify(err)
	}
	entry, err := t.record(e)
	if err != nil {
		return nil, err
	}
	if err := t.putJSON(deptPrefix+d.USCC, deptRecord{MSP: mspID, Entries: []wire.Entry{entry}}); err != nil {
		return nil, err
	}
	if err := t.putJSON(keyPrefix+k.KeyID, keyRecord{Department: d.USCC}); err != nil {
		return nil, err
	}
	return t.finish()
}

// AddKey records another key (ledger.Key JSON) of a registered department.
// Platform org only.
func (r *Registry) AddKey(stub Stub, creatorMSP, keyJSON string) (*wire.WriteResult, error) {
	t, err := r.begin(stub, creatorMSP)
	if err != nil {
		return nil, err
	}
	if err := t.requirePlatform(wire.FnAddKey); err != nil {
		return nil, err
	}
	var k ledger.Key
	if err := wire.DecodeArg("key", keyJSON, &k); err != nil {
		return nil, err
	}
	if err := t.replayDept(k.Department, true); err != nil {
		return nil, err
	}
	if err := t.replayKeyOwner(k.KeyID); err != nil {
		return nil, err
	}
	if err := t.checkTime(); err != nil {
		return nil, err
	}
	e := ledger.Event{V: ledger.EventVersion, Kind: ledger.KindKeyAdded, At: t.at, Key: &k}
	if err := t.st.Apply(e, 0); err != nil {
		return nil, wire.Classify(err)
	}
	if err := t.appendDept(k.Department, e); err != nil {
		return nil, err
	}
	if err := t.putJSON(keyPrefix+k.KeyID, keyRecord{Department: k.Department}); err != nil {
		return nil, err
	}
	return t.finish()
}

// RevokeKey records a key revocation (ledger.KeyRevocation JSON). Platform
// org only.
func (r *Registry) RevokeKey(stub Stub, creatorMSP, revocationJSON string) (*wire.WriteResult, error) {
	t, err := r.begin(stub, creatorMSP)
	if err != nil {
		return nil, err
	}
	if err := t.requirePlatform(wire.FnRevokeKey); err != nil {
		return nil, err
	}
	var rev ledger.KeyRevocation
	if err := wire.DecodeArg("revocation", revocationJSON, &rev); err != nil {
		return nil, err
	}
	if err := t.replayDept(rev.Department, true); err != nil {
		return nil, err
	}
	if err := t.replayKeyOwner(rev.KeyID); err != nil {
		return nil, err
	}
	if err := t.checkTime(); err != nil {
		return nil, err
	}
	e := ledger.Event{V: ledger.EventVersion, Kind: ledger.KindKeyRevoked, At: t.at, Revocation: &rev}
	if err := t.st.Apply(e, 0); err != nil {
		return nil, wire.Classify(err)
	}
	if err := t.appendDept(rev.Department, e); err != nil {
		return nil, err
	}
	return t.finish()
}

// AnchorType records a catalog type version (ledger.TypeVersion JSON): the
// next version of its code, by digest. Platform org only.
func (r *Registry) AnchorType(stub Stub, creatorMSP, typeJSON string) (*wire.WriteResult, error) {
	t, err := r.begin(stub, creatorMSP)
	if err != nil {
		return nil, err
	}
	if err := t.requirePlatform(wire.FnAnchorType); err != nil {
		return nil, err
	}
	var tv ledger.TypeVersion
	if err := wire.DecodeArg("catalog_type", typeJSON, &tv); err != nil {
		return nil, err
	}
	var rec typeRecord
	if _, err := t.getJSON(typePrefix+tv.Code, &rec); err != nil {
		return nil, err
	}
	for _, en := range rec.Entries {
		e, err := ledger.ParseEvent(en.Event)
		if err != nil {
			return nil, wire.Errorf(wire.CodeInternal, "stored event of catalog type %s (tx %s): %w", tv.Code, en.TxID, err)
		}
		if e.At.After(t.latest) {
			t.latest = e.At
		}
		if err := t.st.Apply(e, 0); err != nil {
			return nil, wire.Errorf(wire.CodeInternal, "replay catalog type %s (tx %s): %w", tv.Code, en.TxID, err)
		}
	}
	if err := t.checkTime(); err != nil {
		return nil, err
	}
	e := ledger.Event{V: ledger.EventVersion, Kind: ledger.KindCatalogType, At: t.at, CatalogType: &tv}
	if err := t.st.Apply(e, 0); err != nil {
		return nil, wire.Classify(err)
	}
	entry, err := t.record(e)
	if err != nil {
		return nil, err
	}
	rec.Entries = append(rec.Entries, entry)
	if err := t.putJSON(typePrefix+tv.Code, rec); err != nil {
		return nil, err
	}
	return t.finish()
}

// AnchorBatch records a batch of licenses (a JSON array of ledger.Anchor),
// all or nothing. Each anchor's SM2 signature is checked against its
// department's registered key; the caller must be a client of the org of
// every department in the batch.
func (r *Registry) AnchorBatch(stub Stub, creatorMSP, anchorsJSON string) (*wire.WriteResult, error) {
	t, err := r.anchorBatch(stub, creatorMSP, anchorsJSON)
	if err != nil {
		return nil, err
	}
	return t.finish()
}

// AnchorBatchCompact is AnchorBatch with a result (and chaincode event) of
// the entries' count and Merkle root instead of the entries themselves:
// the transaction carries each anchor once in its arguments and once in its
// write set, not four times, which is what bounds anchoring throughput.
func (r *Registry) AnchorBatchCompact(stub Stub, creatorMSP, anchorsJSON string) (*wire.WriteResult, error) {
	t, err := r.anchorBatch(stub, creatorMSP, anchorsJSON)
	if err != nil {
		return nil, err
	}
	tree := tlog.NewTree()
	for _, e := range t.entries {
		tree.Append(e)
	}
	return t.finishWith(&wire.WriteResult{TxID: stub.GetTxID(), Count: len(t.entries), Root: tree.Root()})
}

// anchorBatch checks and records a batch of anchors; the caller finishes
// the transaction.
func (r *Registry) anchorBatch(stub Stub, creatorMSP, anchorsJSON string) (*txn, error) {
	t, err := r.begin(stub, creatorMSP)
	if err != nil {
		return nil, err
	}
	var anchors []ledger.Anchor
	if err := wire.DecodeArg("anchors", anchorsJSON, &anchors); err != nil {
		return nil, err
	}
	if len(anchors) == 0 {
		return nil, wire.Errorf(wire.CodeInvalid, "%w: anchors: no anchors", ledger.ErrInvalidEvent)
	}
	if len(anchors) > wire.MaxBatch {
		return nil, wire.Errorf(wire.CodeInvalid, "%w: anchors: %d anchors, limit %d per transaction", ledger.ErrInvalidEvent, len(anchors), wire.MaxBatch)
	}
	// One exchange with the peer for every license record the batch needs,
	// and its writes in one message: a batch of 1000 costs a few round
	// trips between peer and chaincode, not 3000.
	stub.StartWriteBatch()
	existing, err := t.licensesExist(anchors)
	if err != nil {
		return nil, err
	}
	events := make([]ledger.Event, len(anchors))
	for i := range anchors {
		a := &anchors[i]
		if err := t.requireDeptOrg(a.Issuer, "anchor license "+a.Identifier); err != nil {
			return nil, err
		}
		if err := t.replayDept(a.Issuer, true); err != nil {
			return nil, err
		}
		if err := t.replayKeyOwner(a.KeyID); err != nil {
			return nil, err
		}
		// Licenses anchored in earlier transactions are not replayed (their
		// keys may have been revoked since); a duplicate is found here.
		if a.Identifier != "" {
			if existing[a.Identifier] {
				err := fmt.Errorf("%w: license %s is already anchored", ledger.ErrDuplicate, a.Identifier)
				if len(anchors) > 1 {
					err = fmt.Errorf("event %d of %d: %w", i, len(anchors), err)
				}
				return nil, wire.Classify(err)
			}
		}
		events[i] = ledger.Event{V: ledger.EventVersion, Kind: ledger.KindLicenseAnchored, At: t.at, Anchor: a}
	}
	preds, err := t.loadPredecessors(anchors)
	if err != nil {
		return nil, err
	}
	if err := t.checkTime(); err != nil {
		return nil, err
	}
	if err := t.st.ApplyAll(events, 0); err != nil {
		return nil, wire.Classify(err)
	}
	for i, e := range events {
		entry, err := t.record(e)
		if err != nil {
			return nil, err
		}
		rec := &licenseRecord{Entries: []wire.Entry{entry}}
		if err := t.putJSON(licensePrefix+anchors[i].Identifier, rec); err != nil {
			return nil, err
		}
		preds[anchors[i].Identifier] = rec // a later anchor of the batch may supersede it
		// The superseding anchor is also the predecessor's last event.
		if p := anchors[i].Predecessor; p != nil {
			prec := preds[p.Identifier]
			if prec == nil {
				return nil, wire.Errorf(wire.CodeInternal, "predecessor %s of %s has no record", p.Identifier, anchors[i].Identifier)
			}
			prec.Entries = append(prec.Entries, entry)
			if err := t.putJSON(licensePrefix+p.Identifier, prec); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// loadPredecessors puts the current state of every license an anchor of the
// batch supersedes (and that an earlier transaction anchored) into the
// transaction's State, and returns their records by identifier. Each is
// replayed in a State of its own — its issuer without key revocations, as
// replayLicense does — since t's State holds the issuer with them. A
// predecessor that is not stored is left out: the rules then refuse the
// version as not found.
func (t *txn) loadPredecessors(anchors []ledger.Anchor) (map[string]*licenseRecord, error) {
	recs := map[string]*licenseRecord{}
	inBatch := make(map[string]bool, len(anchors))
	for _, a := range anchors {
		inBatch[a.Identifier] = true
	}
	for _, a := range anchors {
		p := a.Predecessor
		if p == nil || p.Identifier == "" || inBatch[p.Identifier] || recs[p.Identifier] != nil {
			continue
		}
		rec, err := t.license(p.Identifier)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			continue
		}
		scratch := &txn{stub: t.stub, msp: t.msp, platform: t.platform, at: t.at, depts: t.depts}
		scratch.fresh()
		if _, err := scratch.replayLicense(rec); err != nil {
			return nil, err
		}
		ls, err := scratch.st.License(p.Identifier)
		if err != nil {
			return nil, wire.Errorf(wire.CodeInternal, "stored license %s: %w", p.Identifier, err)
		}
		t.lics.SetLicense(ls)
		if scratch.latest.After(t.latest) {
			t.latest = scratch.latest
		}
		recs[p.Identifier] = rec
	}
	return recs, nil
}

// SetStatus records a status change (ledger.StatusChange JSON: suspend,
// resume, revoke; revoked is final). The caller must be a client of the org
// of the department that anchored the license.
func (r *Registry) SetStatus(stub Stub, creatorMSP, changeJSON string) (*wire.WriteResult, error) {
	t, err := r.begin(stub, creatorMSP)
	if err != nil {
		return nil, err
	}
	var c ledger.StatusChange
	if err := wire.DecodeArg("change", changeJSON, &c); err != nil {
		return nil, err
	}
	e := ledger.Event{V: ledger.EventVersion, Kind: ledger.KindLicenseStatus, At: t.at, Status: &c}
	if c.Identifier == "" {
		// Let the rules name the missing field.
		return nil, wire.Classify(t.st.Apply(e, 0))
	}
	rec, err := t.license(c.Identifier)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, wire.Classify(fmt.Errorf("%w: license %s", ledger.ErrNotFound, c.Identifier))
	}
	issuer, err := t.replayLicense(rec)
	if err != nil {
		return nil, err
	}
	if err := t.requireDeptOrg(issuer, "change the status of license "+c.Identifier); err != nil {
		return nil, err
	}
	if err := t.checkTime(); err != nil {
		return nil, err
	}
	if err := t.st.Apply(e, 0); err != nil {
		return nil, wire.Classify(err)
	}
	entry, err := t.record(e)
	if err != nil {
		return nil, err
	}
	rec.Entries = append(rec.Entries, entry)
	if err := t.putJSON(licensePrefix+c.Identifier, rec); err != nil {
		return nil, err
	}
	return t.finish()
}

// GetLicense returns a license's anchor, status and history.
func (r *Registry) GetLicense(stub Stub, identifier string) (*wire.LicenseInfo, error) {
	t, err := r.begin(stub, "")
	if err != nil {
		return nil, err
	}
	rec, err := t.license(identifier)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, wire.Classify(fmt.Errorf("%w: license %s", ledger.ErrNotFound, identifier))
	}
	if _, err := t.replayLicense(rec); err != nil {
		return nil, err
	}
	ls, err := t.st.License(identifier)
	if err != nil {
		return nil, wire.Errorf(wire.CodeInternal, "stored license %s: %w", identifier, err)
	}
	return &wire.LicenseInfo{LicenseState: *ls, Entries: rec.Entries}, nil
}

// GetDepartment returns a department's facts, keys, revocations and org.
func (r *Registry) GetDepartment(stub Stub, uscc string) (*wire.DepartmentInfo, error) {
	t, err := r.begin(stub, "")
	if err != nil {
		return nil, err
	}
	rec, err := t.dept(uscc)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, wire.Classify(fmt.Errorf("%w: department %s", ledger.ErrNotFound, uscc))
	}
	if err := t.replayDept(uscc, true); err != nil {
		return nil, err
	}
	ds, err := t.st.Department(uscc)
	if err != nil {
		return nil, wire.Errorf(wire.CodeInternal, "stored department %s: %w", uscc, err)
	}
	return &wire.DepartmentInfo{DepartmentState: *ds, MSP: rec.MSP, Entries: rec.Entries}, nil
}

func (t *txn) requirePlatform(what string) error {
	if t.msp != t.platform {
		return wire.Errorf(wire.CodeForbidden, "%s: only clients of the platform org %s may do this; the caller is of %s", what, t.platform, t.msp)
	}
	return nil
}

// checkTime refuses a transaction whose timestamp is before an event it
// depends on. The timestamp is the proposal's, chosen by the client; the
// embedded ledger never stamps an event earlier than the one before, and this
// keeps a backdated proposal from slipping under a key revocation.
func (t *txn) checkTime() error {
	if t.at.Before(t.latest) {
		return wire.Errorf(wire.CodeInvalid, "%w: transaction time %s is before %s, the time of an event it depends on (client clock behind, or a backdated proposal)",
			ledger.ErrInvalidEvent, t.at.Format(time.RFC3339Nano), t.latest.Format(time.RFC3339Nano))
	}
	return nil
}

// requireDeptOrg checks that the caller is of the org the department uscc was
// registered with. An unknown department passes: the rules then refuse it
// with ErrUnknownDepartment.
func (t *txn) requireDeptOrg(uscc, what string) error {
	rec, err := t.dept(uscc)
	if err != nil || rec == nil {
		return err
	}
	if rec.MSP != t.msp {
		return wire.Errorf(wire.CodeForbidden, "%s: department %s belongs to org %s; the caller is of %s", what, uscc, rec.MSP, t.msp)
	}
	return nil
}

// dept returns the stored record of department uscc, or nil.
func (t *txn) dept(uscc string) (*deptRecord, error) {
	if rec, ok := t.depts[uscc]; ok {
		return rec, nil
	}
	var rec deptRecord
	found, err := t.getJSON(deptPrefix+uscc, &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		t.depts[uscc] = nil
		return nil, nil
	}
	t.depts[uscc] = &rec
	return &rec, nil
}

// license returns the stored record of a license, or nil.
func (t *txn) license(identifier string) (*licenseRecord, error) {
	var rec licenseRecord
	found, err := t.getJSON(licensePrefix+identifier, &rec)
	if err != nil || !found {
		return nil, err
	}
	return &rec, nil
}

// replayDept applies the department's stored events to the transaction's
// State, once. Without revocations the State is more permissive than the
// real one; that is only used to replay licenses anchored earlier, which
// passed the real rules when they were recorded.
func (t *txn) replayDept(uscc string, revocations bool) error {
	if t.replayed[uscc] {
		return nil
	}
	rec, err := t.dept(uscc)
	if err != nil || rec == nil {
		return err
	}
	for _, en := range rec.Entries {
		e, err := ledger.ParseEvent(en.Event)
		if err != nil {
			return wire.Errorf(wire.CodeInternal, "stored event of department %s (tx %s): %w", uscc, en.TxID, err)
		}
		if e.At.After(t.latest) {
			t.latest = e.At
		}
		if e.Kind == ledger.KindKeyRevoked && !revocations {
			continue
		}
		if err := t.st.Apply(e, 0); err != nil {
			return wire.Errorf(wire.CodeInternal, "replay department %s (tx %s): %w", uscc, en.TxID, err)
		}
	}
	t.replayed[uscc] = true
	return nil
}

// licensesExist reads, in one exchange, which of the anchors' identifiers
// are already anchored.
func (t *txn) licensesExist(anchors []ledger.Anchor) (map[string]bool, error) {
	keys := make([]string, 0, len(anchors))
	for _, a := range anchors {
		if a.Identifier != "" {
			keys = append(keys, licensePrefix+a.Identifier)
		}
	}
	vals, err := t.stub.GetMultipleStates(keys...)
	if err != nil {
		return nil, wire.Errorf(wire.CodeInternal, "read license records: %w", err)
	}
	if len(vals) != len(keys) {
		return nil, wire.Errorf(wire.CodeInternal, "read license records: %d values for %d keys", len(vals), len(keys))
	}
	out := make(map[string]bool, len(keys))
	for i, v := range vals {
		if v != nil {
			out[strings.TrimPrefix(keys[i], licensePrefix)] = true
		}
	}
	return out, nil
}

// replayKeyOwner replays the department that owns key id, if any, so the
// rules see keys of other departments.
func (t *txn) replayKeyOwner(keyID string) error {
	if keyID == "" || t.owners[keyID] {
		return nil
	}
	t.owners[keyID] = true
	var k keyRecord
	found, err := t.getJSON(keyPrefix+keyID, &k)
	if err != nil || !found {
		return err
	}
	return t.replayDept(k.Department, true)
}

// replayLicense replays a license's issuer (without key revocations, see
// replayDept) and the license's own events, and returns the issuer. A later
// version's anchor names its predecessor, which must be in the State first:
// the older versions are replayed before it, oldest first, each without the
// anchor of its successor (that is the next version's first event).
func (t *txn) replayLicense(rec *licenseRecord) (string, error) {
	events, err := t.parseRecord(rec)
	if err != nil {
		return "", err
	}
	issuer := events[0].Anchor.Issuer
	if t.replayed[issuer] {
		return "", wire.Errorf(wire.CodeInternal, "license replay needs a fresh state")
	}
	if err := t.replayDept(issuer, false); err != nil {
		return "", err
	}
	var chain [][]ledger.Event
	for p := events[0].Anchor.Predecessor; p != nil; {
		prec, err := t.license(p.Identifier)
		if err != nil {
			return "", err
		}
		if prec == nil {
			return "", wire.Errorf(wire.CodeInternal, "stored license names predecessor %s, which is not stored", p.Identifier)
		}
		pev, err := t.parseRecord(prec)
		if err != nil {
			return "", err
		}
		chain = append(chain, pev)
		p = pev[0].Anchor.Predecessor
	}
	for i := len(chain) - 1; i >= 0; i-- {
		own := chain[i][0].Anchor.Identifier
		for _, e := range chain[i] {
			if e.Kind == ledger.KindLicenseAnchored && e.Anchor.Identifier != own {
				continue
			}
			if err := t.st.Apply(e, 0); err != nil {
				return "", wire.Errorf(wire.CodeInternal, "replay predecessor %s: %w", own, err)
			}
		}
	}
	for i, e := range events {
		if err := t.st.Apply(e, 0); err != nil {
			return "", wire.Errorf(wire.CodeInternal, "replay license (tx %s): %w", rec.Entries[i].TxID, err)
		}
	}
	return issuer, nil
}

// parseRecord decodes a license record's stored events; the first is the
// license's anchor.
func (t *txn) parseRecord(rec *licenseRecord) ([]ledger.Event, error) {
	events := make([]ledger.Event, len(rec.Entries))
	for i, en := range rec.Entries {
		e, err := ledger.ParseEvent(en.Event)
		if err != nil {
			return nil, wire.Errorf(wire.CodeInternal, "stored license event (tx %s): %w", en.TxID, err)
		}
		if e.At.After(t.latest) {
			t.latest = e.At
		}
		events[i] = e
	}
	if len(events) == 0 || events[0].Kind != ledger.KindLicenseAnchored {
		return nil, wire.Errorf(wire.CodeInternal, "stored license record does not start with its anchor")
	}
	return events, nil
}

// record adds e to the transaction's entries and returns its wire.Entry.
func (t *txn) record(e ledger.Event) (wire.Entry, error) {
	canon, err := e.Canonical()
	if err != nil {
		return wire.Entry{}, wire.Classify(err)
	}
	entry := wire.Entry{TxID: t.stub.GetTxID(), Index: len(t.entries), Event: canon}
	t.entries = append(t.entries, canon)
	return entry, nil
}

// appendDept records e as the department's next entry.
func (t *txn) appendDept(uscc string, e ledger.Event) error {
	rec, err := t.dept(uscc)
	if err != nil {
		return err
	}
	if rec == nil {
		return wire.Errorf(wire.CodeInternal, "department %s vanished", uscc)
	}
	entry, err := t.record(e)
	if err != nil {
		return err
	}
	rec.Entries = append(rec.Entries, entry)
	return t.putJSON(deptPrefix+uscc, rec)
}

// finish sets the chaincode event and returns the transaction's result.
func (t *txn) finish() (*wire.WriteResult, error) {
	return t.finishWith(&wire.WriteResult{TxID: t.stub.GetTxID(), Entries: t.entries})
}

// finishWith sets res as the chaincode event and returns it.
func (t *txn) finishWith(res *wire.WriteResult) (*wire.WriteResult, error) {
	b, err := wire.Marshal(res)
	if err != nil {
		return nil, err
	}
	if err := t.stub.SetEvent(wire.EventName, b); err != nil {
		return nil, wire.Errorf(wire.CodeInternal, "set event: %w", err)
	}
	return res, nil
}

func (t *txn) getJSON(key string, v any) (bool, error) {
	b, err := t.stub.GetState(key)
	if err != nil {
		return false, wire.Errorf(wire.CodeInternal, "read %s: %w", key, err)
	}
	if b == nil {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, wire.Errorf(wire.CodeInternal, "decode stored %s: %w", key, err)
	}
	return true, nil
}

func (t *txn) putJSON(key string, v any) error {
	b, err := wire.Marshal(v)
	if err != nil {
		return err
	}
	if err := t.stub.PutState(key, b); err != nil {
		return wire.Errorf(wire.CodeInternal, "write %s: %w", key, err)
	}
	return nil
}
