package registry

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"zhengzhao/license"
)

// The 用证清单: service items (政务服务事项) are managed by the platform
// admin. Each names the license types a window may use for it and, per
// type, the type fields a clerk may see. Every change is a new version;
// use codes, lookups by duty and window verification read the current one.
// Window clerks belong to a service hall, and a hall handles a set of
// items: a clerk may act only for the items of their own hall.

// ServiceItem is one version of a government service item (政务服务事项).
type ServiceItem struct {
	Code     string        `json:"code"`     // 事项编码, e.g. 310100-SC-0001
	Name     string        `json:"name"`     // 事项名称
	Licenses []ItemLicense `json:"licenses"` // the license types it may use, with their visible fields
	Version  int           `json:"version"`  // 1 for the first; every change adds one
	// CreatedAt and CreatedBy say when and by whom this version was made;
	// the seeded defaults are made by "系统预置".
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// ItemLicense is one license type a service item may use.
type ItemLicense struct {
	Type   string   `json:"type"`   // the 21-character license type code
	Fields []string `json:"fields"` // the type field keys a clerk may see
}

// ServiceItemRequest is what the admin submits to create a service item or
// to make a new version of one (then Code comes from the path and must
// match when given).
type ServiceItemRequest struct {
	Code     string        `json:"code"`
	Name     string        `json:"name"`
	Licenses []ItemLicense `json:"licenses"`
}

// Allows returns what the item lets a clerk see of licenses of typeCode;
// ok is false when the item does not use that type at all.
func (it ServiceItem) Allows(typeCode string) (ItemLicense, bool) {
	for _, l := range it.Licenses {
		if l.Type == typeCode {
			return l, true
		}
	}
	return ItemLicense{}, false
}

// Visible returns the fields of lic the item lets a clerk see, further
// limited to granted when granted is not empty (a use code's fields); ok is
// false when the item does not use lic's type.
func (it ServiceItem) Visible(lic *License, granted []string) (map[string]string, bool) {
	il, ok := it.Allows(lic.TypeCode)
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for _, k := range il.Fields {
		v, has := lic.Record.Fields[k]
		if has && (len(granted) == 0 || slices.Contains(granted, k)) {
			out[k] = v
		}
	}
	return out, true
}

// ServiceHall is a service hall (政务服务大厅) and the items it handles. A
// window clerk's account names its hall.
type ServiceHall struct {
	Name      string    `json:"name"`  // as on the clerks' accounts
	Items     []string  `json:"items"` // service item codes
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// Throttling of lookups by duty, per clerk.
const (
	// MaxDutyLookups lookups by duty within DutyLookupWindow are allowed to
	// one clerk; more are refused until the oldest leaves the window.
	MaxDutyLookups = 20
	// DutyLookupWindow is the sliding window of MaxDutyLookups.
	DutyLookupWindow = 10 * time.Minute
)

// itemCodePattern is the shape of a 事项编码: the 6-digit administrative
// division code, then one to four dash-separated groups of capital letters
// and digits (310100-SC-0001).
var itemCodePattern = regexp.MustCompile(`^[0-9]{6}(-[0-9A-Z]{1,12}){1,4}$`)

// defaultServiceItems are the items a new store starts with, by license
// name; each may see every field of its types until the admin narrows it.
var defaultServiceItems = []struct {
	code, name string
	types      []string
}{
	{"310100-SC-0001", "食品经营许可核发", []string{"营业执照", "食品经营许可证"}},
	{"310100-SC-0002", "药品零售企业开办", []string{"营业执照", "药品经营许可证"}},
	{"310100-GT-0001", "不动产抵押登记", []string{"不动产权证书", "营业执照"}},
	{"310100-GT-0002", "建设工程竣工规划核实", []string{"建设工程规划许可证", "营业执照"}},
	{"310100-WJ-0001", "新生儿户口登记", []string{"出生医学证明"}},
	{"310100-WJ-0002", "新生儿医保参保登记", []string{"出生医学证明"}},
	{"310100-JT-0001", "道路运输车辆营运证核发", []string{"道路运输经营许可证", "营业执照"}},
	{"310100-SF-0001", "律师事务所执业登记", []string{"律师执业证"}},
}

// seededServiceItems builds the default items from cat.
func seededServiceItems(cat *license.Catalog, at time.Time) []ServiceItem {
	byName := map[string]license.Type{}
	for _, t := range cat.Types() {
		byName[t.Name] = t
	}
	var out []ServiceItem
	for _, d := range defaultServiceItems {
		it := ServiceItem{Code: d.code, Name: d.name, Version: 1, CreatedAt: at, CreatedBy: "系统预置"}
		for _, n := range d.types {
			t, ok := byName[n]
			if !ok {
				continue
			}
			il := ItemLicense{Type: t.Code}
			for _, f := range t.Fields {
				il.Fields = append(il.Fields, f.Key)
			}
			it.Licenses = append(it.Licenses, il)
		}
		out = append(out, it)
	}
	return out
}

// validateItem checks a request against the catalog and returns the
// normalised item (fields in the type's order, duplicates dropped). Every
// error is a *license.FieldError naming the field and the rule, in Chinese.
func validateItem(cat *license.Catalog, req ServiceItemRequest) (ServiceItem, error) {
	var errs []error
	add := func(field, rule, msg string) {
		errs = append(errs, &license.FieldError{Field: field, Rule: rule, Message: msg})
	}
	it := ServiceItem{Code: strings.TrimSpace(req.Code), Name: strings.TrimSpace(req.Name)}
	if !itemCodePattern.MatchString(it.Code) {
		add("code", "pattern", fmt.Sprintf("事项编码“%s”格式不对：应为 6 位行政区划代码，后接 1 至 4 段以“-”分隔的大写字母或数字，如 310100-SC-0001", it.Code))
	}
	if n := utf8.RuneCountInString(it.Name); n < 2 || n > 100 {
		add("name", "length", "事项名称须为 2 至 100 个字")
	} else if fe := license.CheckText("name", it.Name, false); fe != nil {
		add("name", fe.Rule, "事项名称含有不允许的字符")
	}
	if len(req.Licenses) == 0 {
		add("licenses", "required", "至少选择一种证照类型及其可见字段")
	}
	if len(req.Licenses) > 50 {
		add("licenses", "length", "一个事项最多使用 50 种证照类型")
	}
	seen := map[string]bool{}
	for i, l := range req.Licenses {
		at := fmt.Sprintf("licenses[%d]", i)
		t, ok := cat.Type(strings.TrimSpace(l.Type))
		if !ok {
			add(at+".type", "unknown", fmt.Sprintf("未知的证照类型“%s”：证照目录中没有该类型代码", l.Type))
			continue
		}
		if seen[t.Code] {
			add(at+".type", "duplicate", fmt.Sprintf("证照类型「%s」重复列出", t.Name))
			continue
		}
		seen[t.Code] = true
		if len(l.Fields) == 0 {
			add(at+".fields", "required", fmt.Sprintf("证照类型「%s」至少选择一个可见字段", t.Name))
		}
		il := ItemLicense{Type: t.Code}
		for _, k := range l.Fields {
			if !slices.ContainsFunc(t.Fields, func(f license.Field) bool { return f.Key == k }) {
				add(at+".fields", "unknown_field", fmt.Sprintf("证照类型「%s」没有字段“%s”", t.Name, k))
			}
		}
		for _, f := range t.Fields { // the type's order, each once
			if slices.Contains(l.Fields, f.Key) {
				il.Fields = append(il.Fields, f.Key)
			}
		}
		it.Licenses = append(it.Licenses, il)
	}
	return it, errors.Join(errs...)
}

// ListServiceItems returns the current version of every service item, by
// code.
func (s *Service) ListServiceItems(ctx context.Context) ([]ServiceItem, error) {
	return s.store.serviceItems(ctx)
}

// CurrentServiceItem returns the current version of a service item, or
// ErrNotFound.
func (s *Service) CurrentServiceItem(ctx context.Context, code string) (ServiceItem, error) {
	return s.store.serviceItem(ctx, code)
}

// ServiceItemVersions returns every version of a service item, oldest
// first, or ErrNotFound.
func (s *Service) ServiceItemVersions(ctx context.Context, code string) ([]ServiceItem, error) {
	return s.store.serviceItemVersions(ctx, code)
}

// ServiceItems lists the current service items. It is the context-free
// form of ListServiceItems for pages that cannot fail; on a store error it
// logs and returns none.
func (s *Service) ServiceItems() []ServiceItem {
	items, err := s.ListServiceItems(context.Background())
	if err != nil {
		s.log.Error("list service items", "err", err)
	}
	return items
}

// ServiceItem returns the current version of the service item code; ok is
// false when there is none (or the store failed, which is logged).
func (s *Service) ServiceItem(code string) (ServiceItem, bool) {
	if code == "" {
		return ServiceItem{}, false
	}
	it, err := s.CurrentServiceItem(context.Background(), code)
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.log.Error("read service item", "code", code, "err", err)
	}
	return it, err == nil
}

// CreateServiceItem adds a service item (version 1). Only the platform
// admin may; a code already in use is ErrConflict with a field error on
// "code".
func (s *Service) CreateServiceItem(ctx context.Context, a Actor, req ServiceItemRequest) (ServiceItem, error) {
	if a.Role != RoleAdmin {
		return ServiceItem{}, fmt.Errorf("%w: only the platform admin manages service items", ErrForbidden)
	}
	it, err := validateItem(s.Catalog(), req)
	if err != nil {
		return ServiceItem{}, err
	}
	it.Version, it.CreatedAt, it.CreatedBy = 1, s.now(), a.Name
	ok, err := s.store.insertServiceItem(ctx, it)
	if err != nil {
		return ServiceItem{}, err
	}
	if !ok {
		return ServiceItem{}, &ItemConflictError{FieldError: license.FieldError{Field: "code", Rule: "duplicate",
			Message: fmt.Sprintf("事项编码“%s”已存在：修改已有事项请提交新版本", it.Code)}}
	}
	s.recordDone(ctx, a, ActionServiceItem, nil, "ok", fmt.Sprintf("item %s version 1 created", it.Code))
	s.log.Info("service item created", "code", it.Code, "by", a.Name)
	return it, nil
}

// UpdateServiceItem makes a new version of an existing service item. The
// code of req, when given, must be code.
func (s *Service) UpdateServiceItem(ctx context.Context, a Actor, code string, req ServiceItemRequest) (ServiceItem, error) {
	if a.Role != RoleAdmin {
		return ServiceItem{}, fmt.Errorf("%w: only the platform admin manages service items", ErrForbidden)
	}
	if req.Code != "" && strings.TrimSpace(req.Code) != code {
		return ServiceItem{}, &license.FieldError{Field: "code", Rule: "mismatch", Message: "事项编码不能修改：请求中的编码与地址中的不一致"}
	}
	req.Code = code
	it, err := validateItem(s.Catalog(), req)
	if err != nil {
		return ServiceItem{}, err
	}
	cur, err := s.store.serviceItem(ctx, code)
	if err != nil {
		return ServiceItem{}, fmt.Errorf("service item %s: %w", code, err)
	}
	it.Version, it.CreatedAt, it.CreatedBy = cur.Version+1, s.now(), a.Name
	ok, err := s.store.insertServiceItem(ctx, it)
	if err != nil {
		return ServiceItem{}, err
	}
	if !ok { // another admin made this version a moment ago
		return ServiceItem{}, fmt.Errorf("%w: service item %s version %d was just made by someone else; reload and try again", ErrConflict, code, it.Version)
	}
	s.recordDone(ctx, a, ActionServiceItem, nil, "ok", fmt.Sprintf("item %s version %d", it.Code, it.Version))
	s.log.Info("service item version", "code", it.Code, "version", it.Version, "by", a.Name)
	return it, nil
}

// ItemConflictError is a service item code already in use. It is a field
// error (the field is "code", the rule "duplicate") and an ErrConflict.
type ItemConflictError struct {
	license.FieldError
}

// Unwrap returns license.ErrInvalid and ErrConflict.
func (e *ItemConflictError) Unwrap() []error { return []error{license.ErrInvalid, ErrConflict} }

// ServiceHalls lists the configured halls, by name. Only the admin may.
func (s *Service) ServiceHalls(ctx context.Context, a Actor) ([]ServiceHall, error) {
	if a.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin manages service halls", ErrForbidden)
	}
	return s.store.serviceHalls(ctx)
}

