package credential

// W3C Bitstring Status List v1.0 with one "message" list family per
// department: docs/status-lists.md is the specification, this file the
// implementation. Everything here is pure: no I/O, no clock (times come in
// as arguments).

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gowebpki/jcs"

	"zhengzhao/license"
	"zhengzhao/signing"
)

// Names and sizes fixed by W3C Bitstring Status List v1.0 and by
// docs/status-lists.md.
const (
	// StatusListCredentialType is the second type of a status list
	// credential, after VerifiableCredential.
	StatusListCredentialType = "BitstringStatusListCredential"
	// StatusListType is the type of a status list credential's subject.
	StatusListType = "BitstringStatusList"
	// PurposeMessage is the status purpose of every Zhengzhao status list
	// and list entry: one multi-valued list instead of a revocation and a
	// suspension list.
	PurposeMessage = "message"
	// StatusSize is the number of bits of one entry: 3, eight values.
	StatusSize = 3
	// ListSize is the number of entries in every list.
	ListSize = 131072
	// ListBytes is the size of a list's bitstring: ListSize × StatusSize
	// bits.
	ListBytes = ListSize * StatusSize / 8
	// ListOpenThreshold is how many indexes of a list may be handed out
	// before the next list opens (half of ListSize), so that a new index
	// is always drawn at random from at least half of its list.
	ListOpenThreshold = ListSize / 2
	// MaxCompressedList bounds the GZIP bytes DecodeList accepts. GZIP of
	// an incompressible 48 KiB bitstring is under 49,200 bytes.
	MaxCompressedList = 64 << 10
	// MaxStatusListSize bounds the status list credential
	// ParseStatusListCredential accepts, in bytes.
	MaxStatusListSize = 128 << 10
	// DefaultStatusListValidity is the validity of a status list
	// credential when StatusListConfig.ValidFor is zero.
	DefaultStatusListValidity = 24 * time.Hour
	// MaxStatusListValidity is the longest validity NewStatusListCredential
	// signs: a status list is fresh data, not a certificate.
	MaxStatusListValidity = 7 * 24 * time.Hour
)

// maxEncodedList is the longest encodedList: "u" and the base64url of
// MaxCompressedList bytes.
var maxEncodedList = 1 + base64.RawURLEncoding.EncodedLen(MaxCompressedList)

// listEncoding is base64url without padding, rejecting non-zero trailing
// bits so that one list has one encodedList per GZIP stream.
var listEncoding = base64.RawURLEncoding.Strict()

// ErrStatusListExpired means a status list credential's validUntil is
// before the verification time: its entries say nothing any more, and the
// status of a credential that names it is unknown, never active.
var ErrStatusListExpired = errors.New("credential: status list expired")

// ErrStatusListNotYetValid means a status list credential's validFrom is
// after the verification time.
var ErrStatusListNotYetValid = errors.New("credential: status list not yet valid")

// CodeReserved is the code of the reserved list values 0x6 and 0x7.
const CodeReserved = "reserved"

// ListStatus is the 3-bit value of one status list entry.
type ListStatus uint8

// The list values. Suspended is not final; cancelled, revoked, withdrawn
// and superseded are. 0x6 and 0x7 are reserved: an issuer never writes them
// and a verifier reads them as "status unknown".
const (
	ListActive     ListStatus = 0x0 // 有效
	ListSuspended  ListStatus = 0x1 // 已暂停
	ListCancelled  ListStatus = 0x2 // 已注销
	ListRevoked    ListStatus = 0x3 // 已吊销
	ListWithdrawn  ListStatus = 0x4 // 已撤销
	ListSuperseded ListStatus = 0x5 // 已变更
)

// ListStatusInfo is one row of the list value table.
type ListStatusInfo struct {
	// Value is the entry's 3-bit value.
	Value ListStatus
	// Code is the stable English code: a license.Status, or CodeReserved.
	Code string
	// Label is the Chinese label shown to people, also the statusMessage
	// message of every list entry.
	Label string
}

// listStatuses is the table of docs/status-lists.md §4, indexed by value:
// license.Statuses with their list values, codes and labels, and the
// reserved values.
var listStatuses = func() [1 << StatusSize]ListStatusInfo {
	var t [1 << StatusSize]ListStatusInfo
	for i := range t {
		t[i] = ListStatusInfo{ListStatus(i), CodeReserved, "未定义"}
	}
	for _, s := range license.Statuses() {
		v := s.ListValue()
		t[v] = ListStatusInfo{ListStatus(v), string(s), s.Label()}
	}
	return t
}()

// ListStatuses returns the table of all eight list values, in value order.
func ListStatuses() []ListStatusInfo {
	out := make([]ListStatusInfo, len(listStatuses))
	copy(out, listStatuses[:])
	return out
}

