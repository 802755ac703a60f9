package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"zhengzhao/internal/zhtext"
	"zhengzhao/license"
	"zhengzhao/registry"
)

// The web pages: templates and assets are embedded in the binary; nothing
// comes from a CDN.
//
//go:embed web/templates/*.html web/assets/* web/openapi.json
var webFS embed.FS

// Cookie names.
const (
	sessionCookie = "zz_session"
	csrfCookie    = "zz_csrf"
)

const accountKey = "zhengzhao.account"

// web holds what the pages need: templates, the CSRF key and the import jobs.
type web struct {
	pages   map[string]*template.Template
	csrfKey []byte
	imports *importJobs
}

func newWeb() (*web, error) {
	w := &web{pages: map[string]*template.Template{}, csrfKey: make([]byte, 32), imports: newImportJobs()}
	if _, err := rand.Read(w.csrfKey); err != nil {
		return nil, err
	}
	names, err := fs.Glob(webFS, "web/templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "web/templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(webFS, "web/templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("server: template %s: %w", n, err)
		}
		w.pages[base] = t
	}
	return w, nil
}

// initWeb adds metrics, request logs, the OpenAPI document and the pages.
func (s *Server) initWeb(e *echo.Echo) error {
	w, err := newWeb()
	if err != nil {
		return err
	}
	if len(s.csrfKey) > 0 {
		w.csrfKey = s.csrfKey
	}
	s.web, s.metrics = w, newMetrics()
	e.Use(s.observe)
	if s.metricsToken != "" {
		e.GET("/metrics", s.metricsWithToken)
	}
	e.GET("/api/v1/openapi.json", s.openAPI)
	s.webRoutes(e)
	return nil
}

// webRoutes adds the pages. Every page states the roles that may see it;
// the session and CSRF checks run before any handler.
func (s *Server) webRoutes(e *echo.Echo) {
	assets, _ := fs.Sub(webFS, "web/assets")
	e.GET("/assets/*", echo.WrapHandler(http.StripPrefix("/assets/", http.FileServer(http.FS(assets)))))
	// Unknown API paths get the JSON 404 whatever the method, before the
	// pages' session and CSRF checks could answer with an HTML page.
	e.RouteNotFound("/api/*", s.apiNotFound)
	g := e.Group("", s.webSession)
	g.GET("/", s.home)
	g.RouteNotFound("/*", func(c *echo.Context) error {
		return s.errorPage(c, http.StatusNotFound, "未找到", "没有这个页面。")
	})
	g.GET("/login", s.loginPage)
	g.POST("/login", s.loginSubmit)
	g.POST("/logout", s.logout)

	officer := s.webRole(registry.RoleIssuer)
	g.GET("/console", s.consoleList, officer)
	g.GET("/console/issue", s.consoleTypes, officer)
	g.GET("/console/issue/:type", s.consoleForm, officer)
	g.POST("/console/issue/:type", s.consoleIssue, officer)
	g.GET("/console/licenses/:id", s.consoleLicense, officer)
	g.POST("/console/licenses/:id/status", s.consoleStatus, officer)
	g.POST("/console/licenses/:id/versions", s.consoleVersion, officer)
	g.GET("/console/licenses/:id/pdf", s.consolePDF, officer)
	g.GET("/console/licenses/:id/qr.png", s.consoleQR, officer)
	g.GET("/console/import", s.importPage, officer)
	g.GET("/console/import/template/:type", s.importTemplate, officer)
	g.POST("/console/import", s.importStart, officer)
	g.GET("/console/import/:job", s.importJobPage, officer)
	g.GET("/console/import/:job/progress", s.importProgress, officer)
	g.GET("/console/import/:job/errors.csv", s.importErrorsCSV, officer)

	clerk := s.webRole(registry.RoleVerifier)
	g.GET("/window", s.windowPage, clerk)
	g.POST("/window/verify", s.windowVerify, clerk)
	g.POST("/window/redeem", s.windowRedeem, clerk)
	g.POST("/window/duty", s.windowDuty, clerk)

	holder := s.webRole(registry.RoleHolder)
	g.GET("/wallet", s.walletPage, holder)
	g.GET("/wallet/licenses/:id", s.walletLicense, holder)
	g.GET("/wallet/licenses/:id/credential.json", s.walletCredential, holder)
	g.GET("/wallet/licenses/:id/pdf", s.walletPDF, holder)
	g.GET("/wallet/licenses/:id/qr.png", s.walletQR, holder)
	g.GET("/wallet/licenses/:id/live.json", s.walletLive, holder)
	g.POST("/wallet/licenses/:id/grant", s.walletGrant, holder)
	g.POST("/wallet/codes/:id/revoke", s.walletRevokeCode, holder)
	g.GET("/wallet/download", s.walletZip, holder)

	admin := s.webRole(registry.RoleAdmin)
	g.GET("/admin", s.adminPage, admin)
	g.POST("/admin/departments", s.adminRegister, admin)
	g.POST("/admin/departments/:uscc/rotate", s.adminRotate, admin)
	g.POST("/admin/departments/:uscc/keys/:keyid/revoke", s.adminRevokeKey, admin)
	g.GET("/admin/catalog", s.adminCatalog, admin)
	g.POST("/admin/catalog/types", s.adminAddType, admin)
	g.POST("/admin/catalog/types/:code/versions", s.adminAddTypeVersion, admin)
	g.GET("/admin/users", s.adminUsers, admin)
	g.POST("/admin/users", s.adminCreateUser, admin)
	g.POST("/admin/users/:id/disabled", s.adminDisableUser, admin)
	g.POST("/admin/users/password", s.adminResetPassword, admin)
	g.GET("/admin/tokens", s.adminTokens, admin)
	g.POST("/admin/tokens", s.adminCreateToken, admin)
	g.POST("/admin/tokens/:id/revoke", s.adminRevokeToken, admin)
	anyone := s.webRole(registry.RoleAdmin, registry.RoleIssuer, registry.RoleVerifier, registry.RoleHolder)
	g.GET("/account/password", s.passwordPage, anyone)
	g.POST("/account/password", s.passwordChange, anyone)
	g.GET("/admin/reports", s.adminReports, admin)
	g.GET("/admin/reports.csv", s.adminReportsCSV, admin)
	s.itemPageRoutes(g)
	s.recordsRoutes(g)
}

