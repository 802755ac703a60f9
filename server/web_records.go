package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// The record log's pages: the holder's 用证记录 with its exports and the
// admin's audit page (registry/records.go).

// recordsPageSize is how many records a page shows.
const recordsPageSize = 50

// recordsRoutes adds the pages; webRoutes calls it.
func (s *Server) recordsRoutes(g *echo.Group) {
	holder := s.webRole(registry.RoleHolder)
	g.GET("/wallet/records", s.walletRecords, holder)
	g.GET("/wallet/records.csv", s.walletRecordsCSV, holder)
	g.GET("/wallet/records.pdf", s.walletRecordsPDF, holder)
	g.GET("/wallet/records.json", s.walletRecordsJSON, holder)
	admin := s.webRole(registry.RoleAdmin)
	g.GET("/admin/audit", s.adminAudit, admin)
}

// recordView is one record as the pages show it.
type recordView struct {
	*registry.StoredRecord
	ActionLabel string
	ResultLabel string
	ReasonText  string
	Hash        string // the first 16 hex digits of the chain hash
}

func viewRecords(recs []*registry.StoredRecord) []recordView {
	out := make([]recordView, len(recs))
	for i, r := range recs {
		out[i] = recordView{StoredRecord: r, ActionLabel: registry.ActionLabel(r.Action), ResultLabel: registry.ResultLabel(r.Result),
			ReasonText: registry.ReasonText(r.Reason), Hash: fmt.Sprintf("%x", r.Hash)[:16]}
	}
	return out
}

// pager is the page links under a list.
type pager struct {
	Page, Pages, Total int
	Prev, Next         string // URLs, "" when there is none
}

func newPager(base url.Values, path string, page, total int) pager {
	p := pager{Page: page, Total: total, Pages: max(1, (total+recordsPageSize-1)/recordsPageSize)}
	link := func(n int) string {
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(n))
		return path + "?" + q.Encode()
	}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < p.Pages {
		p.Next = link(page + 1)
	}
	return p
}

func pageParam(c *echo.Context) int {
	n, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

func (s *Server) walletRecords(c *echo.Context) error {
	page := pageParam(c)
	recs, total, err := s.reg.HolderRecords(c.Request().Context(), account(c).Actor(), (page-1)*recordsPageSize, recordsPageSize)
	if err != nil {
		return s.webError(c, err)
	}
	return s.page(c, http.StatusOK, "wallet_records", "用证记录", struct {
		Records []recordView
		Pager   pager
	}{viewRecords(recs), newPager(nil, "/wallet/records", page, total)})
}

// download sends b as an attachment named name.
func download(c *echo.Context, contentType, name string, b []byte) error {
	h := c.Response().Header()
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, name, url.PathEscape(name)))
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, contentType, b)
}

func exportName(ext string, now time.Time) string {
	return "用证记录-" + now.In(license.ChinaTime).Format("20060102") + "." + ext
}

func (s *Server) walletRecordsCSV(c *echo.Context) error {
	b, err := s.reg.RecordsCSV(c.Request().Context(), account(c).Actor())
	if err != nil {
		return s.webError(c, err)
	}
	return download(c, "text/csv; charset=utf-8", exportName("csv", s.now()), b)
}

func (s *Server) walletRecordsPDF(c *echo.Context) error {
	b, err := s.reg.RecordsPDF(c.Request().Context(), account(c).Actor())
	if err != nil {
		return s.webError(c, err)
	}
	return download(c, "application/pdf", exportName("pdf", s.now()), b)
}

func (s *Server) walletRecordsJSON(c *echo.Context) error {
	exp, _, err := s.reg.ExportRecords(c.Request().Context(), account(c).Actor())
	if err != nil {
		return s.webError(c, err)
	}
	b, err := registry.MarshalExport(exp)
	if err != nil {
		return s.webError(c, err)
	}
	return download(c, "application/json", exportName("json", s.now()), b)
}

// auditData is what the audit page shows.
type auditData struct {
	Actor, Action, License, From, To string
	Actions                          []actionOption
	Records                          []recordView
	Pager                            pager
	Check                            *registry.ChainReport
	CheckProblems                    []string
	Err                              string
}