// ListStatusByCode returns the value of a defined status code ("active",
// "revoked", …). Reserved values have no code that maps to them.
func ListStatusByCode(code string) (ListStatus, bool) {
	for _, s := range listStatuses {
		if s.Code == code && s.Code != CodeReserved {
			return s.Value, true
		}
	}
	return 0, false
}

// Code returns the stable English code of s ("reserved" for 0x6 and 0x7,
// "" for a value that does not fit in StatusSize bits).
func (s ListStatus) Code() string {
	if int(s) >= len(listStatuses) {
		return ""
	}
	return listStatuses[s].Code
}

// Label returns the Chinese label of s ("未定义" for reserved values).
func (s ListStatus) Label() string {
	if int(s) >= len(listStatuses) {
		return "未定义"
	}
	return listStatuses[s].Label
}

// Hex returns s as a statusMessage status: "0x" and lower-case hex, no
// leading zeros ("0x3").
func (s ListStatus) Hex() string {
	return "0x" + strconv.FormatUint(uint64(s), 16)
}

// LicenseStatus returns the license status s stands for; false for a
// reserved value.
func (s ListStatus) LicenseStatus() (license.Status, bool) {
	if !s.Defined() {
		return "", false
	}
	return license.StatusFromListValue(uint8(s))
}

// Defined reports whether s is one of the six values an issuer writes.
func (s ListStatus) Defined() bool {
	return s <= ListSuperseded
}

// Final reports whether s is a final status (cancelled, revoked,
// withdrawn, superseded).
func (s ListStatus) Final() bool {
	return s >= ListCancelled && s <= ListSuperseded
}

// StatusList is the bitstring of one list: ListSize entries of StatusSize
// bits. Entry i occupies bits [3i, 3i+3); bit 0 is the most significant
// bit of the first byte, and the first of an entry's three bits is the
// most significant bit of its value. The zero value is a list with every
// entry 0x0 (active), as is an index never handed out.
type StatusList struct {
	bits [ListBytes]byte
}

// NewStatusList returns a list with every entry active.
func NewStatusList() *StatusList { return new(StatusList) }

// checkIndex checks that i is an entry of a list.
func checkIndex(i int) error {
	if i < 0 || i >= ListSize {
		return formatErr("statusListIndex", RuleValue, fmt.Sprintf("index %d is outside 0..%d", i, ListSize-1))
	}
	return nil
}

// Get returns entry i.
func (l *StatusList) Get(i int) (ListStatus, error) {
	if err := checkIndex(i); err != nil {
		return 0, err
	}
	var v ListStatus
	for b := i * StatusSize; b < (i+1)*StatusSize; b++ {
		v = v<<1 | ListStatus(l.bits[b/8]>>(7-b%8)&1)
	}
	return v, nil
}

// Set writes entry i. Only defined values may be written; reserved values
// (0x6, 0x7) and anything wider than StatusSize bits are refused, leaving l
// unchanged.
func (l *StatusList) Set(i int, v ListStatus) error {
	if err := checkIndex(i); err != nil {
		return err
	}
	if !v.Defined() {
		return formatErr("status", RuleValue, fmt.Sprintf("%s is not a defined status value (0x0..0x5)", v.Hex()))
	}
	for k := range StatusSize {
		b := i*StatusSize + k
		mask := byte(0x80) >> (b % 8)
		if v>>(StatusSize-1-k)&1 == 1 {
			l.bits[b/8] |= mask
		} else {
			l.bits[b/8] &^= mask
		}
	}
	return nil
}

// Bytes returns a copy of the bitstring, ListBytes bytes.
func (l *StatusList) Bytes() []byte {
	return bytes.Clone(l.bits[:])
}

// EncodeList returns the encodedList of l: "u" (multibase base64url) and
// the base64url without padding of GZIP(bitstring).
//
// The GZIP level is the default (6), not the best (9): on a half-used list
// with 1 % revoked, level 9 saves about 400 of 1,700 bytes but takes ten
// times as long (about 30 ms against 3 ms), and a list is encoded again on
// every status change (BenchmarkEncodeList).
func EncodeList(l *StatusList) (string, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return "", fmt.Errorf("credential: encode status list: %w", err)
	}
	if _, err := zw.Write(l.bits[:]); err != nil {
		return "", fmt.Errorf("credential: encode status list: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("credential: encode status list: %w", err)
	}
	if buf.Len() > MaxCompressedList { // cannot happen: GZIP adds < 0.1 % to 48 KiB
		return "", fmt.Errorf("credential: encode status list: %d compressed bytes, at most %d", buf.Len(), MaxCompressedList)
	}
	return "u" + listEncoding.EncodeToString(buf.Bytes()), nil
}