// account is the signed-in account, or nil.
func account(c *echo.Context) *registry.Account {
	a, _ := c.Get(accountKey).(*registry.Account)
	return a
}

// webSession reads the session cookie, limits the body to MaxUpload, and
// checks the CSRF token of every POST before the handler runs.
func (s *Server) webSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		if ck, err := r.Cookie(sessionCookie); err == nil {
			if a, err := s.reg.Session(r.Context(), ck.Value); err == nil {
				c.Set(accountKey, a)
			}
		}
		s.ensureCSRFCookie(c)
		if r.Method == http.MethodPost {
			if r.ContentLength > MaxUpload {
				return s.errorPage(c, http.StatusRequestEntityTooLarge, "文件过大", fmt.Sprintf("上传内容超过 %d MiB 上限。", MaxUpload>>20))
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, MaxUpload)
			var err error
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
				err = r.ParseMultipartForm(1 << 20)
			} else {
				err = r.ParseForm()
			}
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				return s.errorPage(c, http.StatusRequestEntityTooLarge, "文件过大", fmt.Sprintf("上传内容超过 %d MiB 上限。", MaxUpload>>20))
			case clientGone(c, bodyReadError(err)):
				return s.webError(c, bodyReadError(err))
			}
			// The token comes from the form body or the X-CSRF-Token header,
			// never from the query string, where it would leak into logs,
			// history and Referer headers.
			token := r.PostFormValue("csrf")
			if token == "" {
				token = r.Header.Get("X-CSRF-Token")
			}
			if !hmac.Equal([]byte(token), []byte(s.csrfToken(c))) {
				s.log.Warn("csrf check failed", "path", c.Path())
				return s.errorPage(c, http.StatusForbidden, "请求已失效", "表单校验码（CSRF）缺失或不正确。请返回上一页刷新后重新提交。")
			}
		}
		return next(c)
	}
}

// webRole lets only the given role through: anonymous visitors are sent to
// the sign-in page, other roles get a 403 page.
func (s *Server) webRole(roles ...registry.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			a := account(c)
			if a == nil {
				if c.Request().Method == http.MethodGet {
					return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
				}
				return s.errorPage(c, http.StatusUnauthorized, "请先登录", "会话已过期或尚未登录。")
			}
			if !slices.Contains(roles, a.Role) {
				return s.errorPage(c, http.StatusForbidden, "无权访问", "您的账号（"+roleName(a.Role)+"）无权使用此页面。")
			}
			return next(c)
		}
	}
}

