package server

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// The admin pages: departments, catalog, accounts and the 台账 reports.

type adminData struct {
	Departments []*registry.Department
	Seals       map[string][]registry.Seal // department USCC → its seals
	Types       []license.Type
	TypeName    map[string]string
	Values      map[string]string
	Errors      map[string]string
	Msg, Err    string
}

func (d adminData) flash() (string, string) { return d.Msg, d.Err }

// KeyReasons are the reasons a key may be declared revoked for.
func (adminData) KeyReasons() []license.Reason { return license.KeyReasons() }

func (s *Server) adminData(c *echo.Context) (adminData, error) {
	ctx := c.Request().Context()
	depts, err := s.reg.Departments(ctx)
	d := adminData{Departments: depts, Seals: map[string][]registry.Seal{}, Types: s.reg.Catalog().Types(), TypeName: s.typeNames(), Values: map[string]string{}, Errors: map[string]string{}}
	for _, dp := range depts {
		if err == nil {
			d.Seals[dp.USCC], err = s.reg.Seals(ctx, dp.USCC)
		}
	}
	return d, err
}

// adminRotate gives a department a new key, certificate and seal; licenses
// signed with the old key stay valid.
func (s *Server) adminRotate(c *echo.Context) error {
	if _, err := s.reg.RotateKey(c.Request().Context(), account(c).Actor(), c.Param("uscc")); err != nil {
		return s.webError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin?rotated="+c.Param("uscc"))
}

// adminRevokeKey declares a department key compromised from the time the
// form gives (Beijing time).
func (s *Server) adminRevokeKey(c *echo.Context) error {
	from, err := time.ParseInLocation("2006-01-02T15:04", c.FormValue("compromised_from"), license.ChinaTime)
	if err != nil {
		return s.adminFail(c, "未声明：泄露起始时间格式不对")
	}
	_, err = s.reg.RevokeKey(c.Request().Context(), account(c).Actor(), c.Param("uscc"), c.Param("keyid"),
		registry.KeyRevocationRequest{From: from, Reason: c.FormValue("reason")})
	if err != nil {
		if fes := fieldErrors(err); len(fes) > 0 {
			return s.adminFail(c, "未声明："+fes[0].Message)
		}
		if errors.Is(err, registry.ErrConflict) {
			return s.adminFail(c, "未声明："+err.Error())
		}
		return s.webError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin?compromised="+c.Param("keyid"))
}

// adminFail shows the departments page with an error.
func (s *Server) adminFail(c *echo.Context, msg string) error {
	d, err := s.adminData(c)
	if err != nil {
		return s.webError(c, err)
	}
	d.Err = msg
	return s.page(c, http.StatusBadRequest, "admin", "部门管理", d)
}

func (s *Server) adminPage(c *echo.Context) error {
	d, err := s.adminData(c)
	if err != nil {
		return s.webError(c, err)
	}
	if c.QueryParam("registered") != "" {
		d.Msg = "部门已注册：已生成 SM2 密钥、部门证书和电子印章，并记入账本。"
	}
	if k := c.QueryParam("compromised"); k != "" {
		d.Msg = "已声明密钥 " + k + " 泄露并记入账本；该部门已换用新密钥和新印章。泄露时间之后用旧密钥签名的证照一律无效。"
	}
	if u := c.QueryParam("rotated"); u != "" {
		d.Msg = "已为 " + u + " 轮换密钥并签发新印章；旧密钥签发的证照仍然有效。"
	}
	return s.page(c, http.StatusOK, "admin", "部门管理", d)
}

func (s *Server) adminRegister(c *echo.Context) error {
	d, err := s.adminData(c)
	if err != nil {
		return s.webError(c, err)
	}
	form, _ := c.FormValues()
	d.Values["uscc"], d.Values["name"] = strings.ToUpper(strings.TrimSpace(c.FormValue("uscc"))), strings.TrimSpace(c.FormValue("name"))
	for _, t := range form["types"] {
		d.Values["type:"+t] = "1"
	}
	_, err = s.reg.RegisterDepartment(c.Request().Context(), account(c).Actor(), d.Values["uscc"], d.Values["name"], form["types"])
	if err != nil {
		if fes := fieldErrors(err); len(fes) > 0 {
			d.Errors, d.Err = formErrors(err), "未注册：请按提示修改。"
			return s.page(c, http.StatusBadRequest, "admin", "部门管理", d)
		}
		d.Err = "未注册：" + err.Error()
		return s.page(c, s.toAPIError(err).Status, "admin", "部门管理", d)
	}
	return c.Redirect(http.StatusSeeOther, "/admin?registered=1")
}

type usersData struct {
	Accounts    []*registry.Account
	Departments []*registry.Department
	Values      map[string]string
	Errors      map[string]string
	Msg, Err    string
}

func (d usersData) flash() (string, string) { return d.Msg, d.Err }

func (s *Server) usersData(c *echo.Context) (usersData, error) {
	ctx := c.Request().Context()
	accts, err := s.reg.Accounts(ctx, account(c).Actor())
	if err != nil {
		return usersData{}, err
	}
	depts, err := s.reg.Departments(ctx)
	return usersData{Accounts: accts, Departments: depts, Values: map[string]string{}, Errors: map[string]string{}}, err
}

func (s *Server) adminUsers(c *echo.Context) error {
	d, err := s.usersData(c)
	if err != nil {
		return s.webError(c, err)
	}
	if u := c.QueryParam("created"); u != "" {
		d.Msg = "账号 " + u + " 已创建。"
	}
	if u := c.QueryParam("changed"); u != "" {
		d.Msg = "账号 " + u + " 的状态已更新。"
	}
	if u := c.QueryParam("reset"); u != "" {
		d.Msg = "账号 " + u + " 的密码已重置：其登录已全部结束，登录限制已解除。请把新密码当面或经可靠渠道交给本人。"
	}
	return s.page(c, http.StatusOK, "admin_users", "用户管理", d)
}

func (s *Server) adminCreateUser(c *echo.Context) error {
	d, err := s.usersData(c)
	if err != nil {
		return s.webError(c, err)
	}
	n := registry.NewAccount{
		Username: c.FormValue("username"), Password: c.FormValue("password"), Name: c.FormValue("name"),
		Role: registry.Role(c.FormValue("role")), Department: c.FormValue("department"), Hall: c.FormValue("hall"),
		HolderCode: strings.ToUpper(strings.TrimSpace(c.FormValue("holder_code"))), HolderCodeType: c.FormValue("holder_code_type"),
	}
	for _, k := range []string{"username", "name", "role", "department", "hall", "holder_code", "holder_code_type"} {
		d.Values[k] = c.FormValue(k)
	}
	a, err := s.reg.CreateAccount(c.Request().Context(), account(c).Actor(), n)
	if err != nil {
		if fes := fieldErrors(err); len(fes) > 0 {
			d.Errors, d.Err = formErrors(err), "未创建：请按提示修改。"
			return s.page(c, http.StatusBadRequest, "admin_users", "用户管理", d)
		}
		return s.webError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users?created="+a.Username)
}

// adminDisableUser disables (disabled=1) or re-enables (disabled=0) an account.
func (s *Server) adminDisableUser(c *echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return s.errorPage(c, http.StatusNotFound, "未找到", "没有这个账号。")
	}
	disable := c.FormValue("disabled") == "1"
	a, err := s.reg.SetAccountDisabled(c.Request().Context(), account(c).Actor(), id, disable)
	if err != nil {
		return s.webError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users?changed="+a.Username)
}

// reportData is the 台账 with a bar chart per day.
type reportData struct {
	From, To string
	Rows     []registry.ReportRow
	Totals   registry.ReportRow
	Days     []dayBar
	Max      int
	DeptName map[string]string
	TypeName map[string]string
	Err      string
}

func (d reportData) flash() (string, string) { return "", d.Err }

// dayBar is one day of the chart, with bar heights in SVG units (0..100).
type dayBar struct {
	Day                                    string
	Issued, Changed, Revoked, Verified     int
	HIssued, HChanged, HRevoked, HVerified int
}

func (s *Server) reportRange(c *echo.Context) (time.Time, time.Time, string) {
	today := s.now().In(license.ChinaTime)
	from, to := today.AddDate(0, 0, -29), today
	msg := ""
	if v := c.QueryParam("from"); v != "" {
		t, err := time.ParseInLocation(time.DateOnly, v, license.ChinaTime)
		if err != nil {
			msg = "起始日期格式应为 YYYY-MM-DD。"
		} else {
			from = t
		}
	}
	if v := c.QueryParam("to"); v != "" {
		t, err := time.ParseInLocation(time.DateOnly, v, license.ChinaTime)
		if err != nil {
			msg = "截止日期格式应为 YYYY-MM-DD。"
		} else {
			to = t
		}
	}
	if to.Before(from) {
		msg = "截止日期早于起始日期。"
		from, to = to, from
	}
	if to.Sub(from) > 366*24*time.Hour {
		msg = "一次最多统计 366 天。"
		from = to.AddDate(0, 0, -365)
	}
	return from, to, msg
}

func (s *Server) adminReports(c *echo.Context) error {
	from, to, msg := s.reportRange(c)
	rows, err := s.reg.Report(c.Request().Context(), account(c).Actor(), from, to)
	if err != nil {
		return s.webError(c, err)
	}
	d := reportData{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Rows: rows, TypeName: s.typeNames(), DeptName: map[string]string{}, Err: msg}
	depts, _ := s.reg.Departments(c.Request().Context())
	for _, dp := range depts {
		d.DeptName[dp.USCC] = dp.Name
	}
	byDay := map[string]*dayBar{}
	for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
		k := day.Format(time.DateOnly)
		d.Days = append(d.Days, dayBar{Day: k})
		byDay[k] = &d.Days[len(d.Days)-1]
	}
	for _, r := range rows {
		d.Totals.Issued += r.Issued
		d.Totals.Changed += r.Changed
		d.Totals.Revoked += r.Revoked
		d.Totals.Verified += r.Verified
		if b := byDay[r.Day]; b != nil {
			b.Issued += r.Issued
			b.Changed += r.Changed
			b.Revoked += r.Revoked
			b.Verified += r.Verified
		}
	}
	for _, b := range d.Days {
		d.Max = max(d.Max, b.Issued, b.Changed, b.Revoked, b.Verified)
	}
	scale := func(n int) int {
		if d.Max == 0 {
			return 0
		}
		return n * 100 / d.Max
	}
	for i := range d.Days {
		b := &d.Days[i]
		b.HIssued, b.HChanged, b.HRevoked, b.HVerified = scale(b.Issued), scale(b.Changed), scale(b.Revoked), scale(b.Verified)
	}
	return s.page(c, http.StatusOK, "admin_reports", "台账报表", d)
}

func (s *Server) adminReportsCSV(c *echo.Context) error {
	from, to, _ := s.reportRange(c)
	rows, err := s.reg.Report(c.Request().Context(), account(c).Actor(), from, to)
	if err != nil {
		return s.webError(c, err)
	}
	names := s.typeNames()
	depts, _ := s.reg.Departments(c.Request().Context())
	deptName := map[string]string{}
	for _, dp := range depts {
		deptName[dp.USCC] = dp.Name
	}
	var buf bytes.Buffer
	buf.WriteString("\xef\xbb\xbf") // Excel reads UTF-8 with a BOM
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"日期", "部门代码", "部门", "证照类型代码", "证照类型", "签发", "变更", "吊销", "核验"})
	for _, r := range rows {
		_ = w.Write([]string{r.Day, r.Department, deptName[r.Department], r.TypeCode, names[r.TypeCode],
			fmt.Sprint(r.Issued), fmt.Sprint(r.Changed), fmt.Sprint(r.Revoked), fmt.Sprint(r.Verified)})
	}
	w.Flush()
	setFilename(c, "attachment", "report-"+from.Format("20060102")+"-"+to.Format("20060102")+".csv")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// adminResetPassword sets a new password for an account from the users
// page; its sessions end and its sign-in delays are lifted.
func (s *Server) adminResetPassword(c *echo.Context) error {
	d, err := s.usersData(c)
	if err != nil {
		return s.webError(c, err)
	}
	username := c.FormValue("username")
	if _, err := s.reg.ResetPassword(c.Request().Context(), account(c).Actor(), username, c.FormValue("password")); err != nil {
		if fes := fieldErrors(err); len(fes) > 0 {
			d.Err = "未重置 " + username + " 的密码：" + formErrors(err)["password"]
			return s.page(c, http.StatusBadRequest, "admin_users", "用户管理", d)
		}
		return s.webError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users?reset="+url.QueryEscape(username))
}

type tokensData struct {
	Tokens      []*registry.Token
	Departments []*registry.Department
	Now         time.Time
	Secret      string          // the new token, shown once
	New         *registry.Token // what Secret is
	Values      map[string]string
	Errors      map[string]string
	Msg, Err    string
}

func (d tokensData) flash() (string, string) { return d.Msg, d.Err }

func (s *Server) tokensData(c *echo.Context) (tokensData, error) {
	ctx := c.Request().Context()
	toks, err := s.reg.Tokens(ctx, account(c).Actor())
	if err != nil {
		return tokensData{}, err
	}
	depts, err := s.reg.Departments(ctx)
	return tokensData{Tokens: toks, Departments: depts, Now: s.now(), Values: map[string]string{"days": "90"}, Errors: map[string]string{}}, err
}

func (s *Server) adminTokens(c *echo.Context) error {
	d, err := s.tokensData(c)
	if err != nil {
		return s.webError(c, err)
	}
	if id := c.QueryParam("revoked"); id != "" {
		d.Msg = "令牌 " + id + " 已吊销，立即失效。"
	}
	return s.page(c, http.StatusOK, "admin_tokens", "API 令牌", d)
}

// adminCreateToken makes an API token and shows its secret once, on the
// answer to the POST itself (never in a URL).
func (s *Server) adminCreateToken(c *echo.Context) error {
	d, err := s.tokensData(c)
	if err != nil {
		return s.webError(c, err)
	}
	for _, k := range []string{"name", "role", "department", "days"} {
		d.Values[k] = c.FormValue(k)
	}
	days, err := strconv.Atoi(strings.TrimSpace(c.FormValue("days")))
	if err != nil || days <= 0 {
		d.Errors["days"], d.Err = "有效期应为正整数天数。", "未创建：请按提示修改。"
		return s.page(c, http.StatusBadRequest, "admin_tokens", "API 令牌", d)
	}
	n := registry.NewToken{
		Name: c.FormValue("name"), Role: registry.Role(c.FormValue("role")), Department: c.FormValue("department"),
		ExpiresAt: s.now().Add(time.Duration(min(days, 10000)) * 24 * time.Hour),
	}
	secret, tok, err := s.reg.AddToken(c.Request().Context(), account(c).Actor(), n)
	if err != nil {
		if fes := fieldErrors(err); len(fes) > 0 {
			d.Errors, d.Err = formErrors(err), "未创建：请按提示修改。"
			if e, ok := d.Errors["expires_at"]; ok {
				d.Errors["days"] = e
			}
			return s.page(c, http.StatusBadRequest, "admin_tokens", "API 令牌", d)
		}
		return s.webError(c, err)
	}
	if d.Tokens, err = s.reg.Tokens(c.Request().Context(), account(c).Actor()); err != nil {
		return s.webError(c, err)
	}
	d.Secret, d.New, d.Values = secret, tok, map[string]string{"days": "90"}
	d.Msg = "令牌已创建。它只显示这一次，请立即复制保存；平台只保存其摘要。"
	return s.page(c, http.StatusCreated, "admin_tokens", "API 令牌", d)
}

func (s *Server) adminRevokeToken(c *echo.Context) error {
	t, err := s.reg.RevokeToken(c.Request().Context(), account(c).Actor(), c.Param("id"))
	if err != nil {
		return s.webError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/tokens?revoked="+t.ID)
}