// DecodeList decodes an encodedList. It is bounded whatever the input: at
// most MaxCompressedList bytes of GZIP are accepted, and inflation stops one
// byte past ListBytes, so a GZIP bomb fails after inflating 48 KiB. The
// bitstring must inflate to exactly ListBytes bytes (ListSize entries of
// StatusSize bits), the GZIP checksum must hold, and nothing may follow the
// GZIP stream. Every error is a *FormatError for field "encodedList".
func DecodeList(s string) (*StatusList, error) {
	const field = "encodedList"
	switch {
	case s == "":
		return nil, formatErr(field, RuleRequired, "")
	case s[0] != 'u':
		return nil, formatErr(field, RuleValue, `want multibase base64url ("u" prefix)`)
	case len(s) > maxEncodedList:
		return nil, formatErr(field, RuleSize, fmt.Sprintf("%d characters, at most %d (%d bytes of GZIP)", len(s), maxEncodedList, MaxCompressedList))
	case strings.ContainsAny(s, "\r\n"):
		// encoding/base64 would skip them silently.
		return nil, formatErr(field, RuleEncoding, "line breaks in base64url")
	}
	compressed, err := listEncoding.DecodeString(s[1:])
	if err != nil {
		return nil, &FormatError{Field: field, Rule: RuleEncoding, Detail: "not base64url without padding", Err: err}
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, &FormatError{Field: field, Rule: RuleEncoding, Detail: "not GZIP", Err: err}
	}
	l := new(StatusList)
	n, err := io.ReadFull(zr, l.bits[:])
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// A complete stream that is too short, or a cut one.
		return nil, formatErr(field, RuleSize, fmt.Sprintf("the bitstring ends after %d bytes, want %d (%d entries of %d bits)", n, ListBytes, ListSize, StatusSize))
	case err != nil:
		return nil, &FormatError{Field: field, Rule: RuleEncoding, Detail: "bad GZIP", Err: err}
	}
	var one [1]byte
	switch _, err := io.ReadFull(zr, one[:]); {
	case err == nil:
		return nil, formatErr(field, RuleSize, fmt.Sprintf("inflates to more than %d bytes (%d entries of %d bits)", ListBytes, ListSize, StatusSize))
	case !errors.Is(err, io.EOF):
		// A bad checksum, or bytes after the stream that are not GZIP.
		return nil, &FormatError{Field: field, Rule: RuleEncoding, Detail: "bad GZIP", Err: err}
	}
	return l, nil
}

// StatusListURL returns the URL of list n of the department uscc:
// publicURL (without a trailing "/") + "/status/" + uscc + "/message/" + n.
func StatusListURL(publicURL, uscc string, n int) string {
	return strings.TrimRight(publicURL, "/") + "/status/" + uscc + "/" + PurposeMessage + "/" + strconv.Itoa(n)
}

// maxListNumber bounds a list number: 2^31 lists of ListOpenThreshold
// licenses is more than any department issues.
const maxListNumber = 1<<31 - 1

// parseListURL splits a status list URL made by StatusListURL into the
// department's USCC and the list number; field names the member for errors.
func parseListURL(s, field string) (uscc string, n int, err *FormatError) {
	const want = "want {public URL}/status/{USCC}/message/{n}"
	u, perr := url.Parse(s)
	if perr != nil {
		return "", 0, &FormatError{Field: field, Rule: RuleValue, Detail: want, Err: perr}
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", 0, formatErr(field, RuleValue, "want an http or https URL without user, query or fragment; "+want)
	}
	i := strings.LastIndex(s, "/status/")
	if i < 0 {
		return "", 0, formatErr(field, RuleValue, want)
	}
	parts := strings.Split(s[i+len("/status/"):], "/")
	if len(parts) != 3 || parts[1] != PurposeMessage {
		return "", 0, formatErr(field, RuleValue, want)
	}
	if verr := license.ValidateUSCC(parts[0]); verr != nil {
		return "", 0, &FormatError{Field: field, Rule: RuleValue, Detail: "bad USCC", Err: verr}
	}
	num, cerr := strconv.ParseUint(parts[2], 10, 31)
	if cerr != nil || !isDecimal(parts[2]) || num > maxListNumber {
		return "", 0, formatErr(field, RuleValue, "list number must be a decimal integer without leading zeros, at most "+strconv.Itoa(maxListNumber))
	}
	return parts[0], int(num), nil
}

// StatusMessage is one member of a list entry's statusMessage: a value
// ("0x0" … "0x7") and its Chinese label.
type StatusMessage struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// wantMessages is the statusMessage of every entry: the eight values of
// listStatuses as {status, message}, in value order.
var wantMessages = func() [len(listStatuses)]StatusMessage {
	var out [len(listStatuses)]StatusMessage
	for i, s := range listStatuses {
		out[i] = StatusMessage{Status: s.Value.Hex(), Message: s.Label}
	}
	return out
}()

// statusMessages returns a copy of wantMessages.
func statusMessages() []StatusMessage {
	return append([]StatusMessage(nil), wantMessages[:]...)
}

