package registry

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/credential"
	"zhengzhao/ledger"
	"zhengzhao/license"
	"zhengzhao/render"
	"zhengzhao/signing"
	"zhengzhao/signing/seal"
)

// Config configures a Service. Dir, Platform, Ledger and Passphrase are required.
type Config struct {
	// Dir is the data directory: registry.db (unless Store is set) and the
	// department keys of stores from before keys lived in the store.
	Dir string
	// Store is where the registry keeps licenses, departments, accounts
	// and the rest (OpenSQLite, OpenPostgres). Nil means the SQLite store
	// registry.db in Dir, which Close closes; a Store given here is the
	// caller's to close.
	Store Store
	// Platform is the platform root and log keys (LoadPlatform).
	Platform *Platform
	// Ledger anchors every issue and status change.
	Ledger ledger.Ledger
	// LogOrigin names the ledger's checkpoints, for the trust bundle.
	LogOrigin string
	// Passphrase decrypts the department keys at rest.
	Passphrase []byte
	// Catalog is the license-type catalog; nil means license.DefaultCatalog().
	Catalog *license.Catalog
	// PublicURL is where verifiers reach this platform, such as
	// "https://zz.example.gov.cn": every credential names its status list as
	// {PublicURL}/status/{uscc}/message/{n}. Empty means "http://127.0.0.1:8080".
	PublicURL string
	// StatusListValidity is how long a signed status list and the trust
	// bundle are valid; zero means 24 hours.
	StatusListValidity time.Duration
	// Font is the CJK TrueType font (render.FindFont) that seal pictures
	// and license PDFs are drawn with.
	Font []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives operational logs, never personal data or keys.
	Logger *slog.Logger
}

// Validate reports the first missing required setting.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("registry: Config.Dir is required")
	case c.Platform == nil:
		return errors.New("registry: Config.Platform is required")
	case c.Ledger == nil:
		return errors.New("registry: Config.Ledger is required")
	case len(c.Passphrase) == 0:
		return errors.New("registry: Config.Passphrase is required")
	case len(c.Font) == 0:
		return errors.New("registry: Config.Font is required (a CJK TrueType font for seals and PDFs; see render.FindFont)")
	}
	return nil
}

// Service is the registry: departments, catalog, issuing, lifecycle, tokens.
type Service struct {
	// Directory holds the web accounts, sessions and API tokens.
	*Directory

	cfg   Config
	store Store
	// instance names this instance's one-active claims (instanceID).
	instance  string
	ownsStore bool
	catalog   atomic.Pointer[license.Catalog] // every type version; replaced whole by catalog edits
	catalogMu sync.Mutex                      // serializes catalog edits
	ledger    ledger.Ledger
	now       func() time.Time
	log       *slog.Logger
	render    *render.Renderer

	mu       sync.Mutex
	signers  map[string]*deptSigner // USCC → active key
	deptByID map[string]*Department // USCC → department

	// locks serializes status changes of one license.
	locks licenseLocks
	// holders serializes issues of a one-active type to one holder.
	holders keyLocks

	// gen counts changes that alter the trust bundle (departments, keys,
	// statuses), so the signed bundle and lists are rebuilt only then.
	gen atomic.Uint64

	lists  listCache
	bundle bundleCache

	// stopSync stops following other instances' department changes;
	// deptSeen is the store's count of them this instance holds.
	stopSync func()
	deptSeen atomic.Int64
	records  *recordLog // the hash-chained record log (records.go)
}

// changed notes a change the trust bundle or a status list shows.
func (s *Service) changed() { s.gen.Add(1); s.sharedChanged() }

// deptSigner is what issuing needs of a department's active key: the key,
// its certificate and the seal that lists it.
type deptSigner struct {
	keyID  string
	signer signing.Signer
	cert   *smx509.Certificate
	seal   *seal.Seal
	// stamp stamps seal with signer, hashing the seal once.
	stamp *seal.Stamper
}

// newSigner pairs a department key with its certificate and seal.
func newSigner(keyID string, signer signing.Signer, cert *smx509.Certificate, sl *seal.Seal) (*deptSigner, error) {
	stamp, err := seal.NewStamper(signer, cert, sl)
	if err != nil {
		return nil, fmt.Errorf("registry: seal %s with key %s: %w", sl.ID, keyID, err)
	}
	return &deptSigner{keyID: keyID, signer: signer, cert: cert, seal: sl, stamp: stamp}, nil
}

