package server

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// The 用证清单: service items and the service halls that handle them, in
// the JSON API and on the admin pages. Only the platform admin changes
// them; every account with an API token may read the items.

// itemAPIRoutes adds the service item and hall endpoints to the API group.
func (s *Server) itemAPIRoutes(api *echo.Group) {
	readers := s.require(registry.RoleAdmin, registry.RoleIssuer, registry.RoleVerifier)
	api.GET("/service-items", s.apiServiceItems, readers)
	api.GET("/service-items/:code", s.apiServiceItem, readers)
	api.POST("/service-items", s.apiCreateServiceItem, s.require(registry.RoleAdmin))
	api.PUT("/service-items/:code", s.apiUpdateServiceItem, s.require(registry.RoleAdmin))
	api.GET("/service-halls", s.apiServiceHalls, s.require(registry.RoleAdmin))
	api.PUT("/service-halls/:name", s.apiSetServiceHall, s.require(registry.RoleAdmin))
}

// itemPageRoutes adds the admin pages of the 用证清单.
func (s *Server) itemPageRoutes(g *echo.Group) {
	admin := s.webRole(registry.RoleAdmin)
	g.GET("/admin/items", s.adminItems, admin)
	g.POST("/admin/items", s.adminCreateItem, admin)
	g.GET("/admin/items/:code", s.adminItem, admin)
	g.POST("/admin/items/:code", s.adminUpdateItem, admin)
	g.GET("/admin/halls", s.adminHalls, admin)
	g.POST("/admin/halls", s.adminSetHall, admin)
}

// itemError answers a duplicate code as 409 with the field and rule;
// other errors go to the common handler.
func itemError(err error) error {
	var ce *registry.ItemConflictError
	if errors.As(err, &ce) {
		return &apiError{Status: http.StatusConflict, Code: "duplicate", Message: ce.Message, Field: ce.Field,
			Errors: []fieldError{{Field: ce.Field, Rule: ce.Rule, Message: ce.Message}}}
	}
	return err
}

