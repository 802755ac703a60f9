package server

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v5"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// The department console: issue from the catalog, find, view and change
// the department's licenses, batch import.

type consoleListData struct {
	Dept     *registry.Department
	Types    []license.Type
	Licenses []*registry.License
	Q        string
	Status   string
	Type     string
	TypeName map[string]string
}

// Statuses are the statuses the list can be filtered by.
func (consoleListData) Statuses() []license.Status { return license.Statuses() }

func (s *Server) department(c *echo.Context) (*registry.Department, error) {
	a := account(c)
	depts, err := s.reg.Departments(c.Request().Context())
	if err != nil {
		return nil, err
	}
	for _, d := range depts {
		if d.USCC == a.Department {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w: department %s", registry.ErrNotFound, a.Department)
}

func (s *Server) deptTypes(d *registry.Department) []license.Type {
	var out []license.Type
	for _, code := range d.Types {
		if t, ok := s.reg.Catalog().Type(code); ok {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) typeNames() map[string]string {
	m := map[string]string{}
	for _, t := range s.reg.Catalog().Types() {
		m[t.Code] = t.Name
	}
	return m
}

// consoleList lists and searches the department's licenses: q matches an
// identifier, a holder code, or part of a holder's name.
func (s *Server) consoleList(c *echo.Context) error {
	d, err := s.department(c)
	if err != nil {
		return s.webError(c, err)
	}
	data := consoleListData{Dept: d, Types: s.deptTypes(d), Q: strings.TrimSpace(c.QueryParam("q")),
		Status: c.QueryParam("status"), Type: c.QueryParam("type"), TypeName: s.typeNames()}
	f := registry.ListFilter{Department: d.USCC, TypeCode: data.Type, Status: license.Status(data.Status), Limit: 1000}
	if license.Status(data.Status) != "" && !license.Status(data.Status).Valid() {
		f.Status = ""
	}
	q := strings.ToUpper(data.Q)
	if license.ValidateUSCC(q) == nil || license.ValidateCitizenID(q) == nil {
		f.HolderCode = q
	}
	all, err := s.reg.List(c.Request().Context(), f)
	if err != nil {
		return s.webError(c, err)
	}
	for _, l := range all {
		if f.HolderCode == "" && data.Q != "" && l.Identifier != data.Q && !strings.Contains(l.Record.Holder, data.Q) && l.Record.Number != data.Q {
			continue
		}
		data.Licenses = append(data.Licenses, l)
		if len(data.Licenses) == 200 {
			break
		}
	}
	return s.page(c, http.StatusOK, "console_list", "证照管理", data)
}

func (s *Server) consoleTypes(c *echo.Context) error {
	d, err := s.department(c)
	if err != nil {
		return s.webError(c, err)
	}
	return s.page(c, http.StatusOK, "console_types", "签发证照", struct {
		Dept  *registry.Department
		Types []license.Type
	}{d, s.deptTypes(d)})
}

// issueForm is the form generated from a catalog type.
type issueForm struct {
	Type       license.Type
	Dept       *registry.Department
	Values     map[string]string // form field name → value
	Errors     map[string]string // form field name → message
	RequestKey string
	Err        string
}

func (f issueForm) flash() (string, string) { return "", f.Err }

// coreFields are the record fields an officer fills in on every form, with
// their labels; the type's own fields follow as "fields.<key>".
var coreFields = []struct{ Name, Label, Kind string }{
	{"holder", "持证主体", "text"},
	{"holderCode", "持证主体代码", "text"},
	{"jurisdiction", "管辖属地编码", "text"},
	{"number", "证照编号（可空，默认流水号）", "text"},
	{"issueDate", "颁发日期（可空，默认今天）", "date"},
	{"validFrom", "有效期起（可空）", "date"},
	{"validUntil", "有效期止（可空，按类型默认）", "date"},
}

func (s *Server) formType(c *echo.Context) (*registry.Department, license.Type, error) {
	d, err := s.department(c)
	if err != nil {
		return nil, license.Type{}, err
	}
	t, ok := s.reg.Catalog().Type(c.Param("type"))
	if !ok || !slices.Contains(d.Types, t.Code) {
		return nil, license.Type{}, fmt.Errorf("%w: license type %q is not one this department issues", registry.ErrNotFound, c.Param("type"))
	}
	return d, t, nil
}

func newRequestKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "web-" + base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) consoleForm(c *echo.Context) error {
	d, t, err := s.formType(c)
	if err != nil {
		return s.webError(c, err)
	}
	return s.page(c, http.StatusOK, "console_form", "签发："+t.Name, issueForm{Type: t, Dept: d, Values: map[string]string{}, Errors: map[string]string{}, RequestKey: newRequestKey()})
}

func (s *Server) consoleIssue(c *echo.Context) error {
	d, t, err := s.formType(c)
	if err != nil {
		return s.webError(c, err)
	}
	form := issueForm{Type: t, Dept: d, Values: map[string]string{}, Errors: map[string]string{}, RequestKey: c.FormValue("requestKey")}
	req := registry.IssueRequest{TypeCode: t.Code, Fields: map[string]string{}, RequestKey: form.RequestKey}
	if !strings.HasPrefix(req.RequestKey, "web-") || len(req.RequestKey) > 64 {
		req.RequestKey, form.RequestKey = "", newRequestKey()
	}
	for _, f := range coreFields {
		form.Values[f.Name] = strings.TrimSpace(c.FormValue(f.Name))
	}
	req.Holder, req.HolderCode, req.Jurisdiction = form.Values["holder"], strings.ToUpper(form.Values["holderCode"]), form.Values["jurisdiction"]
	req.Number, req.IssueDate, req.ValidFrom, req.ValidUntil = form.Values["number"], form.Values["issueDate"], form.Values["validFrom"], form.Values["validUntil"]
	for _, f := range t.Fields {
		// Browsers send a textarea's line breaks as CRLF; a record keeps LF.
		v := strings.TrimSpace(strings.ReplaceAll(c.FormValue("fields."+f.Key), "\r\n", "\n"))
		form.Values["fields."+f.Key] = v
		if v != "" {
			req.Fields[f.Key] = v
		}
	}
	lic, err := s.reg.Issue(c.Request().Context(), account(c).Actor(), req)
	if err != nil {
		if errs := formErrors(err); len(errs) > 0 {
			form.Errors = errs
			form.Err = fmt.Sprintf("有 %d 处需要修改，见各字段下方的说明。", len(errs))
			return s.page(c, http.StatusBadRequest, "console_form", "签发："+t.Name, form)
		}
		if errors.Is(err, registry.ErrKeyReused) {
			// The form was sent once already (a back button, then edits):
			// what it issued stands; sending the edits again issues anew.
			form.RequestKey = newRequestKey()
			form.Err = "这张表单已经提交过并签发了证照，之后又被修改。如确需按修改后的内容再签发一张，请核对后再次提交。"
			return s.page(c, http.StatusUnprocessableEntity, "console_form", "签发："+t.Name, form)
		}
		return s.webError(c, err)
	}
	s.metrics.issued.Inc()
	return c.Redirect(http.StatusSeeOther, "/console/licenses/"+lic.Identifier+"?issued=1")
}

// licenseView is a license as the pages show it: the face fields with their
// labels in the catalog's order.
type licenseView struct {
	L        *registry.License
	TypeName string
	Fields   []labeled
}

type labeled struct{ Label, Value string }

func (s *Server) licenseView(l *registry.License, only map[string]string) licenseView {
	v := licenseView{L: l, TypeName: l.Record.Name}
	fields := l.Record.Fields
	if only != nil {
		fields = only
	}
	if t, ok := s.reg.LicenseType(l.Record); ok {
		for _, f := range t.Fields {
			if val, ok := fields[f.Key]; ok {
				v.Fields = append(v.Fields, labeled{f.Label, val})
			}
		}
	}
	return v
}

func (s *Server) officerLicense(c *echo.Context) (*registry.License, error) {
	l, err := s.reg.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	if l.Department != account(c).Department {
		// Another department's license is not there, as far as this officer knows.
		return nil, fmt.Errorf("license %s: %w", c.Param("id"), registry.ErrNotFound)
	}
	return l, nil
}

type consoleLicenseData struct {
	licenseView
	Issued bool
	Msg    string
	Err    string
	// catalog is the license type's fields, for the 变更/延续 form.
	catalog []license.Field
}

func (d consoleLicenseData) flash() (string, string) { return d.Msg, d.Err }

// Final reports whether the license's status allows no further change.
func (d consoleLicenseData) Final() bool { return d.L.Status.Final() }

// Reasons are the reason codes an officer picks from.
func (consoleLicenseData) Reasons() []license.Reason { return license.Reasons() }

// versionField is one type field in the 变更/延续 form, with the current
// version's value.
type versionField struct {
	Key, Label, Value string
	Required          bool
}

// VersionFields are the type's fields with the license's current values,
// for the 变更/延续 form.
func (d consoleLicenseData) VersionFields() []versionField {
	var out []versionField
	for _, f := range d.catalog {
		out = append(out, versionField{Key: f.Key, Label: f.Label, Value: d.L.Record.Fields[f.Key], Required: f.Required})
	}
	return out
}

func (s *Server) consoleLicense(c *echo.Context) error {
	l, err := s.officerLicense(c)
	if err != nil {
		return s.webError(c, err)
	}
	d := s.consoleLicenseData(l)
	switch c.QueryParam("done") {
	case "":
	case string(license.StatusActive):
		d.Msg = "已恢复，证照重新有效。"
	default:
		if st := license.Status(c.QueryParam("done")); st.Valid() {
			d.Msg = "已" + strings.TrimPrefix(st.Label(), "已") + "。"
			if st.Final() {
				d.Msg += "这是最终状态，不能再变更。"
			}
		}
	}
	if c.QueryParam("issued") == "1" {
		d.Msg = "签发成功，已签名并上链存证。"
	}
	if c.QueryParam("versioned") == "1" {
		d.Msg = "新版本已签发并上链存证，上一版本已变更为“已变更”。"
	}
	return s.page(c, http.StatusOK, "console_license", l.Record.Name+" "+l.Record.Holder, d)
}

func (s *Server) consoleStatus(c *echo.Context) error {
	l, err := s.officerLicense(c)
	if err != nil {
		return s.webError(c, err)
	}
	status := license.Status(c.FormValue("status"))
	note := strings.TrimSpace(strings.ReplaceAll(c.FormValue("note"), "\r\n", "\n"))
	err = nil
	if fe := license.CheckText("note", note, true); fe != nil {
		err = fe
	} else {
		_, err = s.reg.SetStatus(c.Request().Context(), account(c).Actor(), l.Identifier, registry.StatusRequest{
			Status: status, Reason: c.FormValue("reason"), Note: note,
		})
	}
	if err != nil {
		d := s.consoleLicenseData(l)
		switch {
		case len(fieldErrors(err)) > 0:
			fe := fieldErrors(err)[0]
			d.Err = "未执行：" + map[string]string{"reason": "原因", "note": "备注", "status": "状态"}[fe.Field] + fieldMessage(fe)
			return s.page(c, http.StatusBadRequest, "console_license", l.Record.Name, d)
		case errors.Is(err, registry.ErrConflict):
			d.Err = "未执行：" + err.Error()
			return s.page(c, http.StatusConflict, "console_license", l.Record.Name, d)
		}
		return s.webError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/console/licenses/"+l.Identifier+"?done="+string(status))
}

// consoleLicenseData is the license page's data for l.
func (s *Server) consoleLicenseData(l *registry.License) consoleLicenseData {
	d := consoleLicenseData{licenseView: s.licenseView(l, nil)}
	if t, ok := s.reg.Catalog().Type(l.TypeCode); ok {
		d.catalog = t.Fields
	}
	return d
}

// versionLabels name the version form's fields in Chinese.
var versionLabels = map[string]string{"kind": "类型", "holder": "持证主体", "validFrom": "有效期自", "validUntil": "有效期至", "note": "备注", "fields": "证照内容"}

// consoleVersion makes a new version (变更 or 延续) from the license page's
// form: only the fields the officer changed are sent; the new version's
// page follows.
func (s *Server) consoleVersion(c *echo.Context) error {
	l, err := s.officerLicense(c)
	if err != nil {
		return s.webError(c, err)
	}
	clean := func(v string) string { return strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n")) }
	req := registry.VersionRequest{Kind: c.FormValue("kind"), Note: clean(c.FormValue("note"))}
	// A form member that is not sent at all keeps its value.
	sent := func(name string) bool { _, ok := c.Request().PostForm[name]; return ok }
	if h := clean(c.FormValue("holder")); sent("holder") && h != l.Record.Holder {
		req.Holder = h
	}
	d := s.consoleLicenseData(l)
	for _, f := range d.catalog {
		v := clean(c.FormValue("fields." + f.Key))
		if sent("fields."+f.Key) && v != l.Record.Fields[f.Key] {
			if req.Fields == nil {
				req.Fields = map[string]string{}
			}
			req.Fields[f.Key] = v
		}
	}
	if req.Kind == registry.VersionRenewal {
		req.ValidFrom, req.ValidUntil = clean(c.FormValue("validFrom")), clean(c.FormValue("validUntil"))
	}
	if fe := license.CheckText("note", req.Note, true); fe != nil {
		err = fe
	} else {
		var next *registry.License
		if next, err = s.reg.NewVersion(c.Request().Context(), account(c).Actor(), l.Identifier, req); err == nil {
			return c.Redirect(http.StatusSeeOther, "/console/licenses/"+next.Identifier+"?versioned=1")
		}
	}
	switch {
	case len(fieldErrors(err)) > 0:
		fe := fieldErrors(err)[0]
		label := versionLabels[fe.Field]
		if key, ok := strings.CutPrefix(fe.Field, "fields."); ok {
			for _, f := range d.catalog {
				if f.Key == key {
					label = f.Label
				}
			}
		}
		if label == "" {
			label = fe.Field
		}
		d.Err = "未变更：" + label + "：" + fieldMessage(fe)
		return s.page(c, http.StatusBadRequest, "console_license", l.Record.Name, d)
	case errors.Is(err, registry.ErrConflict):
		d.Err = "未变更：" + err.Error()
		return s.page(c, http.StatusConflict, "console_license", l.Record.Name, d)
	}
	return s.webError(c, err)
}
