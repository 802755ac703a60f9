package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"zhengzhao/license"
)

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

// ErrUseCode: a use code cannot be redeemed. The *UseCodeError says so,
// the same way whatever the reason.
var ErrUseCode = errors.New("registry: use code not usable")

// Reasons a use code is refused. They go to the holder's usage record and
// the log, never to the clerk: a refusal must not tell whether the code
// exists, for which item it was granted or whose license it names.
const (
	UseCodeUnknown   = "unknown"
	UseCodeExpired   = "expired"
	UseCodeUsed      = "used"
	UseCodeRevoked   = "revoked"
	UseCodeWrongItem = "wrong_item"
	// UseCodeTypeNotInItem: the code is for this item, but the item (as the
	// admin changed it since) no longer uses the license's type.
	UseCodeTypeNotInItem = "type_not_in_item"
)

// UseCodeRefused is the stable code of every refused use code.
const UseCodeRefused = "use_code_refused"

// useCodeRefusedMessage is what the clerk reads for every refused use code.
const useCodeRefusedMessage = "用证码不存在、已失效或未授权用于所选办理事项，请持证人核对后重新授权。"

// UseCodeError is a refused use code. Its message and code are the same for
// every reason; Reason is for the usage record and the log only and must
// never be shown to the clerk.
type UseCodeError struct {
	Reason  string // one of the UseCode… reasons; not for the clerk
	Message string // for the clerk, in Chinese: the same for every reason
}

func refusedUseCode(reason string) *UseCodeError {
	return &UseCodeError{Reason: reason, Message: useCodeRefusedMessage}
}

// Error returns the message for the clerk.
func (e *UseCodeError) Error() string { return useCodeRefusedMessage }

// Code returns UseCodeRefused, whatever the reason.
func (e *UseCodeError) Code() string { return UseCodeRefused }