type actionOption struct{ Code, Label string }

// auditActions are the action filter's choices, uses first.
var auditActions = []string{
	"use.", registry.ActionUseWindow, registry.ActionUseLive, registry.ActionUseAPI, registry.ActionUseRedeem, registry.ActionUseDuty, registry.ActionUseRefused,
	"license.", registry.ActionIssue, registry.ActionVersion, registry.ActionStatus,
	registry.ActionDepartment, "key.", registry.ActionKeyRotate, registry.ActionKeyRevoke, registry.ActionSeal,
	registry.ActionCatalog, registry.ActionServiceItem,
	"account.", registry.ActionAccountNew, registry.ActionAccountOff, registry.ActionAccountOn, registry.ActionAccountReset,
	"token.", registry.ActionTokenNew, registry.ActionTokenRevoke,
}

var actionGroups = map[string]string{"use.": "全部用证", "license.": "全部证照操作", "key.": "全部密钥操作", "account.": "全部账号操作", "token.": "全部令牌操作"}

func (s *Server) adminAudit(c *echo.Context) error {
	ctx := c.Request().Context()
	d := auditData{Actor: strings.TrimSpace(c.QueryParam("actor")), Action: c.QueryParam("action"), License: strings.TrimSpace(c.QueryParam("license")),
		From: c.QueryParam("from"), To: c.QueryParam("to")}
	for _, a := range auditActions {
		label := actionGroups[a]
		if label == "" {
			label = registry.ActionLabel(a)
		}
		d.Actions = append(d.Actions, actionOption{a, label})
	}
	f := registry.RecordFilter{Actor: d.Actor, Action: d.Action, License: d.License, Limit: recordsPageSize}
	var problems []string
	if d.From != "" {
		t, err := time.ParseInLocation(time.DateOnly, d.From, license.ChinaTime)
		if err != nil {
			problems = append(problems, "起始日期应为 YYYY-MM-DD")
		}
		f.From = t
	}
	if d.To != "" {
		t, err := time.ParseInLocation(time.DateOnly, d.To, license.ChinaTime)
		if err != nil {
			problems = append(problems, "截止日期应为 YYYY-MM-DD")
		}
		f.To = t.AddDate(0, 0, 1) // the whole day
	}
	if len(problems) > 0 {
		d.Err = strings.Join(problems, "；")
		return s.page(c, http.StatusBadRequest, "admin_audit", "审计记录", d)
	}
	page := pageParam(c)
	f.Offset = (page - 1) * recordsPageSize
	a := account(c).Actor()
	recs, total, err := s.reg.AuditRecords(ctx, a, f)
	if err != nil {
		return s.webError(c, err)
	}
	d.Records = viewRecords(recs)
	q := url.Values{}
	for k, v := range map[string]string{"actor": d.Actor, "action": d.Action, "license": d.License, "from": d.From, "to": d.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	d.Pager = newPager(q, "/admin/audit", page, total)
	if c.QueryParam("check") != "" {
		rep, err := s.reg.CheckRecords(ctx, a)
		if err != nil {
			return s.webError(c, err)
		}
		d.Check = rep
		for _, p := range rep.Problems {
			d.CheckProblems = append(d.CheckProblems, p.String())
		}
	}
	return s.page(c, http.StatusOK, "admin_audit", "审计记录", d)
}

// recordAPIVerify records a verification over the API for the holder of
// the license it names (POST /api/v1/verify; purpose and service_item may
// be given as query parameters). A failure to record is logged: the
// verification's answer stands.
func (s *Server) recordAPIVerify(c *echo.Context, res *verifier.Result) {
	if res.Identifier == "" {
		return
	}
	err := s.reg.RecordAPIVerify(c.Request().Context(), actor(c), res.Identifier, c.QueryParam("purpose"), c.QueryParam("service_item"), string(res.Verdict))
	if err != nil {
		s.log.Error("recording an API verification failed", "err", err)
	}
}