// Open opens the registry in cfg.Dir, creating its store if needed, and
// decrypts the active department keys.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Catalog == nil {
		cfg.Catalog = license.DefaultCatalog()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://127.0.0.1:8080"
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.StatusListValidity <= 0 {
		cfg.StatusListValidity = 24 * time.Hour
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "keys"), 0o700); err != nil {
		return nil, err
	}
	renderer, err := render.NewRenderer(cfg.Font)
	if err != nil {
		return nil, err
	}
	st, owns := cfg.Store, false
	if st == nil {
		if st, err = OpenSQLite(filepath.Join(cfg.Dir, storeFile)); err != nil {
			return nil, err
		}
		owns = true
	}
	s := &Service{
		cfg: cfg, store: st, ownsStore: owns, ledger: cfg.Ledger, now: cfg.Now, log: cfg.Logger, render: renderer,
		signers: map[string]*deptSigner{}, deptByID: map[string]*Department{},
	}
	s.locks.seed = maphash.MakeSeed()
	// One-active claims a crash of this instance left would hold its own
	// holders for claimTTL: they go now.
	if s.instance, err = instanceID(cfg.Dir); err == nil {
		err = st.releaseInstanceClaims(ctx, s.instance)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Directory = newDirectory(st, cfg.Now, cfg.Logger, false)
	s.catalog.Store(cfg.Catalog)
	if err := s.loadCatalog(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("registry: catalog: %w", err)
	}
	if err := s.loadDepartments(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.checkLedger(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if s.stopSync, err = s.startDeptSync(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.records = newRecordLog(st, cfg.Ledger, cfg.Now, cfg.Logger)
	return s, nil
}

// Close anchors the record chain's head and closes the store the Service
// opened. The ledger, and a store given in Config, are the caller's to
// close.
func (s *Service) Close() error {
	if s.stopSync != nil {
		s.stopSync()
		s.stopSync = nil
	}
	if s.records != nil {
		s.records.stop()
	}
	if !s.ownsStore {
		return nil
	}
	return s.store.Close()
}

// Catalog returns the license-type catalog: the built-in types and every
// version the admin added.
func (s *Service) Catalog() *license.Catalog { return s.catalog.Load() }

// loadSigner pairs an active key with its certificate and seal. A
// department from a store made before seals existed gets its seal now.
func (s *Service) loadSigner(ctx context.Context, d *Department, k *DepartmentKey, signer signing.Signer) (*deptSigner, error) {
	cert, err := smx509.ParseCertificate(k.CertDER)
	if err != nil {
		return nil, fmt.Errorf("registry: certificate of key %s: %w", k.KeyID, err)
	}
	sl, err := s.store.activeSeal(ctx, d.USCC)
	if err != nil {
		return nil, fmt.Errorf("registry: seal of department %s: %w", d.USCC, err)
	}
	if sl == nil || !sl.Lists(k.CertDER) {
		made, err := s.sealFor(d.USCC, d.Name, k, s.now())
		if err != nil {
			return nil, err
		}
		if err := s.store.insertSealOnly(ctx, made); err != nil {
			return nil, err
		}
		sl = made.parsed
	}
	return newSigner(k.KeyID, signer, cert, sl)
}

func (s *Service) loadDepartments(ctx context.Context) error {
	depts, err := s.store.departments(ctx)
	if err != nil {
		return err
	}
	for _, d := range depts {
		s.deptByID[d.USCC] = d
		for _, k := range d.Keys {
			if !k.Active {
				continue
			}
			signer, err := openDepartmentKey(&k, s.cfg.Passphrase)
			if err != nil {
				return fmt.Errorf("registry: key %s of department %s: %w", k.KeyID, d.USCC, err)
			}
			ds, err := s.loadSigner(ctx, d, &k, signer)
			if err != nil {
				return err
			}
			s.signers[d.USCC] = ds
		}
	}
	return nil
}

// Issue validates the request, gives the license its identifier, builds and
// signs the credential, seals it, anchors it on the ledger and stores it. It
// answers only once the license is durable in both the ledger and the
// store. Concurrent calls share their ledger commit and their store
// transaction; IssueBatch issues many requests with one of each.
func (s *Service) Issue(ctx context.Context, a Actor, req IssueRequest) (*License, error) {
	dept, err := s.issuingDepartment(a)
	if err != nil {
		return nil, err
	}
	if prior, err := s.priorIssue(ctx, dept, req); prior != nil || err != nil {
		return prior, err
	}
	typ, rec, err := s.validIssue(dept, req)
	if err != nil {
		return nil, err
	}
	unlock, err := s.holdOne(ctx, typ, rec.HolderCode)
	if err != nil {
		return nil, err
	}
	defer unlock()
	key, err := s.activeKey(dept.USCC)
	if err != nil {
		return nil, err
	}
	statusIndex, err := s.allocateSlot(ctx, dept.USCC)
	if err != nil {
		return nil, err
	}
	// A crash between anchoring and storing leaves an orphan anchor whose
	// identifier the store never saw; the ledger refuses it again as a
	// duplicate and the next serial is taken.
	for attempt := 0; ; attempt++ {
		serial, err := s.nextSerial(ctx, dept.USCC, typ.Code, rec.IssueDate)
		if err != nil {
			return nil, err
		}
		lic, err := s.mint(ctx, mintRequest{dept: dept, key: key, rec: rec, serial: serial, version: firstVersion, statusIndex: statusIndex, requestKey: req.RequestKey})
		if errors.Is(err, ledger.ErrDuplicate) && attempt < maxSerialRetries {
			continue
		}
		return s.recordLicense(ctx, a, ActionIssue, "")(lic, err)
	}
}

// firstVersion is the identifier's version segment of a first issue.
const firstVersion = "001"

// maxSerialRetries bounds how many serials an issue tries past ones the
// ledger already holds (orphan anchors of a crash).
const maxSerialRetries = 16

// priorIssue returns the license an earlier request with the same
// RequestKey issued, or nil; a key reused for another request is a
// *KeyReuseError.
func (s *Service) priorIssue(ctx context.Context, dept *Department, req IssueRequest) (*License, error) {
	if req.RequestKey == "" {
		return nil, nil
	}
	prior, err := s.store.licenseByRequestKey(ctx, dept.USCC, req.RequestKey)
	if err != nil || prior == nil {
		return nil, err
	}
	if err := sameRequest(prior, req); err != nil {
		return nil, err
	}
	return prior, nil
}

// validIssue checks that the department may issue the request's type and
// builds the record, defaults filled, that the type's rules accept.
func (s *Service) validIssue(dept *Department, req IssueRequest) (license.Type, license.Record, error) {
	typ, err := s.typeFor(dept, req.TypeCode)
	if err != nil {
		return license.Type{}, license.Record{}, err
	}
	rec := s.record(dept, typ, req)
	if err := typ.ValidateAt(rec, s.now()); err != nil {
		return license.Type{}, license.Record{}, err
	}
	return typ, rec, nil
}

// allocateSlot takes a status-list slot of the department for a new
// license version.
func (s *Service) allocateSlot(ctx context.Context, uscc string) (int, error) {
	slot, opened, err := s.store.allocateSlot(ctx, uscc, randomListIndex)
	if err != nil {
		return 0, err
	}
	if opened {
		s.changed() // the bundle carries the new list
	}
	return slot, nil
}

// mintRequest is what mint needs once a license's record is validated and
// its serial, version and status-list slot are chosen.
type mintRequest struct {
	dept        *Department
	key         *deptSigner
	rec         license.Record
	serial      string
	version     string
	statusIndex int
	requestKey  string
	// predecessor is the version this one supersedes; nil for a first issue.
	predecessor *ledger.Predecessor
	// beforeAnchor, when set, is called with the license (without its
	// receipt) and its seal's id just before it is anchored.
	beforeAnchor func(lic *License, sealID string, anchor ledger.Anchor) error
}

// minted is a license version signed and sealed, not yet anchored: the
// license as it will be stored (without its receipt) and its anchor.
type minted struct {
	lic    *License
	anchor ledger.Anchor
	// err is the store's refusal of this version, once anchored.
	err error
}

// mint is the pipeline every license version goes through, first issue or
// new version: sign (identifier → credential → proof → seal → QR form),
// anchor, store.
func (s *Service) mint(ctx context.Context, m mintRequest) (*License, error) {
	v, err := s.sign(m)
	if err != nil {
		return nil, err
	}
	// One license at a time: it carries its seal signature whole (a batch's
	// licenses leave it to Get).
	v.lic.SealSignature = v.lic.sealCut.Join(m.key.seal.Raw, m.key.cert.Raw)
	if m.beforeAnchor != nil {
		if err := m.beforeAnchor(v.lic, m.key.seal.ID, v.anchor); err != nil {
			return nil, err
		}
	}
	if err := s.anchorAndStore(ctx, m.key, []*minted{v}); err != nil {
		return nil, err
	}
	if v.err != nil {
		return nil, v.err
	}
	return v.lic, nil
}

// sign makes a license version: its identifier, the credential signed
// once (canonical bytes, digests and signature from that one signing), the
// department's seal over those bytes, the compact QR form, and the anchor
// the ledger gets — no personal data in it.
func (s *Service) sign(m mintRequest) (*minted, error) {
	rec := m.rec
	id, err := license.NewIdentifier(rec.TypeCode, m.dept.USCC, m.serial, m.version)
	if err != nil {
		return nil, err
	}
	rec.Identifier = id.String()
	if rec.Number == "" {
		rec.Number = m.serial
	}
	status, err := s.statusEntries(m.dept.USCC, m.statusIndex)
	if err != nil {
		return nil, err
	}
	cred, err := credential.New(rec, m.dept.Name, status)
	if err != nil {
		return nil, err
	}
	cred.Context = append(cred.Context, s.cfg.PublicURL+credential.ContextPath) // Zhengzhao's terms (JSON-LD)
	now := s.now()
	signed, err := cred.SignCanonical(m.key.signer, credential.VerificationMethod(m.dept.USCC, m.key.keyID), now)
	if err != nil {
		return nil, fmt.Errorf("registry: sign %s: %w", rec.Identifier, err)
	}
	sealCut, err := sealLicense(m.key, signed.Canonical, rec.Identifier, now)
	if err != nil {
		return nil, err
	}
	compact, err := credential.EncodeCompact(cred, m.key.signer, m.key.keyID, now)
	if err != nil {
		return nil, fmt.Errorf("registry: compact form of %s: %w", rec.Identifier, err)
	}
	return &minted{
		lic: &License{
			Identifier: rec.Identifier, Department: m.dept.USCC, TypeCode: rec.TypeCode, Serial: m.serial, Version: m.version,
			Status: license.StatusActive, StatusIndex: m.statusIndex, Record: rec, Credential: signed.Canonical,
			IssuedAt: now, RequestKey: m.requestKey, Compact: compact, sealCut: sealCut, sealCert: m.key.cert.Raw,
		},
		anchor: ledger.Anchor{
			Identifier: rec.Identifier, Issuer: m.dept.USCC, TypeCode: rec.TypeCode, KeyID: m.key.keyID,
			ProofHash: signed.ProofHash, DocumentHash: signed.DocumentHash, Signature: signed.Signature,
			ValidFrom: signed.ValidFrom, ValidUntil: signed.ValidUntil, Predecessor: m.predecessor,
		},
	}, nil
}

// anchorAndStore anchors the versions on the ledger in one append, then
// stores them in one transaction, and returns once both are durable. The
// versions are signed with key (its seal is stored apart from each seal
// signature). An error is the ledger's, for all of them; a version the
// store refused has its err set.
func (s *Service) anchorAndStore(ctx context.Context, key *deptSigner, vs []*minted) error {
	anchors := make([]ledger.Anchor, len(vs))
	for i, v := range vs {
		anchors[i] = v.anchor
	}
	receipts, err := s.ledger.Anchor(ctx, anchors)
	if err != nil {
		if len(vs) == 1 {
			return fmt.Errorf("registry: anchor %s: %w", vs[0].lic.Identifier, err)
		}
		return fmt.Errorf("registry: anchor %d licenses: %w", len(vs), err)
	}
	lics := make([]*License, len(vs))
	for i, v := range vs {
		v.lic.Receipt = receipts[i]
		lics[i] = v.lic
	}
	if len(vs) == 1 {
		// Concurrent single issues share the store's group commit.
		vs[0].err = s.store.insertLicense(ctx, lics[0], key.seal.ID, key.seal.Raw)
	} else {
		for i, err := range s.store.insertLicenses(lics, key.seal.ID, key.seal.Raw) {
			vs[i].err = err
		}
	}
	s.logIssued(vs)
	return nil
}

// logIssued logs the versions stored: a line each for a single issue, one
// line for a batch (its licenses are each in the record log), so that a
// bulk import of a million licenses does not write a million log lines.
func (s *Service) logIssued(vs []*minted) {
	var stored []*License
	for _, v := range vs {
		if v.err == nil {
			stored = append(stored, v.lic)
		}
	}
	switch {
	case len(stored) == 0:
	case len(vs) == 1:
		l := stored[0]
		s.log.Info("license issued", "id", l.Identifier, "department", l.Department, "type", l.TypeCode, "version", l.Version, "log_index", l.Receipt.LogIndex)
	default:
		first, last := stored[0], stored[len(stored)-1]
		s.log.Info("licenses issued", "count", len(stored), "refused", len(vs)-len(stored), "department", first.Department,
			"first", first.Identifier, "last", last.Identifier, "log_index_from", first.Receipt.LogIndex, "log_index_to", last.Receipt.LogIndex)
	}
}

// sealLicense stamps the department's seal on a license: an SES_Signature
// over SM3 of the credential's canonical bytes, made cut (without the seal
// and the certificate, which the store keeps once).
func sealLicense(key *deptSigner, credentialJSON []byte, identifier string, at time.Time) (*seal.CutSignature, error) {
	digest := sm3.Sum(credentialJSON)
	sig, err := key.stamp.SignCut(digest[:], at, "license:"+identifier)
	if err != nil {
		return nil, fmt.Errorf("registry: seal %s: %w", identifier, err)
	}
	return sig, nil
}

// record builds the license record from a request, filling the defaults.
func (s *Service) record(dept *Department, typ license.Type, req IssueRequest) license.Record {
	today := s.now().In(license.ChinaTime).Format(time.DateOnly)
	rec := license.Record{
		Name: typ.Name, TypeCode: typ.Code, Number: req.Number,
		Holder: req.Holder, HolderCode: req.HolderCode, HolderCodeType: typ.HolderKind.CodeType(),
		Issuer: dept.Name, IssuerCode: dept.USCC,
		IssueDate: req.IssueDate, ValidFrom: req.ValidFrom, ValidUntil: req.ValidUntil,
		Jurisdiction: req.Jurisdiction, Fields: req.Fields, TypeVersion: typ.Version,
	}
	if rec.IssueDate == "" {
		rec.IssueDate = today
	}
	if rec.ValidFrom == "" {
		rec.ValidFrom = rec.IssueDate
	}
	if rec.ValidUntil == "" && typ.ValidityYears > 0 {
		if from, err := time.Parse(time.DateOnly, rec.ValidFrom); err == nil {
			rec.ValidUntil = from.AddDate(typ.ValidityYears, 0, -1).Format(time.DateOnly)
		}
	}
	if rec.Fields == nil {
		rec.Fields = map[string]string{}
	}
	return rec
}

func (s *Service) issuingDepartment(a Actor) (*Department, error) {
	if a.Role != RoleIssuer {
		return nil, fmt.Errorf("%w: role %q may not issue", ErrForbidden, a.Role)
	}
	s.mu.Lock()
	d := s.deptByID[a.Department]
	s.mu.Unlock()
	if d == nil {
		return nil, fmt.Errorf("%w: department %s is not registered", ErrForbidden, a.Department)
	}
	return d, nil
}

func (s *Service) typeFor(d *Department, code string) (license.Type, error) {
	typ, ok := s.Catalog().Type(code)
	if !ok {
		return license.Type{}, &license.FieldError{Field: "type", Rule: "unknown", Message: fmt.Sprintf("证照类型 %s 不在证照目录中", code)}
	}
	if !slices.Contains(d.Types, code) {
		return license.Type{}, fmt.Errorf("%w: department %s may not issue type %s (%s)", ErrForbidden, d.USCC, code, typ.Name)
	}
	return typ, nil
}

func (s *Service) activeKey(uscc string) (*deptSigner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.signers[uscc]
	if k == nil {
		return nil, fmt.Errorf("registry: department %s has no active key", uscc)
	}
	return k, nil
}

// nextSerial hands out the next serial for a department, type and year:
// the year followed by a 7-digit sequence, like 20230000403.
func (s *Service) nextSerial(ctx context.Context, uscc, typeCode, issueDate string) (string, error) {
	year := serialYear(issueDate)
	n, err := s.store.nextSerial(ctx, uscc, typeCode, year)
	if err != nil {
		return "", err
	}
	return formatSerial(year, n), nil
}

// serialYear is the year of an issue date (YYYY-MM-DD) that its serial
// starts with.
func serialYear(issueDate string) string { return issueDate[:4] }

// formatSerial is the serial of number n in a year.
func formatSerial(year string, n int) string { return fmt.Sprintf("%s%07d", year, n) }

// Get returns a stored license.
func (s *Service) Get(ctx context.Context, id string) (*License, error) {
	return s.store.license(ctx, id)
}

// List returns stored licenses matching f.
func (s *Service) List(ctx context.Context, f ListFilter) ([]*License, error) {
	return s.store.list(ctx, f)
}

// RegisterDepartment creates a department's SM2 key (encrypted at rest), its
// certificate under the platform root, and records both on the ledger.
func (s *Service) RegisterDepartment(ctx context.Context, a Actor, uscc, name string, types []string) (*Department, error) {
	if a.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin registers departments", ErrForbidden)
	}
	if err := license.ValidateUSCC(uscc); err != nil {
		return nil, &license.FieldError{Field: "uscc", Rule: "uscc", Message: err.Error()}
	}
	if name == "" || len([]rune(name)) > 100 {
		return nil, &license.FieldError{Field: "name", Rule: "length", Message: "请填写部门名称，最多 100 个字"}
	}
	if fe := license.CheckText("name", name, false); fe != nil {
		return nil, fe
	}
	if len(types) == 0 {
		return nil, &license.FieldError{Field: "types", Rule: "required", Message: "请至少选择一种证照类型"}
	}
	for _, t := range types {
		if _, ok := s.Catalog().Type(t); !ok {
			return nil, &license.FieldError{Field: "types", Rule: "unknown", Message: fmt.Sprintf("证照类型 %s 不在证照目录中", t)}
		}
	}
	s.mu.Lock()
	exists := s.deptByID[uscc] != nil
	s.mu.Unlock()
	if exists {
		return nil, fmt.Errorf("%w: department %s is already registered", ErrConflict, uscc)
	}
	now := s.now()
	key, dk, err := s.newDepartmentKey(uscc, name, now)
	if err != nil {
		return nil, err
	}
	d := &Department{USCC: uscc, Name: name, Types: slices.Sorted(slices.Values(types)), CreatedAt: now}
	sl, err := s.sealFor(uscc, name, dk, now)
	if err != nil {
		return nil, err
	}
	ds, err := newDeptSigner(key, dk, sl)
	if err != nil {
		return nil, err
	}
	if _, err := s.ledger.RegisterDepartment(ctx, ledger.Department{USCC: uscc, Name: name, Types: d.Types}, ledgerKey(dk)); err != nil {
		return nil, fmt.Errorf("registry: register %s on the ledger: %w", uscc, err)
	}
	if err := s.store.insertDepartment(ctx, d, dk, sl); err != nil {
		return nil, err
	}
	dk.Active = true
	d.Keys = []DepartmentKey{*dk}
	s.mu.Lock()
	s.deptByID[uscc] = d
	s.signers[uscc] = ds
	s.mu.Unlock()
	s.deptChanged()
	s.log.Info("department registered", "uscc", uscc, "key_id", dk.KeyID)
	return s.recordDepartment(ctx, a, ActionDepartment, "key "+dk.KeyID)(d, nil)
}

// RotateKey gives a department a new signing key and a new seal listing it.
// The old key's signing validity ends now (a ledger event): what it signed
// before stays valid, and the old key and seal stay in the trust bundle to
// verify it; anything it signs later is not valid.
func (s *Service) RotateKey(ctx context.Context, a Actor, uscc string) (*Department, error) {
	if a.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin rotates department keys", ErrForbidden)
	}
	s.mu.Lock()
	d := s.deptByID[uscc]
	s.mu.Unlock()
	if d == nil {
		return nil, fmt.Errorf("department %s: %w", uscc, ErrNotFound)
	}
	return s.recordDepartment(ctx, a, ActionKeyRotate, "")(s.rotate(ctx, d))
}

// rotate makes d a new key and seal, then ends the old key's validity.
func (s *Service) rotate(ctx context.Context, d *Department) (*Department, error) {
	uscc := d.USCC
	now := s.now()
	key, dk, err := s.newDepartmentKey(uscc, d.Name, now)
	if err != nil {
		return nil, err
	}
	sl, err := s.sealFor(uscc, d.Name, dk, now)
	if err != nil {
		return nil, err
	}
	ds, err := newDeptSigner(key, dk, sl)
	if err != nil {
		return nil, err
	}
	if _, err := s.ledger.AddKey(ctx, ledgerKey(dk)); err != nil {
		return nil, fmt.Errorf("registry: add key of %s on the ledger: %w", uscc, err)
	}
	if err := s.store.insertRotatedKey(ctx, dk, sl); err != nil {
		return nil, err
	}
	s.mu.Lock()
	old := s.signers[uscc]
	s.signers[uscc] = ds
	s.mu.Unlock()
	if old != nil {
		if err := s.retire(ctx, uscc, old.keyID, now); err != nil {
			return nil, err
		}
	}
	// Lists signed with the old key would not verify once it is ended (or
	// declared compromised from earlier): sign them with the new one.
	if err := s.store.resignLists(ctx, uscc); err != nil {
		return nil, err
	}
	s.deptChanged()
	s.log.Info("department key rotated", "uscc", uscc, "key_id", dk.KeyID, "seal", sl.ID)
	return s.departmentWithKeys(ctx, d)
}

// retire ends a rotated-out key's signing validity at the rotation time,
// unless it was already declared compromised from an earlier time.
func (s *Service) retire(ctx context.Context, uscc, keyID string, at time.Time) error {
	keys, err := s.store.keys(ctx, uscc)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.KeyID == keyID && k.RevokedFrom != nil {
			return nil
		}
	}
	if _, err := s.ledger.RevokeKey(ctx, ledger.KeyRevocation{Department: uscc, KeyID: keyID, RevokedFrom: at, Reason: license.ReasonKeyRotated}); err != nil {
		return fmt.Errorf("registry: end key %s on the ledger: %w", keyID, err)
	}
	return s.store.setKeyRevoked(ctx, keyID, at, license.ReasonKeyRotated)
}

