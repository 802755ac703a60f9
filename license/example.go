package license

import "time"

// Example values used when a catalog entry gives no example of its own.
const (
	exampleIssueDate        = "2024-03-15"
	exampleCitizenName      = "王芳"
	exampleCitizenID        = "430103198805061523"
	exampleOrganizationName = "长沙市岳麓区麓山餐饮管理有限公司"
	exampleOrganizationCode = "91430104MA4L3B5K26"
	exampleJurisdiction     = "430100"
)

// Example returns a realistic record of type t issued by the given department,
// for demos, documentation and tests. Identifier and Number are left empty:
// they are assigned at issuance. The holder and field values come from the
// catalog entry's examples; enum, required date and number fields without
// an example get their first value, the issue date and 1. The record passes
// t.Validate when issuerUSCC is a valid USCC and issuerName is not empty.
func (t Type) Example(issuerUSCC, issuerName string) Record {
	r := Record{
		Name:           t.Name,
		TypeCode:       t.Code,
		HolderCodeType: t.HolderKind.CodeType(),
		Issuer:         issuerName,
		IssuerCode:     issuerUSCC,
		IssueDate:      exampleIssueDate,
		ValidFrom:      exampleIssueDate,
		Jurisdiction:   exampleJurisdiction,
		Fields:         make(map[string]string, len(t.Fields)),
	}
	switch {
	case t.exampleHolder != "":
		r.Holder, r.HolderCode = t.exampleHolder, t.exampleHolderCode
	case t.HolderKind == HolderCitizen:
		r.Holder, r.HolderCode = exampleCitizenName, exampleCitizenID
	default:
		r.Holder, r.HolderCode = exampleOrganizationName, exampleOrganizationCode
	}
	// The USCC's characters 3-8 are the registering authority's GB/T 2260 code.
	if len(issuerUSCC) == 18 && jurisdictionRE.MatchString(issuerUSCC[2:8]) {
		r.Jurisdiction = issuerUSCC[2:8]
	}
	if t.ValidityYears > 0 {
		d, _ := time.Parse(time.DateOnly, exampleIssueDate)
		r.ValidUntil = d.AddDate(t.ValidityYears, 0, -1).Format(time.DateOnly)
	}
	for _, f := range t.Fields {
		v := f.Example
		if v == "" {
			switch {
			case f.Type == FieldEnum && len(f.Enum) > 0:
				v = f.Enum[0]
			case f.Type == FieldDate && f.Required:
				// An optional date without an example stays empty: an
				// invented end of a business term (营业期限至) would
				// contradict an open-ended validity.
				v = exampleIssueDate
			case f.Type == FieldNumber:
				v = "1"
			case f.Type == FieldString && f.Pattern == "":
				v = truncate(f.Label, f.maxLen())
			}
		}
		if v != "" {
			r.Fields[f.Key] = v
		}
	}
	return r
}

// truncate returns the first n characters of s.
func truncate(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
