package license

// recordFieldLabels are the GB/T 36903 core fields of a Record by their JSON
// names, as a person reads them on a form or a page.
var recordFieldLabels = map[string]string{
	"name":           "证照名称",
	"typeCode":       "证照类型代码",
	"number":         "证照编号",
	"identifier":     "电子证照标识",
	"holder":         "持证主体",
	"holderCode":     "持证主体代码",
	"holderCodeType": "持证主体代码类型",
	"issuer":         "证照颁发机构",
	"issuerCode":     "证照颁发机构代码",
	"issueDate":      "颁发日期",
	"validFrom":      "有效期起始",
	"validUntil":     "有效期截止",
	"jurisdiction":   "管辖属地编码",
}

// RecordFieldLabel is the Chinese name of a Record's core field given by
// its JSON name ("holderCode" → "持证主体代码"), or the name itself when it
// is not one.
func RecordFieldLabel(name string) string {
	if l, ok := recordFieldLabels[name]; ok {
		return l
	}
	return name
}

// label is the holder kind as a person reads it.
func (k HolderKind) label() string {
	switch k {
	case HolderCitizen:
		return "自然人"
	case HolderOrganization:
		return "法人或其他组织"
	}
	return string(k)
}
