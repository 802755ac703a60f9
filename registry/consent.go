package registry

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"zhengzhao/license"
)

// ServiceItem is a government service item (政务服务事项) a window handles.
// A clerk names one for every use of a license; looking a license up by duty
// (依职能用证) is limited to the license types the item needs.
type ServiceItem struct {
	Code  string   `json:"code"`  // 事项编码
	Name  string   `json:"name"`  // 事项名称
	Types []string `json:"types"` // license names (证照名称) the item may use
}

// serviceItems is the built-in list of service items. Codes follow the
// shape of the national 事项编码 (basic code + business item).
var serviceItems = []ServiceItem{
	{Code: "310100-SC-0001", Name: "食品经营许可核发", Types: []string{"营业执照", "食品经营许可证"}},
	{Code: "310100-SC-0002", Name: "药品零售企业开办", Types: []string{"营业执照", "药品经营许可证"}},
	{Code: "310100-GT-0001", Name: "不动产抵押登记", Types: []string{"不动产权证书", "营业执照"}},
	{Code: "310100-GT-0002", Name: "建设工程竣工规划核实", Types: []string{"建设工程规划许可证", "营业执照"}},
	{Code: "310100-WJ-0001", Name: "新生儿户口登记", Types: []string{"出生医学证明"}},
	{Code: "310100-WJ-0002", Name: "新生儿医保参保登记", Types: []string{"出生医学证明"}},
	{Code: "310100-JT-0001", Name: "道路运输车辆营运证核发", Types: []string{"道路运输经营许可证", "营业执照"}},
	{Code: "310100-SF-0001", Name: "律师事务所执业登记", Types: []string{"律师执业证"}},
}

// ServiceItems lists the service items a window may name.
func (s *Service) ServiceItems() []ServiceItem { return slices.Clone(serviceItems) }

// ServiceItem returns the service item with the given code.
func (s *Service) ServiceItem(code string) (ServiceItem, bool) {
	for _, it := range serviceItems {
		if it.Code == code {
			return it, true
		}
	}
	return ServiceItem{}, false
}

// Use code rules.
const (
	// MinUseCodeMinutes and MaxUseCodeMinutes bound a use code's lifetime.
	MinUseCodeMinutes = 5
	MaxUseCodeMinutes = 60
	// UseCodeLen is the number of characters of a use code (shown as two
	// groups of four).
	UseCodeLen = 8
	// useCodeAlphabet has no 0/O, 1/I/L or other look-alikes, so a code can
	// be read aloud and typed without mistakes: 8 characters of 30 are
	// about 39 bits.
	useCodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXY"
	// MaxRedeemFailures unknown codes within RedeemWindow block a clerk's
	// further attempts, so codes cannot be guessed.
	MaxRedeemFailures = 10
	// RedeemWindow is the throttling window for redeeming use codes.
	RedeemWindow = 10 * time.Minute
)

// ErrUseCode: a use code cannot be redeemed. The *UseCodeError says why.
var ErrUseCode = errors.New("registry: use code not usable")

// Reasons a use code is refused.
const (
	UseCodeUnknown   = "unknown"
	UseCodeExpired   = "expired"
	UseCodeUsed      = "used"
	UseCodeRevoked   = "revoked"
	UseCodeWrongItem = "wrong_item"
)

// UseCodeError says why a use code was refused. It unwraps to ErrUseCode;
// a code already used (by an earlier or a concurrent redemption) or for
// another service item also matches ErrConflict, so the HTTP edge answers
// 409 and never 500 to the losers of a race.
type UseCodeError struct {
	Reason  string // one of the UseCode… reasons
	Message string // for the clerk, in Chinese
}

// Error returns the message for the clerk.
func (e *UseCodeError) Error() string { return e.Message }

// Unwrap returns ErrUseCode, and ErrConflict for a used code or the wrong
// service item.
func (e *UseCodeError) Unwrap() []error {
	if e.Reason == UseCodeUsed || e.Reason == UseCodeWrongItem {
		return []error{ErrUseCode, ErrConflict}
	}
	return []error{ErrUseCode}
}