func newDeptSigner(key *sm2.PrivateKey, dk *DepartmentKey, sl *Seal) (*deptSigner, error) {
	cert, err := smx509.ParseCertificate(dk.CertDER)
	if err != nil {
		return nil, err
	}
	return newSigner(dk.KeyID, signing.NewKeySigner(key), cert, sl.parsed)
}

func ledgerKey(k *DepartmentKey) ledger.Key {
	return ledger.Key{Department: k.Department, KeyID: k.KeyID, CertDER: k.CertDER, ValidFrom: k.ValidFrom, ValidUntil: k.ValidUntil}
}

// departmentKeyYears is how long a department certificate is valid.
const departmentKeyYears = 5

func (s *Service) newDepartmentKey(uscc, name string, now time.Time) (*sm2.PrivateKey, *DepartmentKey, error) {
	key, err := signing.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	from, until := now.Add(-time.Minute).Truncate(time.Second), now.AddDate(departmentKeyYears, 0, 0).Truncate(time.Second)
	cert, err := signing.NewDepartmentCertificate(s.cfg.Platform.Root, s.cfg.Platform.RootCert, &key.PublicKey, uscc, name, from, until)
	if err != nil {
		return nil, nil, fmt.Errorf("registry: certificate for %s: %w", uscc, err)
	}
	keyID := signing.KeyID(cert.Raw)
	pemKey, err := signing.EncryptPrivateKey(key, s.cfg.Passphrase)
	if err != nil {
		return nil, nil, err
	}
	return key, &DepartmentKey{
		KeyID: keyID, Department: uscc, KeyURI: storeKeyURI, KeyPEM: pemKey, CertDER: cert.Raw,
		ValidFrom: cert.NotBefore, ValidUntil: cert.NotAfter,
	}, nil
}

// Departments lists the registered departments with their keys.
func (s *Service) Departments(ctx context.Context) ([]*Department, error) {
	return s.store.departments(ctx)
}