// StatusListEntry is the credentialStatus of a Zhengzhao credential: a W3C
// BitstringStatusListEntry with statusPurpose "message", statusSize 3 and
// the eight statusMessage values.
type StatusListEntry struct {
	// ID is StatusListCredential + "#" + StatusListIndex.
	ID string `json:"id"`
	// Type is StatusEntryType.
	Type string `json:"type"`
	// StatusPurpose is PurposeMessage.
	StatusPurpose string `json:"statusPurpose"`
	// StatusListIndex is the entry's index in its list, a decimal string.
	StatusListIndex string `json:"statusListIndex"`
	// StatusListCredential is the list's URL (StatusListURL).
	StatusListCredential string `json:"statusListCredential"`
	// StatusSize is StatusSize.
	StatusSize int `json:"statusSize"`
	// StatusMessage is the table of ListStatuses as {status, message}.
	StatusMessage []StatusMessage `json:"statusMessage"`

	// messagesChecked is set by a parse that checked statusMessage in
	// place (ParseToVerify) and left StatusMessage nil.
	messagesChecked bool
}

// NewStatusListEntry returns the credentialStatus of the license at index
// of the list at listURL (made by StatusListURL).
func NewStatusListEntry(listURL string, index int) (StatusListEntry, error) {
	if _, _, err := parseListURL(listURL, "statusListCredential"); err != nil {
		return StatusListEntry{}, err
	}
	if err := checkIndex(index); err != nil {
		return StatusListEntry{}, err
	}
	idx := strconv.Itoa(index)
	return StatusListEntry{
		ID:                   listURL + "#" + idx,
		Type:                 StatusEntryType,
		StatusPurpose:        PurposeMessage,
		StatusListIndex:      idx,
		StatusListCredential: listURL,
		StatusSize:           StatusSize,
		StatusMessage:        statusMessages(),
	}, nil
}

// Validate checks e as a verifier must before reading its list: type,
// purpose, a list URL, an index within ListSize, statusSize 3, the id (if
// present) equal to list URL + "#" + index, and statusMessage exactly the
// eight values of ListStatuses in order. Errors are *FormatError with the
// field relative to the entry.
func (e StatusListEntry) Validate() error {
	if err := e.check(true); err != nil {
		return err
	}
	return nil
}

// check is Validate; Lookup leaves out the check of the list URL's form
// (checkURL false) as it compares the URL with a list's parsed id.
func (e StatusListEntry) check(checkURL bool) *FormatError {
	if e.Type != StatusEntryType {
		return formatErr("type", RuleValue, "want "+StatusEntryType)
	}
	if e.StatusPurpose != PurposeMessage {
		return formatErr("statusPurpose", RuleValue, "want "+PurposeMessage)
	}
	if e.StatusSize != StatusSize {
		return formatErr("statusSize", RuleValue, fmt.Sprintf("%d, want %d", e.StatusSize, StatusSize))
	}
	if e.StatusListCredential == "" {
		return formatErr("statusListCredential", RuleRequired, "")
	}
	if checkURL {
		if _, _, err := parseListURL(e.StatusListCredential, "statusListCredential"); err != nil {
			return err
		}
	}
	if _, err := e.index(); err != nil {
		return err
	}
	if e.ID != "" && (len(e.ID) != len(e.StatusListCredential)+1+len(e.StatusListIndex) ||
		!strings.HasPrefix(e.ID, e.StatusListCredential) || e.ID[len(e.StatusListCredential)] != '#' ||
		!strings.HasSuffix(e.ID, e.StatusListIndex)) {
		return formatErr("id", RuleValue, "want statusListCredential#statusListIndex")
	}
	if e.messagesChecked {
		return nil
	}
	if len(e.StatusMessage) != len(wantMessages) {
		return formatErr("statusMessage", RuleValue, fmt.Sprintf("%d values, want %d", len(e.StatusMessage), len(wantMessages)))
	}
	for i, m := range e.StatusMessage {
		if m != wantMessages[i] {
			return formatErr("statusMessage["+strconv.Itoa(i)+"]", RuleValue, fmt.Sprintf("want {%s %s}", wantMessages[i].Status, wantMessages[i].Message))
		}
	}
	return nil
}

// Index returns the entry's statusListIndex as a number within the list.
func (e StatusListEntry) Index() (int, error) {
	i, err := e.index()
	if err != nil {
		return 0, err
	}
	return i, nil
}

func (e StatusListEntry) index() (int, *FormatError) {
	if !isDecimal(e.StatusListIndex) {
		return 0, formatErr("statusListIndex", RuleValue, "want a decimal integer without leading zeros")
	}
	i, err := strconv.Atoi(e.StatusListIndex)
	if err != nil || i >= ListSize {
		return 0, formatErr("statusListIndex", RuleValue, fmt.Sprintf("want 0..%d", ListSize-1))
	}
	return i, nil
}

