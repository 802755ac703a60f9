package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// The window verify page: a license the holder shows (pasted ZZ1:/JSON or
// an uploaded file), a use code the holder grants, or a lookup by duty.
// Every action needs the service item and the purpose first, and every use
// of a license is recorded for its holder.

// verdictView is the one large verdict and every check, in Chinese.
type verdictView struct {
	Label  string // Verdict.Label: 有效 / 已暂停 / 已注销 / 已吊销 / … / 无法核验
	Why    string // the reason of a status change, in Chinese
	Class  string // ok, warn, bad
	Result *verifier.Result
	Checks []checkView
}

type checkView struct {
	Name, Status, Class, Reason string
}

// formatReasons say what window staff should do about input that is not
// a license at all; %s is the verifier's reason.
var formatReasons = []struct {
	err error
	say string
}{
	{verifier.ErrNoQRCode, "未找到二维码：请重新拍摄，使二维码清晰、完整地位于画面中（%s）。"},
	{verifier.ErrNotLicensePDF, "不是本平台的电子证照 PDF（%s）。"},
}

// verdictLabel is a verdict in Chinese and the page's colour class for it.
// 已变更 is a warning, not a failure: the holder has a newer version to show.
func verdictLabel(v verifier.Verdict) (string, string) {
	switch v {
	case verifier.VerdictValid:
		return v.Label(), "ok"
	case verifier.VerdictSuspended, verifier.VerdictNotYetValid, verifier.VerdictStatusUnknown, verifier.VerdictSuperseded:
		return v.Label(), "warn"
	}
	return v.Label(), "bad"
}

func newVerdictView(r *verifier.Result, statusReason string) *verdictView {
	v := &verdictView{Result: r}
	v.Label, v.Class = verdictLabel(r.Verdict)
	if r.InputErr != nil { // not a license at all: nothing was verified
		v.Label, v.Class = verifier.VerdictUnverifiable.Label(), "bad"
	}
	if statusReason != "" && !r.Valid {
		v.Why = license.ReasonLabel(statusReason)
	}
	if r.Verdict == verifier.VerdictSuperseded && r.SupersededBy != "" {
		// The clerk asks for the version to use instead.
		if v.Why == "" {
			v.Why = license.ReasonLabel("changed")
		}
		v.Why += "，以 " + r.SupersededBy + " 为准"
	}
	for _, ch := range r.Checks {
		cv := checkView{Name: verifier.CheckLabel(ch.Name), Reason: ch.Reason}
		for _, fr := range formatReasons {
			if ch.Name == verifier.NameFormat && errors.Is(r.InputErr, fr.err) {
				_, detail, _ := strings.Cut(ch.Reason, "：")
				cv.Reason = fmt.Sprintf(fr.say, detail)
			}
		}
		if cv.Name == "" {
			cv.Name = ch.Name
		}
		switch ch.Status {
		case verifier.CheckPass:
			cv.Status, cv.Class = "通过", "ok"
		case verifier.CheckFail:
			cv.Status, cv.Class = "不通过", "bad"
		default:
			cv.Status, cv.Class = "未检查", "skip"
		}
		v.Checks = append(v.Checks, cv)
	}
	return v
}

type windowData struct {
	Items       []registry.ServiceItem // the items the clerk's hall handles
	Item        string
	Purpose     string
	Tab         string
	Errors      map[string]string
	Err         string
	Verdict     *verdictView
	License     *licenseView
	Disclosed   bool
	Duty        []dutyResult
	DutySearch  bool
	HolderCode  string
	ItemName    string
	FromUseCode bool
	Hall        string
	item        registry.ServiceItem
}

type dutyResult struct {
	License licenseView
	Verdict *verdictView
}

func (d windowData) flash() (string, string) { return "", d.Err }

// windowData reads the service item and purpose of a window form. Only the
// items of the clerk's hall are offered and accepted.
func (s *Server) windowData(c *echo.Context) (windowData, error) {
	a := account(c)
	d := windowData{Item: c.FormValue("service_item"), Purpose: strings.TrimSpace(c.FormValue("purpose")), Errors: map[string]string{}, Tab: c.FormValue("tab"), Hall: a.Hall}
	items, err := s.reg.HallItems(c.Request().Context(), a.Actor())
	if err != nil {
		return d, err
	}
	d.Items = items
	for _, it := range items {
		if it.Code == d.Item {
			d.item, d.ItemName = it, it.Name
		}
	}
	return d, nil
}

func (s *Server) windowPage(c *echo.Context) error {
	d, err := s.windowData(c)
	if err != nil {
		return s.webError(c, err)
	}
	if d.Tab == "" {
		d.Tab = "show"
	}
	return s.page(c, http.StatusOK, "window", "窗口核验", d)
}