// UseCodeRequest is what a holder fills in to grant a use code.
type UseCodeRequest struct {
	Identifier  string   `json:"identifier"`       // one of the holder's own active licenses
	Fields      []string `json:"fields,omitempty"` // type field keys to disclose; empty = all
	Purpose     string   `json:"purpose"`          // what the holder grants it for, 2 to 200 characters
	ServiceItem string   `json:"service_item"`     // the only service item it may be redeemed for
	Minutes     int      `json:"minutes"`          // lifetime, MinUseCodeMinutes to MaxUseCodeMinutes
}

// UseCode is a grant as stored: never the code itself.
type UseCode struct {
	ID          string     `json:"id"`                   // public id, for listing and withdrawing
	Identifier  string     `json:"identifier"`           // the license
	Fields      []string   `json:"fields"`               // disclosed type fields; empty = all
	Purpose     string     `json:"purpose"`              // as the holder gave it
	ServiceItem string     `json:"service_item"`         // the service item it is for
	CreatedAt   time.Time  `json:"created_at"`           // granted at
	ExpiresAt   time.Time  `json:"expires_at"`           // unusable from then on
	UsedAt      *time.Time `json:"used_at,omitempty"`    // redeemed at, once
	UsedBy      string     `json:"used_by,omitempty"`    // the clerk who redeemed it
	RevokedAt   *time.Time `json:"revoked_at,omitempty"` // withdrawn by the holder at
}

// State is "active", "used", "revoked" or "expired" at now.
func (u *UseCode) State(now time.Time) string {
	switch {
	case u.UsedAt != nil:
		return UseCodeUsed
	case u.RevokedAt != nil:
		return UseCodeRevoked
	case !now.Before(u.ExpiresAt):
		return UseCodeExpired
	}
	return "active"
}

// GrantUseCode makes a single-use code for one of the holder's own active
// licenses. The code is returned once; only its hash is stored.
func (s *Service) GrantUseCode(ctx context.Context, a Actor, req UseCodeRequest) (string, *UseCode, error) {
	if a.Role != RoleHolder || a.HolderCode == "" {
		return "", nil, fmt.Errorf("%w: only a holder grants use codes", ErrForbidden)
	}
	lic, err := s.holderLicense(ctx, a, req.Identifier)
	if err != nil {
		return "", nil, err
	}
	var errs []error
	add := func(field, rule, msg string) {
		errs = append(errs, &license.FieldError{Field: field, Rule: rule, Message: msg})
	}
	if lic.Status != license.StatusActive {
		add("identifier", "status", "a use code can only be granted for an active license (this one is "+string(lic.Status)+")")
	}
	if err := validPurpose(req.Purpose); err != nil {
		errs = append(errs, err)
	}
	if _, ok := s.ServiceItem(req.ServiceItem); !ok {
		add("service_item", "unknown", fmt.Sprintf("unknown service item %q", req.ServiceItem))
	}
	if req.Minutes < MinUseCodeMinutes || req.Minutes > MaxUseCodeMinutes {
		add("minutes", "range", fmt.Sprintf("lifetime must be %d to %d minutes", MinUseCodeMinutes, MaxUseCodeMinutes))
	}
	typ, _ := s.catalog.Type(lic.TypeCode)
	for _, f := range req.Fields {
		if !slices.ContainsFunc(typ.Fields, func(tf license.Field) bool { return tf.Key == f }) {
			add("fields", "unknown", fmt.Sprintf("license type %s has no field %q", typ.Name, f))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", nil, err
	}
	code, err := newUseCode()
	if err != nil {
		return "", nil, err
	}
	id, err := randomToken("uc_")
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	fields := slices.Compact(slices.Sorted(slices.Values(req.Fields)))
	if fields == nil {
		fields = []string{}
	}
	u := &UseCode{
		ID: id[:15], Identifier: lic.Identifier, Fields: fields, Purpose: strings.TrimSpace(req.Purpose),
		ServiceItem: req.ServiceItem, CreatedAt: now, ExpiresAt: now.Add(time.Duration(req.Minutes) * time.Minute),
	}
	if err := s.store.insertUseCode(ctx, tokenHash(code), a.HolderCode, u); err != nil {
		return "", nil, err
	}
	s.log.Info("use code granted", "use_code", u.ID, "license", lic.Identifier, "minutes", req.Minutes)
	return code, u, nil
}

func validPurpose(p string) error {
	if n := utf8.RuneCountInString(strings.TrimSpace(p)); n < 2 || n > 200 {
		return &license.FieldError{Field: "purpose", Rule: "required", Message: "purpose (用证事由) is required: 2 to 200 characters"}
	}
	if fe := license.CheckText("purpose", p, false); fe != nil {
		return fe
	}
	return nil
}

func newUseCode() (string, error) {
	b := make([]byte, UseCodeLen)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(useCodeAlphabet))))
		if err != nil {
			return "", err
		}
		b[i] = useCodeAlphabet[n.Int64()]
	}
	return string(b[:4]) + "-" + string(b[4:]), nil
}

