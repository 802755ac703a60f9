package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v5"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// The admin's catalog page: every type with its versions, and a form that
// adds a type or a new version of one from its definition (JSON in the
// form of a catalog.json entry), checked by the same rules as the built-in
// catalog.

type catalogRow struct {
	license.Type
	Versions []registry.TypeVersion
}

type catalogErr struct {
	Field, Rule, Message string
}

type catalogData struct {
	Types []catalogRow
	// Definition is the text area's content; Editing is the code a new
	// version is for ("" for a new type) and EditingName its name.
	Definition           string
	Editing, EditingName string
	Errors               []catalogErr
	Msg, Err             string
}

func (d catalogData) flash() (string, string) { return d.Msg, d.Err }

// Action is where the form posts.
func (d catalogData) Action() string {
	if d.Editing != "" {
		return "/admin/catalog/types/" + d.Editing + "/versions"
	}
	return "/admin/catalog/types"
}

// newTypeSkeleton starts the form for a new type.
const newTypeSkeleton = `{
  "code": "11100000000013338W0",
  "name": "",
  "authority": "国家市场监督管理总局",
  "authorityUSCC": "11100000000013338W",
  "authorityUSCCSource": "real",
  "holderKind": "organization",
  "validityYears": 5,
  "maxValidityYears": 0,
  "oneActive": false,
  "fields": [
    {"key": "", "label": "", "type": "string", "required": true, "pattern": "", "example": ""}
  ]
}`

func (s *Server) catalogData(c *echo.Context) (catalogData, error) {
	tvs, err := s.reg.TypeVersions(c.Request().Context())
	if err != nil {
		return catalogData{}, err
	}
	byCode := map[string][]registry.TypeVersion{}
	for _, tv := range tvs {
		byCode[tv.Code] = append(byCode[tv.Code], tv)
	}
	d := catalogData{Definition: newTypeSkeleton}
	for _, t := range s.reg.Catalog().Types() {
		d.Types = append(d.Types, catalogRow{Type: t, Versions: byCode[t.Code]})
	}
	return d, nil
}

// adminCatalog shows the catalog; ?edit=CODE fills the form with the
// type's latest definition, to make its next version from.
func (s *Server) adminCatalog(c *echo.Context) error {
	d, err := s.catalogData(c)
	if err != nil {
		return s.webError(c, err)
	}
	if code := c.QueryParam("edit"); code != "" {
		t, ok := s.reg.Catalog().Type(code)
		if !ok {
			return s.errorPage(c, http.StatusNotFound, "证照类型不存在", "证照目录中没有类型 "+code+"。")
		}
		t.Version = 0 // the platform numbers the next version
		def, err := t.MarshalDefinition()
		if err != nil {
			return s.webError(c, err)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, def, "", "  "); err != nil {
			return s.webError(c, err)
		}
		d.Definition, d.Editing, d.EditingName = pretty.String(), t.Code, t.Name
	}
	if v := c.QueryParam("added"); v != "" {
		d.Msg = v + " 已加入证照目录，摘要已上链；新签发的证照使用这一版，已签发的证照保留原版本。"
	}
	return s.page(c, http.StatusOK, "admin_catalog", "证照目录", d)
}

func (s *Server) adminAddType(c *echo.Context) error { return s.adminSubmitType(c, "") }

func (s *Server) adminAddTypeVersion(c *echo.Context) error {
	return s.adminSubmitType(c, c.Param("code"))
}

// adminSubmitType adds a type (code "") or a version of code from the
// form's definition; refused, the page shows every error by field and rule
// with the definition as it was typed.
func (s *Server) adminSubmitType(c *echo.Context, code string) error {
	def := c.FormValue("definition")
	ctx := c.Request().Context()
	var tv *registry.TypeVersion
	var err error
	if code == "" {
		tv, err = s.reg.AddType(ctx, account(c).Actor(), []byte(def))
	} else {
		tv, err = s.reg.AddTypeVersion(ctx, account(c).Actor(), code, []byte(def))
	}
	if err == nil {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/catalog?added=%s", url.QueryEscape(fmt.Sprintf("%s（%s）第 %d 版", tv.Name, tv.Code, tv.Version))))
	}
	d, derr := s.catalogData(c)
	if derr != nil {
		return s.webError(c, derr)
	}
	d.Definition, d.Editing = def, code
	if t, ok := s.reg.Catalog().Type(code); ok {
		d.EditingName = t.Name
	}
	status := s.toAPIError(err).Status
	if fes := fieldErrors(err); len(fes) > 0 {
		for _, fe := range fes {
			d.Errors = append(d.Errors, catalogErr{Field: fe.Field, Rule: fe.Rule, Message: strings.TrimPrefix(fe.Message, "field "+fe.Field+": ")})
		}
		d.Err = fmt.Sprintf("未保存：定义有 %d 处不符合证照目录的规则，请按提示修改。", len(fes))
	} else {
		var ae *apiError
		msg := err.Error()
		if errors.As(err, &ae) {
			msg = ae.Message
		}
		d.Err = "未保存：" + strings.TrimPrefix(strings.TrimPrefix(msg, "registry: conflict: "), "registry: not found: ")
	}
	return s.page(c, status, "admin_catalog", "证照目录", d)
}