// needPurpose checks the service item and purpose every window action needs.
func (d *windowData) needPurpose() bool {
	switch {
	case len(d.Items) == 0:
		d.Errors["service_item"] = "本窗口所在服务大厅尚未配置办理事项，请联系平台管理员。"
	case d.ItemName == "" && d.Item != "":
		d.Errors["service_item"] = "本窗口所在服务大厅不办理所选事项，请选择本大厅办理的事项。"
	case d.ItemName == "":
		d.Errors["service_item"] = "请先选择办理事项。"
	}
	if n := len([]rune(d.Purpose)); n < 2 || n > 200 {
		d.Errors["purpose"] = "请填写用证事由（2 至 200 字）。"
	}
	if len(d.Errors) > 0 {
		d.Err = "请先选择本大厅办理的事项并填写用证事由。"
		if m, ok := d.Errors["service_item"]; ok && len(d.Items) == 0 {
			d.Err = m
		}
		return false
	}
	return true
}

// refuseType is the answer when the license shown is of a type the service
// item does not use: nothing of the license is shown, and the refusal is
// recorded for its holder.
func (s *Server) refuseType(c *echo.Context, d windowData, l *registry.License) error {
	if err := s.reg.RecordUse(c.Request().Context(), account(c).Actor(), registry.UseRequest{License: l, Mode: registry.UseByVerify, Purpose: d.Purpose, ServiceItem: d.Item, Verdict: "refused:" + registry.UseCodeTypeNotInItem}); err != nil {
		return s.webError(c, err)
	}
	d.Err = "所出示的证照不在办理事项「" + d.ItemName + "」的用证清单内，不能用于本事项。"
	return s.page(c, http.StatusForbidden, "window", "不能用于本事项", d)
}

// verifyOnline verifies input against the current trust bundle and the
// ledger, and counts the verdict.
func (s *Server) verifyOnline(ctx context.Context, input []byte) (*verifier.Result, error) {
	res, err := s.verifyUncounted(ctx, input)
	if err != nil {
		return nil, err
	}
	s.metrics.verified.WithLabelValues(string(res.Verdict)).Inc()
	return res, nil
}

// verifyUncounted is verifyOnline without counting the verdict, for input
// that may turn out to be a live code (counted once verifyLive is done).
func (s *Server) verifyUncounted(ctx context.Context, input []byte) (*verifier.Result, error) {
	b, _, err := s.currentBundle(ctx)
	if err != nil {
		return nil, err
	}
	return verifier.Verify(ctx, input, b, verifier.Policy{At: s.now(), Online: s.ledger})
}

func (s *Server) windowVerify(c *echo.Context) error {
	d, err := s.windowData(c)
	if err != nil {
		return s.webError(c, err)
	}
	d.Tab = "show"
	if !d.needPurpose() {
		return s.page(c, http.StatusBadRequest, "window", "窗口核验", d)
	}
	input := []byte(strings.TrimSpace(c.FormValue("payload")))
	if fh, err := c.FormFile("file"); err == nil && fh.Size > 0 {
		f, err := fh.Open()
		if err != nil {
			return s.webError(c, err)
		}
		input, err = io.ReadAll(f)
		f.Close()
		if err != nil {
			return s.webError(c, err)
		}
	}
	if len(input) == 0 {
		d.Errors["payload"] = "请粘贴 ZZ1: 二维码内容、ZZL1: 亮证码或证照 JSON，或上传文件。"
		d.Err = d.Errors["payload"]
		return s.page(c, http.StatusBadRequest, "window", "窗口核验", d)
	}
	res, err := s.verifyUncounted(c.Request().Context(), input)
	if err != nil {
		return s.webError(c, err)
	}
	if lc := (*verifier.LiveCodeInput)(nil); errors.As(res.InputErr, &lc) {
		return s.windowLive(c, d, lc.Code)
	}
	s.metrics.verified.WithLabelValues(string(res.Verdict)).Inc()
	reason := ""
	// A license the registry knows, shown with a genuine signature, is a
	// use of that license: record it for its holder, and show only what the
	// service item may see.
	if proof, _ := res.Check(verifier.NameProof); proof.Status == verifier.CheckPass && res.Identifier != "" {
		if l, err := s.reg.Get(c.Request().Context(), res.Identifier); err == nil {
			fields, ok := d.item.Visible(l, nil)
			if !ok {
				return s.refuseType(c, d, l)
			}
			reason = l.StatusReason
			if err := s.reg.RecordUse(c.Request().Context(), account(c).Actor(), registry.UseRequest{License: l, Mode: registry.UseByVerify, Purpose: d.Purpose, ServiceItem: d.Item, Verdict: string(res.Verdict)}); err != nil {
				return s.webError(c, err)
			}
			lv := s.licenseView(l, fields)
			d.License = &lv
		}
	}
	d.Verdict = newVerdictView(res, reason)
	return s.page(c, http.StatusOK, "window", "核验结果："+d.Verdict.Label, d)
}