// Unwrap returns ErrUseCode.
func (e *UseCodeError) Unwrap() error { return ErrUseCode }

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
		add("identifier", "status", "只有有效的证照才能授权用证（此证照"+lic.Status.Label()+"）")
	}
	if err := validPurpose(req.Purpose); err != nil {
		errs = append(errs, err)
	}
	if it, err := s.CurrentServiceItem(ctx, req.ServiceItem); errors.Is(err, ErrNotFound) {
		add("service_item", "unknown", fmt.Sprintf("没有事项编码为“%s”的办理事项", req.ServiceItem))
	} else if err != nil {
		return "", nil, err
	} else if _, ok := it.Allows(lic.TypeCode); !ok {
		add("service_item", "type", fmt.Sprintf("办理事项「%s」不使用「%s」，不能为其授权用证码", it.Name, lic.Record.Name))
	}
	if req.Minutes < MinUseCodeMinutes || req.Minutes > MaxUseCodeMinutes {
		add("minutes", "range", fmt.Sprintf("用证码有效时长须为 %d 至 %d 分钟", MinUseCodeMinutes, MaxUseCodeMinutes))
	}
	typ, _ := s.catalog.Type(lic.TypeCode)
	for _, f := range req.Fields {
		if !slices.ContainsFunc(typ.Fields, func(tf license.Field) bool { return tf.Key == f }) {
			add("fields", "unknown", fmt.Sprintf("%s没有字段 %s", typ.Name, f))
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
		return &license.FieldError{Field: "purpose", Rule: "required", Message: "请填写用证事由（2 至 200 个字）"}
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
// fields the clerk may see.
type Redemption struct {
	UseCode *UseCode
	License *License
	// Fields are the type-specific fields the service item lets the clerk
	// see, further limited to those the holder chose to disclose.
	Fields map[string]string
}

// RedeemUseCode spends a use code. The clerk must give the purpose (用证事由)
// and a service item their hall handles; the code must be for that item,
// unused, not withdrawn and not expired, and the item must use the
// license's type. Every refusal is the same *UseCodeError, counts against
// the clerk's allowance of failures, and (when the code names a license) is
// recorded for the holder with its reason. Only the fields the item allows
// are returned.
func (s *Service) RedeemUseCode(ctx context.Context, a Actor, code, purpose, serviceItem string) (*Redemption, error) {
	if a.Role != RoleVerifier {
		return nil, fmt.Errorf("%w: only window staff redeem use codes", ErrForbidden)
	}
	var errs []error
	if err := validPurpose(purpose); err != nil {
		errs = append(errs, err)
	}
	item, err := s.ClerkItem(ctx, a, serviceItem)
	if fe := (*license.FieldError)(nil); errors.As(err, &fe) {
		errs = append(errs, fe)
	} else if err != nil {
		return nil, err
	}
	norm, ok := NormalizeUseCode(code)
	if !ok {
		errs = append(errs, &license.FieldError{Field: "code", Rule: "pattern", Message: "用证码为 8 位字母或数字，如 7K3M-Q9TX"})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	now := s.now()
	key := "redeem:" + a.Name
	if err := s.throttled(ctx, key, MaxRedeemFailures, RedeemWindow, now); err != nil {
		return nil, err
	}
	// refuse answers the one refusal, counts it and records it for the
	// holder when the code names a license.
	refuse := func(reason string, lic *License) error {
		if err := s.store.addFailure(ctx, key, now); err != nil {
			return err
		}
		if lic != nil {
			if err := s.RecordUse(ctx, a, UseRequest{License: lic, Mode: UseByCode, Purpose: purpose, ServiceItem: item.Code, Verdict: "refused:" + reason}); err != nil {
				return err
			}
		}
		s.log.Info("use code refused", "reason", reason, "service_item", item.Code)
		return refusedUseCode(reason)
	}
	hash := tokenHash(norm)
	u, holder, err := s.store.useCodeByHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, refuse(UseCodeUnknown, nil)
	}
	if err != nil {
		return nil, err
	}
	lic, err := s.store.license(ctx, u.Identifier)
	if err != nil {
		return nil, err
	}
	if lic.Record.HolderCode != holder {
		return nil, fmt.Errorf("registry: use code %s names a license of another holder", u.ID)
	}
	if st := u.State(now); st != "active" {
		return nil, refuse(st, lic)
	}
	if u.ServiceItem != item.Code {
		return nil, refuse(UseCodeWrongItem, lic)
	}
	fields, ok := item.Visible(lic, u.Fields)
	if !ok {
		return nil, refuse(UseCodeTypeNotInItem, lic)
	}
	if ok, err := s.store.spendUseCode(ctx, hash, a.Name, now); err != nil {
		return nil, err
	} else if !ok { // a concurrent redemption got there first
		return nil, refuse(UseCodeUsed, lic)
	}
	usedAt := now
	u.UsedAt, u.UsedBy = &usedAt, a.Name
	if err := s.RecordUse(ctx, a, UseRequest{License: lic, Mode: UseByCode, Purpose: purpose, ServiceItem: item.Code, Verdict: string(lic.Status)}); err != nil {
		return nil, err
	}
	s.log.Info("use code redeemed", "use_code", u.ID, "license", lic.Identifier)
	return &Redemption{UseCode: u, License: lic, Fields: fields}, nil
}

// DutyResult is one license found by a lookup by duty, with the fields the
// service item lets the clerk see.
type DutyResult struct {
	License *License
	Fields  map[string]string
}

// LookupByDuty (依职能用证) lets window staff find a holder's licenses without
// a use code, for a service item their hall handles: only the license types
// the item uses are returned, each with only the fields the item allows;
// the purpose is mandatory, lookups are throttled per clerk
// (MaxDutyLookups within DutyLookupWindow, then a *ThrottledError), and
// every license returned is recorded as used.
func (s *Service) LookupByDuty(ctx context.Context, a Actor, holderCode, serviceItem, purpose string) ([]DutyResult, error) {
	if a.Role != RoleVerifier {
		return nil, fmt.Errorf("%w: only window staff look licenses up by duty", ErrForbidden)
	}
	var errs []error
	if err := validPurpose(purpose); err != nil {
		errs = append(errs, err)
	}
	item, err := s.ClerkItem(ctx, a, serviceItem)
	if fe := (*license.FieldError)(nil); errors.As(err, &fe) {
		errs = append(errs, fe)
	} else if err != nil {
		return nil, err
	}
	holderCode = strings.ToUpper(strings.TrimSpace(holderCode))
	if license.ValidateCitizenID(holderCode) != nil && license.ValidateUSCC(holderCode) != nil {
		errs = append(errs, &license.FieldError{Field: "holder_code", Rule: "check", Message: "持证主体代码须为有效的公民身份号码或统一社会信用代码"})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := s.takeDutyLookup(ctx, a); err != nil {
		return nil, err
	}
	all, err := s.store.list(ctx, ListFilter{HolderCode: holderCode, Limit: 1000})
	if err != nil {
		return nil, err
	}
	var out []DutyResult
	for _, l := range all {
		fields, ok := item.Visible(l, nil)
		if !ok {
			continue
		}
		if err := s.RecordUse(ctx, a, UseRequest{License: l, Mode: UseByDuty, Purpose: purpose, ServiceItem: item.Code, Verdict: string(l.Status)}); err != nil {
			return nil, err
		}
		out = append(out, DutyResult{License: l, Fields: fields})
	}
	s.log.Info("lookup by duty", "service_item", item.Code, "found", len(out))
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