// NormalizeUseCode turns what a clerk typed (any case, spaces, dashes) into
// the canonical XXXX-XXXX form; ok is false when it cannot be a use code.
func NormalizeUseCode(s string) (string, bool) {
	var b []byte
	for _, c := range strings.ToUpper(s) {
		switch {
		case c == ' ' || c == '-':
		case c < 128 && strings.IndexByte(useCodeAlphabet, byte(c)) >= 0:
			b = append(b, byte(c))
		default:
			return "", false
		}
	}
	if len(b) != UseCodeLen {
		return "", false
	}
	return string(b[:4]) + "-" + string(b[4:]), true
}

// UseCodes lists the holder's use codes, newest first.
func (s *Service) UseCodes(ctx context.Context, a Actor) ([]*UseCode, error) {
	if a.Role != RoleHolder || a.HolderCode == "" {
		return nil, fmt.Errorf("%w: only a holder lists their use codes", ErrForbidden)
	}
	return s.store.useCodes(ctx, a.HolderCode)
}

// RevokeUseCode withdraws one of the holder's unused codes.
func (s *Service) RevokeUseCode(ctx context.Context, a Actor, id string) error {
	if a.Role != RoleHolder || a.HolderCode == "" {
		return fmt.Errorf("%w: only a holder withdraws their use codes", ErrForbidden)
	}
	n, err := s.store.revokeUseCode(ctx, a.HolderCode, id, s.now())
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("use code %s (or it is already used or withdrawn): %w", id, ErrNotFound)
	}
	return nil
}

// Redemption is what a clerk gets for a use code: the license and the
// fields the holder chose to disclose.
type Redemption struct {
	UseCode *UseCode
	License *License
	// Fields are the disclosed type-specific fields (all when the grant
	// named none).
	Fields map[string]string
}

