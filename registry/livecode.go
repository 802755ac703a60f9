package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"zhengzhao/credential"
	"zhengzhao/license"
)

// The live code (亮证码): the wallet shows a short QR signed by the platform
// that names one license and expires a minute later, so a screenshot cannot
// be shown again later. Window staff verify it online; every verification,
// accepted or refused, is a use of the license (用证记录).
//
// The platform root key signs live codes. Only this platform ever checks
// them (online, with the key it holds), the root key is already loaded in
// the serving process to sign trust bundles, and every signed live code
// starts with its own context string, so its signature can never be taken
// for a bundle's or a certificate's. A dedicated key would add a key file
// to keep, back up and rotate without changing who could forge a code.

// Live code rules.
const (
	// LiveCodeLifetime is how long a live code is accepted after it is made.
	LiveCodeLifetime = time.Minute
	// LiveCodeRefresh is how often the wallet page fetches a new code.
	LiveCodeRefresh = 20 * time.Second
	// LiveCodeSkew is the clock-skew allowance: a code is still accepted up
	// to this long after its expiry, and refused if its expiry lies further
	// than LiveCodeLifetime+LiveCodeSkew ahead.
	LiveCodeSkew = 5 * time.Second
)

// ErrLiveCode: a live code was refused. The *LiveCodeError says why.
var ErrLiveCode = errors.New("registry: live code refused")

// Reasons a live code is refused.
const (
	LiveCodeMalformed = "malformed" // not a readable ZZL1: code
	LiveCodeForged    = "signature" // not signed by this platform, or altered
	LiveCodeExpired   = "expired"   // past its expiry (a screenshot or an old code)
	LiveCodeFuture    = "future"    // expiry too far ahead: not made by this platform's clock
	LiveCodeUnknown   = "unknown"   // names a license this registry does not hold
)

// LiveCodeError says why a live code was refused. It unwraps to ErrLiveCode.
type LiveCodeError struct {
	Reason  string    // one of the LiveCode… reasons
	Message string    // for the clerk, in Chinese
	Expires time.Time // the code's expiry, when it could be read
	// License is the license the code names, when its signature verified
	// (an expired code): the refusal is recorded as a use of it.
	License *License
}

// Error returns the message for the clerk.
func (e *LiveCodeError) Error() string { return e.Message }

// Unwrap returns ErrLiveCode.
func (e *LiveCodeError) Unwrap() error { return ErrLiveCode }

// LiveCheck is an accepted live code: the license it names and its expiry.
type LiveCheck struct {
	License *License
	Expires time.Time
}

// LiveCode makes a live code for one of the holder's own licenses, valid for
// LiveCodeLifetime from now, and returns it with its expiry.
func (s *Service) LiveCode(ctx context.Context, a Actor, id string) (string, time.Time, error) {
	lic, err := s.HolderLicense(ctx, a, id)
	if err != nil {
		return "", time.Time{}, err
	}
	nonce := make([]byte, credential.LiveNonceLen)
	if _, err := rand.Read(nonce); err != nil {
		return "", time.Time{}, err
	}
	exp := s.now().Add(LiveCodeLifetime).Truncate(time.Second)
	code, err := credential.EncodeLiveCode(s.cfg.Platform.Root, lic.Identifier, exp, nonce)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("registry: live code for %s: %w", id, err)
	}
	return code, exp, nil
}

// IsLiveCode reports whether s looks like a live code (ZZL1:), so callers
// send it to CheckLiveCode.
func IsLiveCode(s string) bool {
	return strings.HasPrefix(strings.TrimSpace(s), credential.LivePrefix)
}

// CheckLiveCode checks a live code online: the platform's signature, the
// expiry (with LiveCodeSkew), and that the license it names exists. It does
// not verify the license itself: the caller verifies the returned license's
// credential as usual. A refusal is a *LiveCodeError.
func (s *Service) CheckLiveCode(ctx context.Context, code string) (*LiveCheck, error) {
	lc, err := credential.ParseLiveCode(code)
	if err != nil {
		return nil, &LiveCodeError{Reason: LiveCodeMalformed, Message: "亮证码无法识别（" + err.Error() + "）：请持证人刷新后重新出示"}
	}
	if err := lc.VerifySignature(s.cfg.Platform.Root.Public()); err != nil {
		return nil, &LiveCodeError{Reason: LiveCodeForged, Expires: lc.Expires,
			Message: "亮证码签名核验不通过：不是本平台签发的亮证码，或内容已被篡改"}
	}
	now := s.now()
	if lc.Expires.After(now.Add(LiveCodeLifetime + LiveCodeSkew)) {
		return nil, &LiveCodeError{Reason: LiveCodeFuture, Expires: lc.Expires,
			Message: "亮证码的有效期晚于平台时钟允许的范围，不予受理"}
	}
	lic, err := s.store.license(ctx, lc.Identifier)
	if errors.Is(err, ErrNotFound) {
		return nil, &LiveCodeError{Reason: LiveCodeUnknown, Expires: lc.Expires,
			Message: "亮证码所指的证照 " + lc.Identifier + " 在本平台不存在"}
	}
	if err != nil {
		return nil, err
	}
	if !now.Before(lc.Expires.Add(LiveCodeSkew)) {
		return nil, &LiveCodeError{Reason: LiveCodeExpired, Expires: lc.Expires, License: lic,
			Message: "亮证码已于 " + lc.Expires.In(license.ChinaTime).Format("2006-01-02 15:04:05") +
				" 过期（亮证码一分钟内有效）：可能是截图或旧码，请持证人在手机上刷新后重新出示"}
	}
	return &LiveCheck{License: lic, Expires: lc.Expires}, nil
}