// secureCookies: cookies are Secure except over plain HTTP to a loopback
// address (a developer's machine), where browsers and test clients would
// otherwise drop them.
func secureCookies(r *http.Request) bool {
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		return true
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

func (s *Server) setCookie(c *echo.Context, name, value string, maxAge int) {
	c.SetCookie(&http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: secureCookies(c.Request()), SameSite: http.SameSiteStrictMode,
	})
}

// ensureCSRFCookie gives every visitor a random CSRF cookie; forms carry a
// token derived from it and the session (signed double submit).
func (s *Server) ensureCSRFCookie(c *echo.Context) {
	if ck, err := c.Request().Cookie(csrfCookie); err == nil && len(ck.Value) >= 32 {
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	s.setCookie(c, csrfCookie, v, 0)
	c.Request().AddCookie(&http.Cookie{Name: csrfCookie, Value: v})
}

// csrfToken is HMAC(key, csrf cookie | session cookie): a form from another
// site cannot know it, and it changes when the session does.
func (s *Server) csrfToken(c *echo.Context) string {
	var ck, sess string
	if v, err := c.Request().Cookie(csrfCookie); err == nil {
		ck = v.Value
	}
	if v, err := c.Request().Cookie(sessionCookie); err == nil {
		sess = v.Value
	}
	if ck == "" {
		return "-"
	}
	m := hmac.New(sha256.New, s.web.csrfKey)
	m.Write([]byte(ck + "|" + sess))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// view is what every page template gets.
type view struct {
	Title   string
	Account *registry.Account
	CSRF    string
	Flash   string
	Error   string
	D       any
}

// page renders a page template in the layout.
func (s *Server) page(c *echo.Context, status int, name, title string, data any) error {
	t := s.web.pages[name]
	if t == nil {
		return fmt.Errorf("server: no page template %q", name)
	}
	v := view{Title: title, Account: account(c), CSRF: s.csrfToken(c), D: data}
	if f, ok := data.(interface{ flash() (string, string) }); ok {
		v.Flash, v.Error = f.flash()
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		return fmt.Errorf("server: render %s: %w", name, err)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// errorPage renders a page that says what went wrong (403, 404, 413 …).
func (s *Server) errorPage(c *echo.Context, status int, title, message string) error {
	return s.page(c, status, "error", title, struct {
		Status  int
		Message string
	}{status, message})
}

// webError renders a domain error as a page; it is for errors that are not
// a form's field errors.
func (s *Server) webError(c *echo.Context, err error) error {
	e := s.toAPIError(err)
	if clientGone(c, err) {
		return err // errorHandler logs it; nobody reads a page any more
	}
	if e.Status >= 500 {
		s.log.Error("page failed", "path", c.Path(), "err", err)
	}
	return s.errorPage(c, e.Status, errorTitle(e.Status), pageMessage(e))
}

// errorTitle is an error page's heading for a status.
func errorTitle(status int) string {
	title := map[int]string{400: "输入有误", 401: "请先登录", 403: "无权操作", 404: "未找到", 405: "无法办理", 409: "操作冲突", 410: "已失效", 413: "文件过大", 422: "无法办理", 429: "尝试过于频繁"}[status]
	if title == "" {
		title = "出错了"
	}
	return title
}

// pageMessage is an error page's text for e.
func pageMessage(e *apiError) string {
	if e.Status >= 500 {
		return "服务器内部错误，请稍后重试。"
	}
	return e.Message
}

func (s *Server) home(c *echo.Context) error {
	a := account(c)
	if a == nil {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return c.Redirect(http.StatusSeeOther, roleHome(a.Role))
}

func roleHome(r registry.Role) string {
	switch r {
	case registry.RoleAdmin:
		return "/admin"
	case registry.RoleIssuer:
		return "/console"
	case registry.RoleVerifier:
		return "/window"
	case registry.RoleHolder:
		return "/wallet"
	}
	return "/login"
}

func roleName(r registry.Role) string { return r.Label() }

type loginData struct {
	Username, Next, Err string
}

func (d loginData) flash() (string, string) { return "", d.Err }

func (s *Server) loginPage(c *echo.Context) error {
	if a := account(c); a != nil {
		return c.Redirect(http.StatusSeeOther, roleHome(a.Role))
	}
	return s.page(c, http.StatusOK, "login", "登录", loginData{Next: safeNext(c.QueryParam("next"))})
}

func (s *Server) loginSubmit(c *echo.Context) error {
	username, password := c.FormValue("username"), c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	token, acct, err := s.reg.Login(c.Request().Context(), username, password, c.RealIP())
	if err != nil {
		d := loginData{Username: username, Next: next}
		var te *registry.ThrottledError
		switch {
		case errors.As(err, &te):
			d.Err = fmt.Sprintf("登录失败次数过多，请 %s后再试。", waitText(te.RetryAfter))
			c.Response().Header().Set("Retry-After", fmt.Sprint(int(te.RetryAfter.Seconds())+1))
			return s.page(c, http.StatusTooManyRequests, "login", "登录", d)
		case errors.Is(err, registry.ErrUnauthenticated):
			d.Err = "用户名或密码错误。"
			return s.page(c, http.StatusUnauthorized, "login", "登录", d)
		}
		return s.webError(c, err)
	}
	s.setCookie(c, sessionCookie, token, int(registry.SessionLifetime/time.Second))
	if next == "" {
		next = roleHome(acct.Role)
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func (s *Server) logout(c *echo.Context) error {
	if ck, err := c.Request().Cookie(sessionCookie); err == nil {
		if err := s.reg.Logout(c.Request().Context(), ck.Value); err != nil {
			return s.webError(c, err)
		}
	}
	s.setCookie(c, sessionCookie, "", -1)
	return c.Redirect(http.StatusSeeOther, "/login")
}

// formErrors maps field errors to form field names ("fields.address" and
// "holderCode" stay as they are), each led by the broken rule in Chinese.
func formErrors(err error) map[string]string {
	out := map[string]string{}
	for _, fe := range fieldErrors(err) {
		if _, ok := out[fe.Field]; !ok {
			out[fe.Field] = fieldMessage(fe)
		}
	}
	return out
}

// fieldMessage is a field error as a page shows it: the rule in Chinese,
// then the validator's detail; for the text and password rules a whole
// Chinese sentence.
func fieldMessage(fe fieldError) string {
	if m, ok := ruleSentences[fe.Rule]; ok {
		return m
	}
	msg := strings.TrimPrefix(fe.Message, "field "+fe.Field+": ")
	if zhtext.HasHan(msg) {
		return msg // the validators say what is wrong in a Chinese sentence
	}
	return ruleNames[fe.Rule] + msg
}

// ruleSentences explain the rules of license.CheckText and the password
// policy in full.
var ruleSentences = map[string]string{
	license.RuleUTF8:      "含有无法识别的字符（不是有效的 UTF-8 文本），请重新输入。",
	license.RuleControl:   "含有控制字符（如换行、制表符或空字符），请删除后重试。",
	license.RuleBidi:      "含有改变文字方向的控制符（如 U+202E），会让显示的内容与实际不符，请删除后重试。",
	license.RuleInvisible: "含有看不见的零宽字符或字节顺序标记（BOM），请删除后重试。",
	"username":            "密码不能是用户名，也不能包含用户名。",
	"simple":              "过于简单：至少要用 5 个不同的字符。",
	"sequence":            "过于简单：不能是键盘上或字母、数字的连续排列。",
	"common":              "是常见密码（或只在常见密码前后加了数字、符号），请换一个。",
}

// ruleNames lead a field error with its rule in Chinese when the
// validator's own words are not Chinese.
var ruleNames = map[string]string{
	"required": "必填：", "length": "长度不符：", "charset": "含非法字符：", "pattern": "格式不符：", "enum": "不在可选值中：",
	"date": "日期无效：", "number": "不是有效数字：", "check": "校验位错误：", "area": "行政区划代码无效：", "range": "超出范围：",
	"mismatch": "不一致：", "prefix": "前缀不符：", "unknown": "未知：", "unique": "已被占用：", "status": "状态不允许：",
}

var templateFuncs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.In(license.ChinaTime).Format("2006-01-02 15:04")
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.In(license.ChinaTime).Format("2006-01-02 15:04")
		}
		return ""
	},
	"statusName":  func(s license.Status) string { return s.Label() },
	"reasonLabel": license.ReasonLabel,
	"roleName":    roleName,
	"statusLabel": statusLabel,
	"maskCode": func(s string) string {
		if len(s) <= 8 {
			return s
		}
		return s[:4] + strings.Repeat("*", len(s)-8) + s[len(s)-4:]
	},
	"add":    func(a, b int) int { return a + b },
	"mul10":  func(a int) int { return a * 10 },
	"sub100": func(a int) int { return 100 - a },
	"mod7":   func(a int) int { return a % 7 },
}
