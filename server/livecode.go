package server

import (
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/render"
	"zhengzhao/verifier"
)

// The live code (亮证码): the wallet page shows a QR code the platform signs
// for one license and one minute, refreshed every LiveCodeRefresh by
// assets/app.js (without JS the page shows the code current when it was
// loaded). The window page and POST /api/v1/verify accept it online.

// checkLive names the check a live code adds to a Result.
const checkLive = verifier.NameLive

// livePixels is the size of the live code's QR picture.
const livePixels = 480

// liveCode is a live code as the wallet page and live.json show it.
type liveCode struct {
	Code      string    `json:"code"`
	PNG       string    `json:"png"` // data: URL of the QR picture
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int       `json:"expires_in"` // seconds
	RefreshIn int       `json:"refresh_in"` // seconds until the page should fetch a new one
}

// Src is the picture as a URL the page may use (it is made here, a data:
// URL of our own PNG).
func (l *liveCode) Src() template.URL { return template.URL(l.PNG) }

// Until is the expiry as window staff and holders read it (China time).
func (l *liveCode) Until() string { return l.ExpiresAt.In(license.ChinaTime).Format("15:04:05") }

func (s *Server) newLiveCode(ctx context.Context, a registry.Actor, id string) (*liveCode, error) {
	code, exp, err := s.reg.LiveCode(ctx, a, id)
	if err != nil {
		return nil, err
	}
	png, err := render.QRPNG(code, livePixels)
	if err != nil {
		return nil, err
	}
	return &liveCode{Code: code, PNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), ExpiresAt: exp,
		ExpiresIn: int(exp.Sub(s.now()).Seconds()), RefreshIn: int(registry.LiveCodeRefresh.Seconds())}, nil
}

// walletLive answers a fresh live code for one of the holder's licenses,
// for the page's script. Never cached.
func (s *Server) walletLive(c *echo.Context) error {
	lc, err := s.newLiveCode(c.Request().Context(), account(c).Actor(), c.Param("id"))
	if err != nil {
		return s.webError(c, err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, lc)
}

// verifyLive checks a live code online for a, then verifies the license it
// names as usual; a refused code gives a Result that is not valid and says
// why. Either way, when the code names a license authentically, the
// verification is recorded as a use of it (with purpose and service item
// when given). The license is returned when the code was accepted.
func (s *Server) verifyLive(ctx context.Context, a registry.Actor, code, purpose, item string) (*verifier.Result, *registry.License, error) {
	chk, err := s.reg.CheckLiveCode(ctx, code)
	var le *registry.LiveCodeError
	if errors.As(err, &le) {
		res := refusedLive(le, s.now())
		if le.License != nil {
			res.Identifier, res.TypeCode, res.Issuer = le.License.Identifier, le.License.TypeCode, le.License.Department
			res.TypeName = le.License.Record.Name
			if err := s.reg.RecordLiveUse(ctx, a, le.License, purpose, item, "live_code_"+le.Reason); err != nil {
				return nil, nil, err
			}
		}
		s.metrics.verified.WithLabelValues(string(res.Verdict)).Inc()
		return res, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	res, err := s.verifyOnline(ctx, chk.License.Credential)
	if err != nil {
		return nil, nil, err
	}
	res.Form = verifier.FormLive
	res.Checks = append([]verifier.Check{{Name: checkLive, Status: verifier.CheckPass,
		Reason: "亮证码经平台签名核验通过，有效至 " + chk.Expires.In(license.ChinaTime).Format("2006-01-02 15:04:05") +
			"（live code signed by the platform, valid until " + chk.Expires.Format(time.RFC3339) + "）"}}, res.Checks...)
	if err := s.reg.RecordLiveUse(ctx, a, chk.License, purpose, item, string(res.Verdict)); err != nil {
		return nil, nil, err
	}
	return res, chk.License, nil
}

// refusedLive is the Result of a refused live code: an expired one (a
// screenshot) cannot be verified now, anything else is invalid.
func refusedLive(le *registry.LiveCodeError, now time.Time) *verifier.Result {
	v := verifier.VerdictInvalid
	if le.Reason == registry.LiveCodeExpired {
		v = verifier.VerdictUnverifiable
	}
	return &verifier.Result{Verdict: v, Form: verifier.FormLive, Mode: verifier.ModeOnline, AsOf: now,
		Checks: []verifier.Check{{Name: checkLive, Status: verifier.CheckFail, Reason: le.Message + "（live code refused: " + le.Reason + "）"}}}
}