// StatusListConfig is what NewStatusListCredential signs.
type StatusListConfig struct {
	// PublicURL is the registry's public base URL, http or https, for
	// example "https://zz.example.gov.cn" (a trailing "/" is dropped).
	PublicURL string
	// USCC and IssuerName are the department's.
	USCC       string
	IssuerName string
	// Number is the list number, 0-based.
	Number int
	// List is the bitstring.
	List *StatusList
	// Signer is the department's signing key and KeyID its key id
	// (signing.KeyID); the proof's verificationMethod is
	// VerificationMethod(USCC, KeyID).
	Signer signing.Signer
	KeyID  string
	// ValidFrom is when the list is made (now); it is also proof.created.
	// Written in UTC with whole seconds.
	ValidFrom time.Time
	// ValidFor is validUntil − validFrom: DefaultStatusListValidity if
	// zero, at most MaxStatusListValidity.
	ValidFor time.Duration
}

// Validate checks the configuration. Errors are *FormatError naming the
// configuration field.
func (c StatusListConfig) Validate() error {
	if err := license.ValidateUSCC(c.USCC); err != nil {
		return &FormatError{Field: "USCC", Rule: RuleValue, Err: err}
	}
	if strings.TrimSpace(c.IssuerName) == "" {
		return formatErr("IssuerName", RuleRequired, "")
	}
	if c.Number < 0 || c.Number > maxListNumber {
		return formatErr("Number", RuleValue, "want 0.."+strconv.Itoa(maxListNumber))
	}
	if _, _, err := parseListURL(StatusListURL(c.PublicURL, c.USCC, c.Number), "PublicURL"); err != nil {
		return err
	}
	if c.List == nil {
		return formatErr("List", RuleRequired, "")
	}
	if c.Signer == nil {
		return formatErr("Signer", RuleRequired, "")
	}
	if _, _, err := ParseVerificationMethod(VerificationMethod(c.USCC, c.KeyID)); err != nil {
		return formatErr("KeyID", RuleValue, "want 16 lower-case hex digits")
	}
	if c.ValidFrom.IsZero() {
		return formatErr("ValidFrom", RuleRequired, "")
	}
	if c.ValidFor < 0 || c.ValidFor > MaxStatusListValidity || (c.ValidFor != 0 && c.ValidFor < time.Second) {
		return formatErr("ValidFor", RuleValue, fmt.Sprintf("want 1s..%s, or 0 for %s", MaxStatusListValidity, DefaultStatusListValidity))
	}
	return nil
}

// statusListDoc is the JSON of a status list credential.
type statusListDoc struct {
	Context           []string          `json:"@context"`
	ID                string            `json:"id"`
	Type              []string          `json:"type"`
	Issuer            Issuer            `json:"issuer"`
	ValidFrom         string            `json:"validFrom"`
	ValidUntil        string            `json:"validUntil"`
	CredentialSubject statusListSubject `json:"credentialSubject"`
	Proof             *Proof            `json:"proof"`
}

type statusListSubject struct {
	ID            string `json:"id"`
	Type          string `json:"type"`
	StatusPurpose string `json:"statusPurpose"`
	EncodedList   string `json:"encodedList"`
}

// canonical returns the JCS bytes of d.
func (d *statusListDoc) canonical() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("credential: status list: %w", err)
	}
	out, err := jcs.Transform(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("credential: status list: %w", err)
	}
	return out, nil
}

// NewStatusListCredential returns the canonical (JCS) bytes of the signed
// BitstringStatusListCredential of cfg.List: id StatusListURL(…), the
// department as issuer, validFrom cfg.ValidFrom and validUntil ValidFor
// later, a credentialSubject {id: url#list, type BitstringStatusList,
// statusPurpose message, encodedList}, and the sm2-jcs-2026 proof made with
// cfg.Signer exactly as Credential.Sign makes it. The result is parsed back
// before it is returned, so it passes ParseStatusListCredential.
func NewStatusListCredential(cfg StatusListConfig) ([]byte, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	validFor := cfg.ValidFor
	if validFor == 0 {
		validFor = DefaultStatusListValidity
	}
	encoded, err := EncodeList(cfg.List)
	if err != nil {
		return nil, err
	}
	from := cfg.ValidFrom.UTC().Truncate(time.Second)
	id := StatusListURL(cfg.PublicURL, cfg.USCC, cfg.Number)
	d := &statusListDoc{
		Context:    []string{ContextV2},
		ID:         id,
		Type:       []string{TypeCredential, StatusListCredentialType},
		Issuer:     Issuer{ID: IssuerPrefix + cfg.USCC, Name: cfg.IssuerName},
		ValidFrom:  from.Format(timeLayout),
		ValidUntil: from.Add(validFor).Format(timeLayout),
		CredentialSubject: statusListSubject{
			ID:            id + "#list",
			Type:          StatusListType,
			StatusPurpose: PurposeMessage,
			EncodedList:   encoded,
		},
		Proof: &Proof{
			Type:               ProofType,
			Cryptosuite:        Cryptosuite,
			VerificationMethod: VerificationMethod(cfg.USCC, cfg.KeyID),
			Created:            from.Format(timeLayout),
			ProofPurpose:       ProofPurpose,
		},
	}
	// Hash exactly what a verifier will hash: the canonical bytes, parsed.
	unsigned, err := d.canonical()
	if err != nil {
		return nil, err
	}
	parsed, err := ParseStatusListCredential(unsigned)
	if err != nil {
		return nil, err
	}
	hashData := parsed.doc.hashData()
	sig, err := cfg.Signer.Sign(hashData[:])
	if err != nil {
		return nil, fmt.Errorf("credential: sign status list: %w", err)
	}
	if len(sig) != signatureSize {
		return nil, fmt.Errorf("credential: sign status list: signer returned %d bytes, want %d", len(sig), signatureSize)
	}
	d.Proof.ProofValue = encodeProofValue(sig)
	signed, err := d.canonical()
	if err != nil {
		return nil, err
	}
	if _, err := ParseStatusListCredential(signed); err != nil {
		return nil, err
	}
	return signed, nil
}