// RedeemUseCode spends a use code. The clerk must give the purpose (用证事由)
// and the service item; the code must be for that service item, unused,
// not withdrawn and not expired. The use is recorded for the holder.
func (s *Service) RedeemUseCode(ctx context.Context, a Actor, code, purpose, serviceItem string) (_ *Redemption, err error) {
	if a.Role != RoleVerifier {
		return nil, fmt.Errorf("%w: only window staff redeem use codes", ErrForbidden)
	}
	var errs []error
	if err := validPurpose(purpose); err != nil {
		errs = append(errs, err)
	}
	if _, ok := s.ServiceItem(serviceItem); !ok {
		errs = append(errs, &license.FieldError{Field: "service_item", Rule: "required", Message: "choose the service item (办理事项) first"})
	}
	norm, ok := NormalizeUseCode(code)
	if !ok {
		errs = append(errs, &license.FieldError{Field: "code", Rule: "pattern", Message: "a use code is 8 characters such as 7K3M-Q9TX"})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	defer func() { s.recordRedeemRefused(ctx, a, code, purpose, serviceItem, err) }()
	now := s.now()
	key := "redeem:" + a.Name
	if err := s.throttled(ctx, key, MaxRedeemFailures, RedeemWindow, now); err != nil {
		return nil, err
	}
	hash := tokenHash(norm)
	u, holder, err := s.store.useCodeByHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		if err := s.store.addFailure(ctx, key, now); err != nil {
			return nil, err
		}
		return nil, &UseCodeError{Reason: UseCodeUnknown, Message: "用证码不存在，请核对后重新输入"}
	}
	if err != nil {
		return nil, err
	}
	switch u.State(now) {
	case UseCodeUsed:
		return nil, &UseCodeError{Reason: UseCodeUsed, Message: "用证码已于 " + u.UsedAt.In(license.ChinaTime).Format("2006-01-02 15:04") + " 使用过，每个用证码只能使用一次；请持证人重新授权"}
	case UseCodeRevoked:
		return nil, &UseCodeError{Reason: UseCodeRevoked, Message: "用证码已被持证人撤回，请持证人重新授权"}
	case UseCodeExpired:
		return nil, &UseCodeError{Reason: UseCodeExpired, Message: "用证码已于 " + u.ExpiresAt.In(license.ChinaTime).Format("2006-01-02 15:04") + " 过期，请持证人重新授权"}
	}
	if u.ServiceItem != serviceItem {
		it, _ := s.ServiceItem(u.ServiceItem)
		return nil, &UseCodeError{Reason: UseCodeWrongItem, Message: "该用证码仅授权用于事项「" + it.Name + "」，与所选办理事项不符"}
	}
	if ok, err := s.store.spendUseCode(ctx, hash, a.Name, now); err != nil {
		return nil, err
	} else if !ok {
		return nil, &UseCodeError{Reason: UseCodeUsed, Message: "用证码刚刚已被使用，每个用证码只能使用一次"}
	}
	usedAt := now
	u.UsedAt, u.UsedBy = &usedAt, a.Name
	lic, err := s.store.license(ctx, u.Identifier)
	if err != nil {
		return nil, err
	}
	if lic.Record.HolderCode != holder {
		return nil, fmt.Errorf("registry: use code %s names a license of another holder", u.ID)
	}
	if err := s.RecordUse(ctx, a, lic, UseByCode, purpose, serviceItem, string(lic.Status)); err != nil {
		return nil, err
	}
	fields := map[string]string{}
	for k, v := range lic.Record.Fields {
		if len(u.Fields) == 0 || slices.Contains(u.Fields, k) {
			fields[k] = v
		}
	}
	s.log.Info("use code redeemed", "use_code", u.ID, "license", lic.Identifier)
	return &Redemption{UseCode: u, License: lic, Fields: fields}, nil
}