func (s *Server) apiServiceItems(c *echo.Context) error {
	items, err := s.reg.ListServiceItems(c.Request().Context())
	if err != nil {
		return err
	}
	if items == nil {
		items = []registry.ServiceItem{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// serviceItemDocument is the current version of an item and every version.
type serviceItemDocument struct {
	registry.ServiceItem
	Versions []registry.ServiceItem `json:"versions"`
}

func (s *Server) apiServiceItem(c *echo.Context) error {
	vs, err := s.reg.ServiceItemVersions(c.Request().Context(), c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, serviceItemDocument{ServiceItem: vs[len(vs)-1], Versions: vs})
}

func (s *Server) apiCreateServiceItem(c *echo.Context) error {
	var req registry.ServiceItemRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	it, err := s.reg.CreateServiceItem(c.Request().Context(), actor(c), req)
	if err != nil {
		return itemError(err)
	}
	return c.JSON(http.StatusCreated, it)
}

func (s *Server) apiUpdateServiceItem(c *echo.Context) error {
	var req registry.ServiceItemRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	it, err := s.reg.UpdateServiceItem(c.Request().Context(), actor(c), c.Param("code"), req)
	if err != nil {
		return itemError(err)
	}
	return c.JSON(http.StatusOK, it)
}

func (s *Server) apiServiceHalls(c *echo.Context) error {
	halls, err := s.reg.ServiceHalls(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	if halls == nil {
		halls = []registry.ServiceHall{}
	}
	return c.JSON(http.StatusOK, map[string]any{"halls": halls})
}

// hallRequest is the body of PUT /api/v1/service-halls/{name}.
type hallRequest struct {
	Items []string `json:"items"`
}

func (s *Server) apiSetServiceHall(c *echo.Context) error {
	var req hallRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name, err := url.PathUnescape(c.Param("name"))
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "name", Message: "服务大厅名称的 URL 编码无效"}
	}
	h, err := s.reg.SetServiceHall(c.Request().Context(), actor(c), name, req.Items)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h)
}

// Pages.

// itemTypeView is one license type on the item form, with its fields and
// which of them are ticked.
type itemTypeView struct {
	Code, Name string
	Fields     []itemFieldView
	Err        string
}

type itemFieldView struct {
	Key, Label string
	On         bool
}

// itemRowView is one item in the list: its types with their field labels.
type itemRowView struct {
	registry.ServiceItem
	Uses []string // 营业执照：住所、经营范围
}

type itemsData struct {
	Items    []itemRowView
	Item     *registry.ServiceItem // the item being changed, on its own page
	Versions []itemRowView
	Values   map[string]string
	Types    []itemTypeView
	Errors   map[string]string
	Msg, Err string
}

func (d itemsData) flash() (string, string) { return d.Msg, d.Err }

// itemUses names an item's types and fields in Chinese.
func (s *Server) itemUses(it registry.ServiceItem) []string {
	var out []string
	for _, l := range it.Licenses {
		t, ok := s.reg.Catalog().Type(l.Type)
		if !ok {
			out = append(out, l.Type+"：（目录中已无此类型）")
			continue
		}
		var labels []string
		for _, f := range t.Fields {
			if slices.Contains(l.Fields, f.Key) {
				labels = append(labels, f.Label)
			}
		}
		out = append(out, t.Name+"："+strings.Join(labels, "、"))
	}
	return out
}

// itemTypes is the field grid of the form, ticked as in it.
func (s *Server) itemTypes(it registry.ServiceItem) []itemTypeView {
	var out []itemTypeView
	for _, t := range s.reg.Catalog().Types() {
		v := itemTypeView{Code: t.Code, Name: t.Name}
		on, _ := it.Allows(t.Code)
		for _, f := range t.Fields {
			v.Fields = append(v.Fields, itemFieldView{Key: f.Key, Label: f.Label, On: slices.Contains(on.Fields, f.Key)})
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) itemsData(c *echo.Context) (itemsData, error) {
	items, err := s.reg.ListServiceItems(c.Request().Context())
	d := itemsData{Values: map[string]string{}, Errors: map[string]string{}, Types: s.itemTypes(registry.ServiceItem{})}
	for _, it := range items {
		d.Items = append(d.Items, itemRowView{ServiceItem: it, Uses: s.itemUses(it)})
	}
	return d, err
}

func (s *Server) adminItems(c *echo.Context) error {
	d, err := s.itemsData(c)
	if err != nil {
		return s.webError(c, err)
	}
	if code := c.QueryParam("saved"); code != "" {
		d.Msg = "办理事项 " + code + " 已保存。"
	}
	return s.page(c, http.StatusOK, "admin_items", "办理事项（用证清单）", d)
}

// itemForm reads the item form: a license type is used when at least one
// of its fields is ticked (form keys "f.<type code>").
func itemForm(c *echo.Context, catalog *license.Catalog) (registry.ServiceItemRequest, error) {
	form, err := c.FormValues()
	if err != nil {
		return registry.ServiceItemRequest{}, err
	}
	req := registry.ServiceItemRequest{Code: strings.TrimSpace(c.FormValue("code")), Name: strings.TrimSpace(c.FormValue("name"))}
	var keys []string
	for k := range form {
		if code, ok := strings.CutPrefix(k, "f."); ok && len(form[k]) > 0 {
			keys = append(keys, code)
		}
	}
	// The catalog's order first, then whatever else the form names.
	order := map[string]int{}
	for i, t := range catalog.Types() {
		order[t.Code] = i
	}
	slices.SortFunc(keys, func(a, b string) int {
		ia, oka := order[a]
		ib, okb := order[b]
		switch {
		case oka && okb:
			return ia - ib
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		req.Licenses = append(req.Licenses, registry.ItemLicense{Type: k, Fields: form["f."+k]})
	}
	return req, nil
}

var licenseIndex = regexp.MustCompile(`^licenses\[(\d+)\]`)

// itemFormFailed shows the form again with the errors: each at its field,
// a license type's next to that type, and the first at the top.
func (s *Server) itemFormFailed(c *echo.Context, d itemsData, req registry.ServiceItemRequest, err error, page, title string) error {
	fes := fieldErrors(err)
	var ce *registry.ItemConflictError
	status := http.StatusBadRequest
	if errors.As(err, &ce) {
		fes, status = []fieldError{{Field: ce.Field, Rule: ce.Rule, Message: ce.Message}}, http.StatusConflict
	}
	if len(fes) == 0 {
		return s.webError(c, err)
	}
	d.Values["code"], d.Values["name"] = req.Code, req.Name
	ticked := registry.ServiceItem{Licenses: req.Licenses}
	d.Types = s.itemTypes(ticked)
	var msgs []string
	for _, fe := range fes {
		msg := fieldMessage(fe)
		msgs = append(msgs, msg)
		if m := licenseIndex.FindStringSubmatch(fe.Field); m != nil {
			i, _ := strconv.Atoi(m[1])
			if i < len(req.Licenses) {
				for j := range d.Types {
					if d.Types[j].Code == req.Licenses[i].Type && d.Types[j].Err == "" {
						d.Types[j].Err = msg
					}
				}
			}
			if _, ok := d.Errors["licenses"]; !ok {
				d.Errors["licenses"] = msg
			}
			continue
		}
		if _, ok := d.Errors[fe.Field]; !ok {
			d.Errors[fe.Field] = msg
		}
	}
	d.Err = "未保存：" + strings.Join(msgs, "；")
	return s.page(c, status, page, title, d)
}

func (s *Server) adminCreateItem(c *echo.Context) error {
	d, err := s.itemsData(c)
	if err != nil {
		return s.webError(c, err)
	}
	req, err := itemForm(c, s.reg.Catalog())
	if err != nil {
		return s.webError(c, err)
	}
	it, err := s.reg.CreateServiceItem(c.Request().Context(), account(c).Actor(), req)
	if err != nil {
		return s.itemFormFailed(c, d, req, err, "admin_items", "办理事项（用证清单）")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/items?saved="+url.QueryEscape(it.Code))
}

func (s *Server) itemData(c *echo.Context) (itemsData, error) {
	vs, err := s.reg.ServiceItemVersions(c.Request().Context(), c.Param("code"))
	if err != nil {
		return itemsData{}, err
	}
	cur := vs[len(vs)-1]
	d := itemsData{Item: &cur, Values: map[string]string{"code": cur.Code, "name": cur.Name}, Errors: map[string]string{}, Types: s.itemTypes(cur)}
	for i := len(vs) - 1; i >= 0; i-- {
		d.Versions = append(d.Versions, itemRowView{ServiceItem: vs[i], Uses: s.itemUses(vs[i])})
	}
	return d, nil
}

func (s *Server) adminItem(c *echo.Context) error {
	d, err := s.itemData(c)
	if err != nil {
		return s.webError(c, err)
	}
	return s.page(c, http.StatusOK, "admin_items", "办理事项 "+d.Item.Code, d)
}

func (s *Server) adminUpdateItem(c *echo.Context) error {
	d, err := s.itemData(c)
	if err != nil {
		return s.webError(c, err)
	}
	req, err := itemForm(c, s.reg.Catalog())
	if err != nil {
		return s.webError(c, err)
	}
	req.Code = ""
	if _, err := s.reg.UpdateServiceItem(c.Request().Context(), account(c).Actor(), d.Item.Code, req); err != nil {
		req.Code = d.Item.Code
		return s.itemFormFailed(c, d, req, err, "admin_items", "办理事项 "+d.Item.Code)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/items?saved="+url.QueryEscape(d.Item.Code))
}

// hallView is one hall on the halls page: its clerks and the items, ticked
// as the hall handles them.
type hallView struct {
	registry.ServiceHall
	Clerks []string
	Items  []hallItemView
}

type hallItemView struct {
	Code, Name string
	On         bool
}

type hallsData struct {
	Halls    []hallView
	All      []registry.ServiceItem
	Msg, Err string
}

func (d hallsData) flash() (string, string) { return d.Msg, d.Err }

func (s *Server) hallsData(c *echo.Context) (hallsData, error) {
	ctx := c.Request().Context()
	a := account(c).Actor()
	halls, err := s.reg.ServiceHalls(ctx, a)
	if err != nil {
		return hallsData{}, err
	}
	items, err := s.reg.ListServiceItems(ctx)
	if err != nil {
		return hallsData{}, err
	}
	accts, err := s.reg.Accounts(ctx, a)
	if err != nil {
		return hallsData{}, err
	}
	d := hallsData{All: items}
	for _, h := range halls {
		v := hallView{ServiceHall: h}
		for _, ac := range accts {
			if ac.Role == registry.RoleVerifier && ac.Hall == h.Name {
				v.Clerks = append(v.Clerks, ac.Name+"（"+ac.Username+"）")
			}
		}
		for _, it := range items {
			v.Items = append(v.Items, hallItemView{Code: it.Code, Name: it.Name, On: slices.Contains(h.Items, it.Code)})
		}
		d.Halls = append(d.Halls, v)
	}
	return d, nil
}

func (s *Server) adminHalls(c *echo.Context) error {
	d, err := s.hallsData(c)
	if err != nil {
		return s.webError(c, err)
	}
	if h := c.QueryParam("saved"); h != "" {
		d.Msg = "服务大厅「" + h + "」的办理事项已保存，其核验员即刻按新清单办理。"
	}
	return s.page(c, http.StatusOK, "admin_halls", "服务大厅与办理事项", d)
}

func (s *Server) adminSetHall(c *echo.Context) error {
	form, err := c.FormValues()
	if err != nil {
		return s.webError(c, err)
	}
	h, err := s.reg.SetServiceHall(c.Request().Context(), account(c).Actor(), c.FormValue("hall"), form["items"])
	if err != nil {
		fes := fieldErrors(err)
		if len(fes) == 0 {
			return s.webError(c, err)
		}
		d, derr := s.hallsData(c)
		if derr != nil {
			return s.webError(c, derr)
		}
		d.Err = "未保存：" + fieldMessage(fes[0])
		return s.page(c, http.StatusBadRequest, "admin_halls", "服务大厅与办理事项", d)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/halls?saved="+url.QueryEscape(h.Name))
}