// SetServiceHall sets the items a service hall handles (replacing what it
// handled before). Every clerk whose account names the hall may then act
// for exactly these items.
func (s *Service) SetServiceHall(ctx context.Context, a Actor, name string, items []string) (ServiceHall, error) {
	if a.Role != RoleAdmin {
		return ServiceHall{}, fmt.Errorf("%w: only the platform admin manages service halls", ErrForbidden)
	}
	var errs []error
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > 100 {
		errs = append(errs, &license.FieldError{Field: "hall", Rule: "length", Message: "服务大厅名称须为 1 至 100 个字"})
	} else if fe := license.CheckText("hall", name, false); fe != nil {
		errs = append(errs, &license.FieldError{Field: "hall", Rule: fe.Rule, Message: "服务大厅名称含有不允许的字符"})
	}
	codes := slices.Compact(slices.Sorted(slices.Values(items)))
	for _, c := range codes {
		if _, err := s.store.serviceItem(ctx, c); errors.Is(err, ErrNotFound) {
			errs = append(errs, &license.FieldError{Field: "items", Rule: "unknown", Message: fmt.Sprintf("没有事项编码为“%s”的办理事项", c)})
		} else if err != nil {
			return ServiceHall{}, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return ServiceHall{}, err
	}
	if codes == nil {
		codes = []string{}
	}
	h := ServiceHall{Name: name, Items: codes, UpdatedAt: s.now(), UpdatedBy: a.Name}
	if err := s.store.putServiceHall(ctx, h); err != nil {
		return ServiceHall{}, err
	}
	s.recordDone(ctx, a, ActionServiceItem, nil, "ok", fmt.Sprintf("hall %s items %s", name, strings.Join(codes, ",")))
	s.log.Info("service hall set", "items", len(codes), "by", a.Name)
	return h, nil
}

// HallItems returns the current service items the clerk's hall handles.
// Anyone but a window clerk with a hall has none.
func (s *Service) HallItems(ctx context.Context, a Actor) ([]ServiceItem, error) {
	if a.Role != RoleVerifier || a.Hall == "" {
		return nil, nil
	}
	h, err := s.store.serviceHall(ctx, a.Hall)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []ServiceItem
	for _, c := range h.Items {
		it, err := s.store.serviceItem(ctx, c)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// ClerkItem returns the current version of service item code if the
// clerk's hall handles it. Otherwise it answers a field error on
// "service_item": rule "required" when the code names no item, "hall" when
// the clerk's hall does not handle it. Neither depends on any license or
// use code, so it reveals nothing of them.
func (s *Service) ClerkItem(ctx context.Context, a Actor, code string) (ServiceItem, error) {
	if a.Role != RoleVerifier {
		return ServiceItem{}, fmt.Errorf("%w: only window staff act for a service item", ErrForbidden)
	}
	it, err := s.store.serviceItem(ctx, code)
	if errors.Is(err, ErrNotFound) {
		return ServiceItem{}, &license.FieldError{Field: "service_item", Rule: "required", Message: "请先选择办理事项（事项编码）"}
	}
	if err != nil {
		return ServiceItem{}, err
	}
	h := ServiceHall{}
	if a.Hall != "" {
		if h, err = s.store.serviceHall(ctx, a.Hall); err != nil && !errors.Is(err, ErrNotFound) {
			return ServiceItem{}, err
		}
	}
	if !slices.Contains(h.Items, it.Code) {
		return ServiceItem{}, &license.FieldError{Field: "service_item", Rule: "hall",
			Message: fmt.Sprintf("本窗口所在服务大厅不办理事项「%s」：请选择本大厅办理的事项，或请平台管理员为本大厅配置", it.Name)}
	}
	return it, nil
}

// takeDutyLookup counts one lookup by duty of the clerk, or answers a
// *ThrottledError when MaxDutyLookups were made within DutyLookupWindow.
func (s *Service) takeDutyLookup(ctx context.Context, a Actor) error {
	return s.store.takeRate(ctx, "duty:"+a.Name, MaxDutyLookups, DutyLookupWindow, s.now())
}

// demoHalls lets the halls of the demo clerks handle every service item.
func (s *Service) demoHalls(ctx context.Context, admin Actor, logins []DemoLogin) error {
	items, err := s.ListServiceItems(ctx)
	if err != nil {
		return err
	}
	var codes []string
	for _, it := range items {
		codes = append(codes, it.Code)
	}
	for _, l := range logins {
		if l.Role == RoleVerifier && l.Hall != "" {
			if _, err := s.SetServiceHall(ctx, admin, l.Hall, codes); err != nil {
				return fmt.Errorf("demo hall %s: %w", l.Hall, err)
			}
		}
	}
	return nil
}