// LookupByDuty (依职能用证) lets window staff find a holder's licenses without
// a use code, for a service item whose rules require it: only the license
// types the item needs are returned, the purpose is mandatory, and every
// license returned is recorded as used.
func (s *Service) LookupByDuty(ctx context.Context, a Actor, holderCode, serviceItem, purpose string) ([]*License, error) {
	if a.Role != RoleVerifier {
		return nil, fmt.Errorf("%w: only window staff look licenses up by duty", ErrForbidden)
	}
	var errs []error
	if err := validPurpose(purpose); err != nil {
		errs = append(errs, err)
	}
	item, ok := s.ServiceItem(serviceItem)
	if !ok {
		errs = append(errs, &license.FieldError{Field: "service_item", Rule: "required", Message: "a service item code (事项编码) is required"})
	}
	holderCode = strings.ToUpper(strings.TrimSpace(holderCode))
	if license.ValidateCitizenID(holderCode) != nil && license.ValidateUSCC(holderCode) != nil {
		errs = append(errs, &license.FieldError{Field: "holder_code", Rule: "check", Message: "holder code must be a valid citizen ID number or USCC"})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	all, err := s.store.list(ctx, ListFilter{HolderCode: holderCode, Limit: 1000})
	if err != nil {
		return nil, err
	}
	var out []*License
	for _, l := range all {
		if slices.Contains(item.Types, l.Record.Name) {
			if err := s.RecordUse(ctx, a, l, UseByDuty, purpose, serviceItem, string(l.Status)); err != nil {
				return nil, err
			}
			out = append(out, l)
		}
	}
	s.log.Info("lookup by duty", "service_item", serviceItem, "found", len(out))
	return out, nil
}

// holderLicense returns a license if it is the holder's own. Another
// holder's license is reported as not found, so holders cannot probe for
// identifiers.
func (s *Service) holderLicense(ctx context.Context, a Actor, id string) (*License, error) {
	lic, err := s.store.license(ctx, id)
	if err != nil {
		return nil, err
	}
	if lic.Record.HolderCode != a.HolderCode {
		return nil, fmt.Errorf("license %s: %w", id, ErrNotFound)
	}
	return lic, nil
}

// HolderLicense returns one of the holder's own licenses; another holder's
// is ErrNotFound.
func (s *Service) HolderLicense(ctx context.Context, a Actor, id string) (*License, error) {
	if a.Role != RoleHolder || a.HolderCode == "" {
		return nil, fmt.Errorf("%w: not a holder", ErrForbidden)
	}
	return s.holderLicense(ctx, a, id)
}

// HolderLicenses lists the holder's own licenses (the newest 1000; the
// wallet download reads them all with HolderLicensesPage).
func (s *Service) HolderLicenses(ctx context.Context, a Actor) ([]*License, error) {
	return s.HolderLicensesPage(ctx, a, 0, 1000)
}

// HolderLicensesPage lists at most limit (1 to 1000) of the holder's own
// licenses, newest first, skipping the first offset.
func (s *Service) HolderLicensesPage(ctx context.Context, a Actor, offset, limit int) ([]*License, error) {
	if a.Role != RoleHolder || a.HolderCode == "" {
		return nil, fmt.Errorf("%w: not a holder", ErrForbidden)
	}
	if limit < 1 || limit > 1000 || offset < 0 {
		return nil, fmt.Errorf("registry: HolderLicensesPage(%d, %d): limit must be 1 to 1000, offset not negative", offset, limit)
	}
	return s.store.list(ctx, ListFilter{HolderCode: a.HolderCode, Limit: limit, Offset: offset})
}

// Store: use codes.

func (s *store) insertUseCode(ctx context.Context, hash, holder string, u *UseCode) error {
	fields, err := json.Marshal(u.Fields)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO use_codes (hash, id, identifier, holder_code, fields, purpose, service_item, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, hash, u.ID, u.Identifier, holder, string(fields), u.Purpose, u.ServiceItem,
		sortableTime(u.CreatedAt), sortableTime(u.ExpiresAt))
	return err
}

const useCodeColumns = `id, identifier, fields, purpose, service_item, created_at, expires_at, used_at, COALESCE(used_by, ''), revoked_at, holder_code`

func scanUseCode(row interface{ Scan(...any) error }) (*UseCode, string, error) {
	var u UseCode
	var fields, created, expires, holder string
	var used, revoked sql.NullString
	if err := row.Scan(&u.ID, &u.Identifier, &fields, &u.Purpose, &u.ServiceItem, &created, &expires, &used, &u.UsedBy, &revoked, &holder); err != nil {
		return nil, "", err
	}
	if err := json.Unmarshal([]byte(fields), &u.Fields); err != nil {
		return nil, "", err
	}
	u.CreatedAt, u.ExpiresAt = parseTime(created), parseTime(expires)
	if used.Valid {
		t := parseTime(used.String)
		u.UsedAt = &t
	}
	if revoked.Valid {
		t := parseTime(revoked.String)
		u.RevokedAt = &t
	}
	return &u, holder, nil
}

func (s *store) useCodeByHash(ctx context.Context, hash string) (*UseCode, string, error) {
	u, holder, err := scanUseCode(s.db.QueryRowContext(ctx, `SELECT `+useCodeColumns+` FROM use_codes WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNotFound
	}
	return u, holder, err
}

func (s *store) useCodes(ctx context.Context, holder string) ([]*UseCode, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+useCodeColumns+` FROM use_codes WHERE holder_code = ? ORDER BY created_at DESC LIMIT 200`, holder)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*UseCode
	for rows.Next() {
		u, _, err := scanUseCode(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// spendUseCode marks a code used if it still is usable; false when another
// redemption got there first.
func (s *store) spendUseCode(ctx context.Context, hash, by string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE use_codes SET used_at = ?, used_by = ?
		WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?`, sortableTime(at), by, hash, sortableTime(at))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *store) revokeUseCode(ctx context.Context, holder, id string, at time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE use_codes SET revoked_at = ? WHERE id = ? AND holder_code = ? AND used_at IS NULL AND revoked_at IS NULL`,
		sortableTime(at), id, holder)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