// windowLive answers a live code (亮证码) the holder showed: the platform's
// signature and expiry first, then the license it names, verified as usual.
func (s *Server) windowLive(c *echo.Context, d windowData, code string) error {
	res, lic, err := s.verifyLive(c.Request().Context(), account(c).Actor(), code, d.Purpose, d.Item)
	if err != nil {
		return s.webError(c, err)
	}
	reason := ""
	if lic != nil {
		fields, ok := d.item.Visible(lic, nil)
		if !ok {
			return s.refuseType(c, d, lic)
		}
		reason = lic.StatusReason
		lv := s.licenseView(lic, fields)
		d.License = &lv
	}
	d.Verdict = newVerdictView(res, reason)
	return s.page(c, http.StatusOK, "window", "核验结果："+d.Verdict.Label, d)
}

func (s *Server) windowRedeem(c *echo.Context) error {
	d, err := s.windowData(c)
	if err != nil {
		return s.webError(c, err)
	}
	d.Tab = "code"
	if !d.needPurpose() {
		return s.page(c, http.StatusBadRequest, "window", "窗口核验", d)
	}
	red, err := s.reg.RedeemUseCode(c.Request().Context(), account(c).Actor(), c.FormValue("code"), d.Purpose, d.Item)
	var ue *registry.UseCodeError
	var te *registry.ThrottledError
	switch {
	case errors.As(err, &ue):
		// The same answer whatever the reason: nothing of the code, the
		// license or the item it was granted for.
		d.Errors["code"], d.Err = ue.Error(), ue.Error()
		return s.page(c, useCodeStatus(ue), "window", "用证码无效", d)
	case errors.As(err, &te):
		d.Err = fmt.Sprintf("用证码核验失败次数过多，请 %s后再试。", waitText(te.RetryAfter))
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(te.RetryAfter.Seconds())+1))
		return s.page(c, http.StatusTooManyRequests, "window", "窗口核验", d)
	case len(fieldErrors(err)) > 0:
		d.Errors = formErrors(err)
		d.Err = fieldErrors(err)[0].Message
		return s.page(c, http.StatusBadRequest, "window", "窗口核验", d)
	case err != nil:
		return s.webError(c, err)
	}
	res, err := s.verifyOnline(c.Request().Context(), red.License.Credential)
	if err != nil {
		return s.webError(c, err)
	}
	d.Verdict = newVerdictView(res, red.License.StatusReason)
	lv := s.licenseView(red.License, red.Fields)
	d.License, d.Disclosed, d.FromUseCode = &lv, len(red.UseCode.Fields) > 0, true
	return s.page(c, http.StatusOK, "window", "核验结果："+d.Verdict.Label, d)
}

func (s *Server) windowDuty(c *echo.Context) error {
	d, err := s.windowData(c)
	if err != nil {
		return s.webError(c, err)
	}
	d.Tab, d.DutySearch = "duty", true
	d.HolderCode = strings.ToUpper(strings.TrimSpace(c.FormValue("holder_code")))
	if !d.needPurpose() {
		return s.page(c, http.StatusBadRequest, "window", "窗口核验", d)
	}
	found, err := s.reg.LookupByDuty(c.Request().Context(), account(c).Actor(), d.HolderCode, d.Item, d.Purpose)
	var te *registry.ThrottledError
	switch {
	case errors.As(err, &te):
		d.Err = fmt.Sprintf("依职能查询过于频繁：每位核验员每 %d 分钟最多查询 %d 次，请 %s后再试。",
			int(registry.DutyLookupWindow.Minutes()), registry.MaxDutyLookups, waitText(te.RetryAfter))
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(te.RetryAfter.Seconds())+1))
		return s.page(c, http.StatusTooManyRequests, "window", "查询过于频繁", d)
	case len(fieldErrors(err)) > 0:
		fes := fieldErrors(err)
		d.Errors = formErrors(err)
		d.Err = fieldMessage(fes[0])
		if fes[0].Field == "holder_code" {
			d.Err = "持证主体代码无效：" + d.Err
		}
		return s.page(c, http.StatusBadRequest, "window", "窗口核验", d)
	case err != nil:
		return s.webError(c, err)
	}
	for _, f := range found {
		res, err := s.verifyOnline(c.Request().Context(), f.License.Credential)
		if err != nil {
			return s.webError(c, err)
		}
		d.Duty = append(d.Duty, dutyResult{License: s.licenseView(f.License, f.Fields), Verdict: newVerdictView(res, f.License.StatusReason)})
	}
	return s.page(c, http.StatusOK, "window", "依职能用证", d)
}

// statusLabel is used by templates for a stored status and its reason code.
func statusLabel(st license.Status, reason string) string {
	if reason == "" || st == license.StatusActive {
		return st.Label()
	}
	return st.Label() + "（" + license.ReasonLabel(reason) + "）"
}
