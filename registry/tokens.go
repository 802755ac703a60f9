package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"zhengzhao/license"
)

// API token rules.
const (
	// DefaultTokenLifetime is how long a token lives when its expiry is not
	// given, and what a token made before tokens expired gets from the
	// upgrade.
	DefaultTokenLifetime = 90 * 24 * time.Hour
	// MaxTokenLifetime is the longest a token may live.
	MaxTokenLifetime = 2 * 366 * 24 * time.Hour
)

// Token is an API token as the admin sees it: never the secret, which is
// shown once at creation and stored only as its SHA-256.
type Token struct {
	ID         string    `json:"id"`                   // public id: the first 16 hex digits of the hash
	Name       string    `json:"name"`                 // what or who uses it
	Role       Role      `json:"role"`                 // admin, issuer or verifier
	Department string    `json:"department,omitempty"` // issuers: the department USCC
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`           // refused from this time on
	RevokedAt  time.Time `json:"revoked_at,omitzero"`  // refused from this time on, if set
	CreatedBy  string    `json:"created_by,omitempty"` // who made it
}

// Active reports whether the token is accepted at now.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && now.Before(t.ExpiresAt)
}

// NewToken is what the admin fills in to make an API token.
type NewToken struct {
	Name       string    `json:"name"`                 // 1 to 100 characters
	Role       Role      `json:"role"`                 // admin, issuer or verifier
	Department string    `json:"department,omitempty"` // issuers: a registered department's USCC
	ExpiresAt  time.Time `json:"expires_at"`           // after now, within MaxTokenLifetime
}

// CreateToken makes an API token for a that lives DefaultTokenLifetime. It
// checks no caller: it is for the operator's own commands (`zhengzhao
// init`); people go through AddToken. The secret is returned once.
func (d *Directory) CreateToken(ctx context.Context, a Actor) (string, error) {
	secret, _, err := d.addToken(ctx, a.Name, NewToken{Name: a.Name, Role: a.Role, Department: a.Department, ExpiresAt: d.now().Add(DefaultTokenLifetime)})
	return secret, err
}

// AddToken makes an API token. Only the platform admin may. The secret is
// returned once; only its hash is stored.
func (d *Directory) AddToken(ctx context.Context, by Actor, n NewToken) (string, *Token, error) {
	if by.Role != RoleAdmin {
		return "", nil, fmt.Errorf("%w: only the platform admin makes API tokens", ErrForbidden)
	}
	return d.addToken(ctx, by.Name, n)
}

func (d *Directory) addToken(ctx context.Context, by string, n NewToken) (string, *Token, error) {
	now := d.now()
	n.Name = strings.TrimSpace(n.Name)
	var errs []error
	add := func(field, rule, msg string) {
		errs = append(errs, &license.FieldError{Field: field, Rule: rule, Message: msg})
	}
	if n.Name == "" || utf8.RuneCountInString(n.Name) > 100 || !utf8.ValidString(n.Name) {
		add("name", "length", "请填写名称，最多 100 个字")
	}
	switch n.Role {
	case RoleAdmin, RoleVerifier:
		n.Department = ""
	case RoleIssuer:
		ok, err := d.store.departmentExists(ctx, n.Department)
		if err != nil {
			return "", nil, err
		}
		if !ok {
			add("department", "unknown", "制证令牌须属于已登记的部门（填写部门的统一社会信用代码）")
		}
	default:
		add("role", "enum", "角色须为平台管理员、制证员或窗口核验人员之一")
	}
	switch {
	case !n.ExpiresAt.After(now):
		add("expires_at", "range", "到期时间须晚于现在")
	case n.ExpiresAt.Sub(now) > MaxTokenLifetime:
		add("expires_at", "range", fmt.Sprintf("令牌有效期最长 %d 天", int(MaxTokenLifetime.Hours()/24)))
	}
	if err := errors.Join(errs...); err != nil {
		return "", nil, err
	}
	secret, err := randomToken("zz_")
	if err != nil {
		return "", nil, err
	}
	hash := tokenHash(secret)
	t := &Token{ID: hash[:16], Name: n.Name, Role: n.Role, Department: n.Department, CreatedAt: now, ExpiresAt: n.ExpiresAt.UTC(), CreatedBy: by}
	if err := d.store.insertToken(ctx, hash, t); err != nil {
		return "", nil, err
	}
	d.log.Info("api token created", "token", t.ID, "role", t.Role, "expires", t.ExpiresAt)
	return secret, t, nil
}

// Tokens lists every API token, newest first. Only the platform admin may.
func (d *Directory) Tokens(ctx context.Context, by Actor) ([]*Token, error) {
	if by.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin lists API tokens", ErrForbidden)
	}
	return d.store.tokens(ctx)
}

// RevokeToken ends an API token at once. Only the platform admin may.
// Revoking a revoked token is a conflict.
func (d *Directory) RevokeToken(ctx context.Context, by Actor, id string) (*Token, error) {
	if by.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin revokes API tokens", ErrForbidden)
	}
	now := d.now()
	n, err := d.store.revokeToken(ctx, strings.ToLower(strings.TrimSpace(id)), now)
	if err != nil {
		return nil, err
	}
	t, err := d.store.tokenByID(ctx, strings.ToLower(strings.TrimSpace(id)))
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: token %s was already revoked", ErrConflict, t.ID)
	}
	d.log.Info("api token revoked", "token", t.ID)
	return t, nil
}

// Authenticate returns the actor a token stands for, or ErrUnauthenticated
// when the token is unknown, expired or revoked.
func (d *Directory) Authenticate(ctx context.Context, secret string) (Actor, error) {
	if secret == "" {
		return Actor{}, ErrUnauthenticated
	}
	t, err := d.store.tokenByHash(ctx, tokenHash(secret))
	if err != nil {
		return Actor{}, err
	}
	switch now := d.now(); {
	case !t.RevokedAt.IsZero() && !now.Before(t.RevokedAt):
		return Actor{}, fmt.Errorf("%w: token revoked", ErrUnauthenticated)
	case !now.Before(t.ExpiresAt):
		return Actor{}, fmt.Errorf("%w: token expired", ErrUnauthenticated)
	}
	return Actor{Role: t.Role, Department: t.Department, Name: t.Name}, nil
}

// tokenHash: tokens carry 256 random bits, so a plain SHA-256 is enough;
// a slow password hash would only slow every API call.
func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