// StatusListCredential is a parsed BitstringStatusListCredential. Parse
// checks its shape; VerifyProof and CheckValidity its signature and
// freshness; VerifyStatusListCredential does all three.
type StatusListCredential struct {
	// ID is the list URL.
	ID string
	// USCC and IssuerName are the issuing department's; Number is the
	// list number from the URL.
	USCC       string
	IssuerName string
	Number     int
	// ValidFrom and ValidUntil bound the list's validity.
	ValidFrom, ValidUntil time.Time
	// VerificationMethod names the signing key ("urn:uscc:<USCC>#<keyID>",
	// the USCC checked to be the issuer's), KeyID is its key id and
	// Created is proof.created (zero if absent).
	VerificationMethod string
	KeyID              string
	Created            time.Time
	// List is the decoded bitstring.
	List *StatusList

	doc *document
}

// ParseStatusListCredential reads a status list credential from outside
// input and checks its shape, not its proof nor its validity period:
//
//   - at most MaxStatusListSize bytes of strict JSON, as Parse requires of
//     a credential (syntax, UTF-8, no duplicate members, depth);
//   - @context starting with ContextV2; type holding VerifiableCredential
//     and BitstringStatusListCredential;
//   - id a list URL {public URL}/status/{USCC}/message/{n};
//   - issuer.id "urn:uscc:" + that USCC; issuer.name a string if present;
//   - validFrom and validUntil RFC 3339, validUntil after validFrom;
//   - credentialSubject {id: id + "#list", type BitstringStatusList,
//     statusPurpose message, encodedList} with encodedList as DecodeList
//     requires (exactly ListSize entries of StatusSize bits);
//   - a proof object whose verificationMethod names a key of the issuer.
//
// Every error is a *FormatError wrapping ErrFormat and naming the field.
func ParseStatusListCredential(data []byte) (*StatusListCredential, error) {
	if len(data) > MaxStatusListSize {
		return nil, formatErr("", RuleSize, fmt.Sprintf("%d bytes, at most %d", len(data), MaxStatusListSize))
	}
	t, ferr := parseDocument(data)
	if ferr != nil {
		return nil, ferr
	}
	l := &StatusListCredential{doc: &document{tree: t, cred: t.root}}
	if ferr := l.fill(&l.doc.tree, &l.doc.cred); ferr != nil {
		return nil, ferr
	}
	return l, nil
}

