package registry_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// areaPrefix is the part of a GB/T 2260 code that names the area a
// department serves: "430100" (Changsha) → "4301", "430000" (Hunan) → "43".
func areaPrefix(code string) string {
	for strings.HasSuffix(code, "00") && len(code) > 2 {
		code = code[:len(code)-2]
	}
	return code
}

// holderArea is the area a holder code names: a citizen ID's address code,
// a USCC's registering authority's code.
func holderArea(codeType, code string) string {
	if codeType == license.HolderCodeCitizenID {
		return code[:6]
	}
	return code[2:8]
}

// The demo is one a window clerk would believe: every license comes from a
// department serving the holder's area, dates agree, a company holds one
// active 营业执照, the family in the birth certificate is the family of the
// demo accounts, and the pages have a changed and a cancelled license to
// show.
func TestDemoIsConsistent(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.reg.IssueDemoLicenses(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := w.reg.List(ctx, registry.ListFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	checkDemo(t, w.reg.Catalog(), all, time.Now())

	// Run again: nothing new.
	if _, err := w.reg.IssueDemoLicenses(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := w.reg.List(ctx, registry.ListFilter{Limit: 1000})
	if err != nil || len(again) != len(all) {
		t.Fatalf("demo issued again: %d licenses, then %d (%v)", len(all), len(again), err)
	}
}

// checkDemo checks a set of licenses as TestDemoIsConsistent says.
func checkDemo(t *testing.T, cat *license.Catalog, all []*registry.License, now time.Time) {
	t.Helper()
	today := now.In(license.ChinaTime).Format(time.DateOnly)
	depts := map[string]string{}
	for _, d := range registry.DemoDepartments(cat) {
		depts[d.USCC] = d.Name
	}
	people := map[string]string{registry.DemoCitizenID: registry.DemoCitizenName}
	for _, l := range all {
		if l.Record.HolderCodeType == license.HolderCodeCitizenID {
			people[l.Record.HolderCode] = l.Record.Holder
		}
	}
	activeOne := map[string]string{}
	var changed, cancelled int
	for _, l := range all {
		r := l.Record
		name := r.Name + " " + l.Identifier
		typ, _ := cat.Type(r.TypeCode)
		if depts[r.IssuerCode] != r.Issuer {
			t.Errorf("%s: issued by %s %s, not a demo department", name, r.IssuerCode, r.Issuer)
		}
		area := areaPrefix(r.IssuerCode[2:8])
		if !strings.HasPrefix(r.Jurisdiction, area) {
			t.Errorf("%s: jurisdiction %s outside %s's area %s", name, r.Jurisdiction, r.Issuer, r.IssuerCode[2:8])
		}
		if h := holderArea(r.HolderCodeType, r.HolderCode); !strings.HasPrefix(h, area) {
			t.Errorf("%s: holder %s (%s, area %s) is not in the area of %s", name, r.Holder, r.HolderCode, h, r.Issuer)
		}
		for _, f := range typ.Fields {
			if v := r.Fields[f.Key]; f.Type == license.FieldDate && v > r.IssueDate {
				t.Errorf("%s: %s %s is after the issue date %s", name, f.Label, v, r.IssueDate)
			}
		}
		live := l.Status == license.StatusActive
		if live && r.ValidUntil != "" && r.ValidUntil < today {
			t.Errorf("%s: shown 有效 but valid until %s", name, r.ValidUntil)
		}
		if typ.Name == "营业执照" && r.Fields["businessTermTo"] != r.ValidUntil {
			t.Errorf("%s: 营业期限至 %q but 有效期至 %q", name, r.Fields["businessTermTo"], r.ValidUntil)
		}
		if sex, ok := r.Fields["sex"]; ok && r.HolderCodeType == license.HolderCodeCitizenID {
			if want := map[bool]string{true: "男", false: "女"}[(r.HolderCode[16]-'0')%2 == 1]; sex != want {
				t.Errorf("%s: 性别 %s, the ID number %s says %s", name, sex, r.HolderCode, want)
			}
		}
		if typ.Name == "出生医学证明" {
			checkFamily(t, name, r, people)
		}
		if typ.OneActive && live {
			key := typ.Code + "/" + r.HolderCode
			if first, ok := activeOne[key]; ok {
				t.Errorf("%s: a second active %s of %s (the first is %s)", name, typ.Name, r.Holder, first)
			}
			activeOne[key] = l.Identifier
		}
		if l.Version == "002" && live {
			changed++
		}
		if l.Status == license.StatusCancelled && l.StatusReason != "" {
			cancelled++
		}
	}
	if changed == 0 || cancelled == 0 {
		t.Errorf("%d changed (version 002) and %d cancelled licenses, want one of each", changed, cancelled)
	}
}

// checkFamily checks a birth certificate against the ID numbers: the
// child's birth date, the parents' names where the demo knows the person,
// and their ages at the birth.
func checkFamily(t *testing.T, name string, r license.Record, people map[string]string) {
	t.Helper()
	f := r.Fields
	born := f["birthDate"]
	if id := strings.ReplaceAll(born, "-", ""); r.HolderCode[6:14] != id || f["newbornName"] != r.Holder {
		t.Errorf("%s: newborn %s born %s, holder %s %s", name, f["newbornName"], born, r.Holder, r.HolderCode)
	}
	for _, p := range []string{"mother", "father"} {
		id, who := f[p+"IdNumber"], f[p+"Name"]
		if id == "" {
			continue
		}
		if license.ValidateCitizenID(id) != nil {
			t.Errorf("%s: %s's ID %s is not valid", name, p, id)
			continue
		}
		if known, ok := people[id]; ok && known != who {
			t.Errorf("%s: %s named %s, but %s is %s", name, p, who, id, known)
		}
		b, _ := time.Parse("20060102", id[6:14])
		d, _ := time.Parse(time.DateOnly, born)
		age := d.Year() - b.Year()
		if d.YearDay() < b.YearDay() {
			age--
		}
		if f[p+"Age"] != strconv.Itoa(age) {
			t.Errorf("%s: %s's age %s, the ID number says %d at the birth", name, p, f[p+"Age"], age)
		}
	}
}
