package license

import (
	"fmt"
	"time"
)

// Fixed texts printed on every license face. The render package draws
// them, the verifier reads them back.
const (
	FaceNumberPrefix    = "编号："
	FaceVersionPrefix   = "版本 "
	FaceScanHint        = "扫码核验"
	FaceIdentifierLabel = "电子证照标识："
	FaceFooter          = "本电子证照由证照平台签发，可离线核验"
	FaceUnsealed        = "未加盖印章"
	FaceContinued       = "（续页）"
)

// FaceRow is one label and its value as printed on a license face.
type FaceRow struct {
	// Field names the record field the row shows, as in *FieldError:
	// "holder", "holderCode", "validity" (validFrom and validUntil) or
	// "fields.<key>".
	Field string
	// Label is the Chinese label printed before the value.
	Label string
	// Value is the value as printed (dates as 2024年03月15日).
	Value string
}

// Face is the text of a license face, before layout: what the render
// package prints and what the verifier reads back from a PDF and compares
// with the credential. One function makes it for both, so they cannot
// disagree.
type Face struct {
	Title       string  // the license name, large, letter-spaced
	TopCode     FaceRow // 营业执照 only: 统一社会信用代码 printed above the title
	Number      string  // 证照编号, printed as FaceNumberPrefix + Number
	Version     string  // the identifier's version ("002"), printed as FaceVersionPrefix + Version
	Rows        []FaceRow
	IssuerLabel string // 发证机关, or 登记机关 on a 营业执照
	Issuer      string
	Date        string // the issue date, as printed
	Identifier  string // printed in Courier after FaceIdentifierLabel
}

// holderLabels are the holder row labels of known license types, as on
// their paper faces.
var holderLabels = map[string]string{
	"营业执照":      "名称",
	"食品经营许可证":   "经营者名称",
	"药品经营许可证":   "企业名称",
	"不动产权证书":    "权利人",
	"建设工程规划许可证": "建设单位",
	"道路运输经营许可证": "业户名称",
	"律师执业证":     "执业律师",
}

// NewFace returns the face of rec, a license of type t.
func NewFace(t Type, rec Record) Face {
	fc := Face{
		Title:       rec.Name,
		Number:      rec.Number,
		IssuerLabel: "发证机关",
		Issuer:      rec.Issuer,
		Date:        ChineseDate(rec.IssueDate),
		Identifier:  rec.Identifier,
	}
	if fc.Title == "" {
		fc.Title = t.Name
	}
	if id, err := ParseIdentifier(rec.Identifier); err == nil {
		fc.Version = id.Version
	}
	holder := holderLabels[t.Name]
	if holder == "" {
		holder = "持证主体"
		if t.HolderKind == HolderCitizen {
			holder = "持证人"
		}
	}
	codeLabel := "公民身份号码"
	if rec.HolderCodeType == HolderCodeUSCC {
		codeLabel = "统一社会信用代码"
	}
	fc.Rows = append(fc.Rows, FaceRow{"holder", holder, rec.Holder})
	if t.Name == "营业执照" {
		fc.TopCode = FaceRow{"holderCode", codeLabel, rec.HolderCode}
		fc.IssuerLabel = "登记机关"
	} else {
		fc.Rows = append(fc.Rows, FaceRow{"holderCode", codeLabel, rec.HolderCode})
	}
	for _, f := range t.Fields {
		if v := rec.Fields[f.Key]; v != "" {
			if f.Type == FieldDate {
				v = ChineseDate(v)
			}
			fc.Rows = append(fc.Rows, FaceRow{"fields." + f.Key, f.Label, v})
		}
	}
	validity := "长期"
	if rec.ValidUntil != "" {
		validity = "自" + ChineseDate(rec.ValidFrom) + "至" + ChineseDate(rec.ValidUntil)
	}
	fc.Rows = append(fc.Rows, FaceRow{"validity", "有效期限", validity})
	return fc
}

// ChineseDate turns YYYY-MM-DD into 2024年03月15日; other text is returned
// unchanged.
func ChineseDate(s string) string {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return fmt.Sprintf("%d年%02d月%02d日", d.Year(), int(d.Month()), d.Day())
}