// fill checks the members of a status list credential and copies them into
// l and l.doc.
func (l *StatusListCredential) fill(t *tree, root *node) *FormatError {
	var err *FormatError

	ctx := t.member(root, "@context")
	if ctx == nil {
		return formatErr("@context", RuleRequired, "")
	}
	if _, err = stringList(t, ctx, "@context", false); err != nil {
		return err
	}
	if items := t.items(ctx); len(items) == 0 || t.str(&items[0]) != ContextV2 {
		return formatErr("@context[0]", RuleValue, "want "+ContextV2)
	}

	if l.ID, err = requiredString(t, root, "id", ""); err != nil {
		return err
	}
	if l.USCC, l.Number, err = parseListURL(l.ID, "id"); err != nil {
		return err
	}

	if _, err = typeMember(t, root, StatusListCredentialType, false); err != nil {
		return err
	}

	iss, err := issuerMember(t, root)
	if err != nil {
		return err
	}
	issuerID, err := requiredString(t, iss, "id", "issuer")
	if err != nil {
		return err
	}
	if issuerID != IssuerPrefix+l.USCC {
		return formatErr("issuer.id", RuleValue, "want "+IssuerPrefix+l.USCC+", the USCC of the list URL")
	}
	if l.IssuerName, err = optionalString(t, iss, "name", "issuer"); err != nil {
		return err
	}

	if l.ValidFrom, err = requiredTime(t, root, "validFrom", ""); err != nil {
		return err
	}
	if l.ValidUntil, err = requiredTime(t, root, "validUntil", ""); err != nil {
		return err
	}
	if !l.ValidUntil.After(l.ValidFrom) {
		return formatErr("validUntil", RuleValue, "not after validFrom")
	}

	subj := t.member(root, "credentialSubject")
	if subj == nil {
		return formatErr("credentialSubject", RuleRequired, "")
	}
	if subj.kind != kindObject {
		return formatErr("credentialSubject", RuleType, "want an object, got "+subj.kind.String())
	}
	const cs = "credentialSubject"
	for _, m := range [...]struct{ name, want string }{
		{"id", l.ID + "#list"},
		{"type", StatusListType},
		{"statusPurpose", PurposeMessage},
	} {
		got, err := requiredString(t, subj, m.name, cs)
		if err != nil {
			return err
		}
		if got != m.want {
			return formatErr(cs+"."+m.name, RuleValue, "want "+m.want)
		}
	}
	encoded, err := requiredString(t, subj, "encodedList", cs)
	if err != nil {
		return err
	}
	list, derr := DecodeList(encoded)
	if derr != nil {
		var fe *FormatError
		if errors.As(derr, &fe) {
			fe.Field = joinPath(cs, fe.Field)
			return fe
		}
		return &FormatError{Field: cs + ".encodedList", Rule: RuleEncoding, Err: derr}
	}
	l.List = list

	pv := t.member(root, "proof")
	if pv == nil {
		return formatErr("proof", RuleRequired, "")
	}
	d := l.doc
	if err = proofObject(t, pv, &d.asParsed); err != nil {
		return err
	}
	d.proof = *pv
	if v := t.member(pv, "proofValue"); v != nil {
		d.proofValue, d.hasProofValue = *v, true
	}
	l.VerificationMethod = d.asParsed.VerificationMethod
	if l.VerificationMethod == "" {
		return formatErr("proof.verificationMethod", RuleRequired, "")
	}
	uscc, keyID, verr := ParseVerificationMethod(l.VerificationMethod)
	if verr != nil {
		var fe *FormatError
		if errors.As(verr, &fe) {
			return fe
		}
		return &FormatError{Field: "proof.verificationMethod", Rule: RuleValue, Err: verr}
	}
	if uscc != l.USCC {
		return formatErr("proof.verificationMethod", RuleValue, "names a key of "+uscc+", not of the issuer "+l.USCC)
	}
	l.KeyID = keyID
	if d.asParsed.Created != "" {
		l.Created, _ = time.Parse(time.RFC3339, d.asParsed.Created) // checked by proofObject
	}
	return nil
}

// requiredTime reads a required RFC 3339 date-time member.
func requiredTime(t *tree, obj *node, name, parent string) (time.Time, *FormatError) {
	s, err := requiredString(t, obj, name, parent)
	if err != nil {
		return time.Time{}, err
	}
	at, perr := time.Parse(time.RFC3339, s)
	if perr != nil {
		return time.Time{}, &FormatError{Field: joinPath(parent, name), Rule: RuleDate, Detail: "want an RFC 3339 date-time", Err: perr}
	}
	return at, nil
}

// VerifyProof checks the sm2-jcs-2026 proof of the list as parsed, exactly
// as Credential.VerifyProof checks a credential's. Which key
// VerificationMethod names, and whether it could sign at Created, is for the
// caller to decide. Every failure is a *ProofError wrapping ErrProof.
func (l *StatusListCredential) VerifyProof(pub *ecdsa.PublicKey) error {
	if pub == nil {
		return fmt.Errorf("credential: verify status list proof: no public key")
	}
	return l.doc.verifyProof(pub)
}

// StatusListValidityError says that a status list credential is not valid
// at the verification time. It wraps ErrStatusListExpired or
// ErrStatusListNotYetValid.
type StatusListValidityError struct {
	// ID is the list URL.
	ID string
	// ValidFrom and ValidUntil are the list's; At is the verification time.
	ValidFrom, ValidUntil, At time.Time
}

func (e *StatusListValidityError) Error() string {
	if e.At.After(e.ValidUntil) {
		return fmt.Sprintf("credential: status list %s expired at %s (%s before %s)",
			e.ID, e.ValidUntil.UTC().Format(timeLayout), e.At.Sub(e.ValidUntil).Round(time.Second), e.At.UTC().Format(timeLayout))
	}
	return fmt.Sprintf("credential: status list %s is valid only from %s, not at %s",
		e.ID, e.ValidFrom.UTC().Format(timeLayout), e.At.UTC().Format(timeLayout))
}

// Unwrap returns ErrStatusListExpired or ErrStatusListNotYetValid.
func (e *StatusListValidityError) Unwrap() error {
	if e.At.After(e.ValidUntil) {
		return ErrStatusListExpired
	}
	return ErrStatusListNotYetValid
}

// CheckValidity checks validFrom ≤ at ≤ validUntil; otherwise it returns a
// *StatusListValidityError wrapping ErrStatusListExpired or
// ErrStatusListNotYetValid.
func (l *StatusListCredential) CheckValidity(at time.Time) error {
	if at.Before(l.ValidFrom) || at.After(l.ValidUntil) {
		return &StatusListValidityError{ID: l.ID, ValidFrom: l.ValidFrom, ValidUntil: l.ValidUntil, At: at}
	}
	return nil
}

// VerifyStatusListCredential parses a status list credential, checks its
// proof against pub (the key its VerificationMethod names, resolved by the
// caller) and its validity at at, in that order, and returns it. A caller
// that must first learn which key signed calls ParseStatusListCredential,
// then VerifyProof and CheckValidity itself.
//
// Any error means the list must not be used: the status of every
// credential naming it is unknown, never active.
func VerifyStatusListCredential(data []byte, pub *ecdsa.PublicKey, at time.Time) (*StatusListCredential, error) {
	l, err := ParseStatusListCredential(data)
	if err != nil {
		return nil, err
	}
	if err := l.VerifyProof(pub); err != nil {
		return nil, err
	}
	if err := l.CheckValidity(at); err != nil {
		return nil, err
	}
	return l, nil
}

// Lookup returns the value of a credential's status entry in this list,
// after checking the entry (StatusListEntry.Validate) and that it names this
// list. A reserved value (0x6, 0x7) is returned as it is: the caller treats
// it as unknown (ListStatus.Defined). Call it only on a list that passed
// VerifyProof and CheckValidity.
func (l *StatusListCredential) Lookup(e StatusListEntry) (ListStatus, error) {
	if err := e.check(false); err != nil {
		return 0, err
	}
	if e.StatusListCredential != l.ID {
		return 0, formatErr("statusListCredential", RuleValue, "names another list than "+l.ID)
	}
	i, err := e.index()
	if err != nil {
		return 0, err
	}
	return l.List.Get(i)
}

// decodeStatusListEntry reads one credentialStatus object of a parsed
// credential into a StatusListEntry: the members StatusListEntry models
// must have its JSON types (statusSize an integer, statusMessage an array
// of {status, message} string pairs); others are ignored here and covered
// by the proof. field is the entry's path, for errors. It checks types
// only; StatusListEntry.Validate or StatusListCredential.Lookup check
// values. Unless keepMessages is set, statusMessage is not copied but
// checked in place against the fixed table (for ParseToVerify).
func decodeStatusListEntry(t *tree, v *node, field string, keepMessages bool) (StatusListEntry, *FormatError) {
	var e StatusListEntry
	if v.kind != kindObject {
		return e, formatErr(field, RuleType, "want an object, got "+v.kind.String())
	}
	members := t.items(v)
	for i := range members {
		m := &members[i]
		name := t.name(m)
		var dst *string
		switch name {
		case "id":
			dst = &e.ID
		case "type":
			dst = &e.Type
		case "statusPurpose":
			dst = &e.StatusPurpose
		case "statusListIndex":
			dst = &e.StatusListIndex
		case "statusListCredential":
			dst = &e.StatusListCredential
		case "statusSize":
			if m.kind != kindNumber {
				return e, formatErr(joinPath(field, name), RuleType, "want a number, got "+m.kind.String())
			}
			n, err := strconv.Atoi(t.str(m)) // the JCS text: "3", never "3.0"
			if err != nil {
				return e, formatErr(joinPath(field, name), RuleValue, "want an integer")
			}
			e.StatusSize = n
			continue
		case "statusMessage":
			if !keepMessages {
				if err := checkStatusMessages(t, m, name); err != nil {
					err.Field = joinPath(field, err.Field)
					return e, err
				}
				e.messagesChecked = true
				continue
			}
			msgs, err := decodeStatusMessages(t, m, joinPath(field, name))
			if err != nil {
				return e, err
			}
			e.StatusMessage = msgs
			continue
		default:
			continue
		}
		if m.kind != kindString {
			return e, formatErr(joinPath(field, name), RuleType, "want a string, got "+m.kind.String())
		}
		*dst = t.str(m)
	}
	return e, nil
}

// decodeStatusMessages reads a statusMessage array.
func decodeStatusMessages(t *tree, v *node, field string) ([]StatusMessage, *FormatError) {
	if v.kind != kindArray {
		return nil, formatErr(field, RuleType, "want an array, got "+v.kind.String())
	}
	items := t.items(v)
	out := make([]StatusMessage, len(items))
	for i := range items {
		at := field + "[" + strconv.Itoa(i) + "]"
		if items[i].kind != kindObject {
			return nil, formatErr(at, RuleType, "want an object, got "+items[i].kind.String())
		}
		var err *FormatError
		if out[i].Status, err = requiredString(t, &items[i], "status", at); err != nil {
			return nil, err
		}
		if out[i].Message, err = requiredString(t, &items[i], "message", at); err != nil {
			return nil, err
		}
	}
	return out, nil
}
