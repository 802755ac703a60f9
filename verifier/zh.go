package verifier

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"zhengzhao/credential"
	"zhengzhao/internal/limits"
	"zhengzhao/internal/zhtext"
	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/signing"
	"zhengzhao/signing/seal"
)

// inputError is a PDF or a picture that is not a license: its Error is the
// English of the sentinel it wraps and a detail, for logs and machines;
// zh says the same in Chinese for the window clerk.
type inputError struct {
	sentinel error
	en, zh   string
}

func (e *inputError) Error() string { return e.sentinel.Error() + ": " + e.en }
func (e *inputError) Unwrap() error { return e.sentinel }

// notLicensePDF is ErrNotLicensePDF with what is wrong, in English and in
// Chinese.
func notLicensePDF(zh, en string, args ...any) error {
	return &inputError{ErrNotLicensePDF, fmt.Sprintf(en, args...), zh}
}

// noQRCode is ErrNoQRCode with what is wrong.
func noQRCode(zh, en string, args ...any) error {
	return &inputError{ErrNoQRCode, fmt.Sprintf(en, args...), zh}
}

// Describe says in Chinese what an error from Verify, ReadLicensePDF,
// DecodeQR or the packages they call means, for the people who read a
// check's reason, a page or the CLI's output. Stable English codes stay in
// the errors themselves (errors.Is, Error()) for machines and logs.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	var (
		ie  *inputError
		ex  *limits.ExceededError
		img *limits.ImageTooLargeError
		fe  *credential.FormatError
		pe  *credential.ProofError
		lfe *license.FieldError
		sve *seal.CheckError
		lv  *LiveCodeInput
	)
	switch {
	case errors.As(err, &ie):
		return sentinelZh(ie.sentinel) + "：" + ie.zh
	case errors.As(err, &ex):
		return ex.Message
	case errors.As(err, &img):
		return img.Message()
	case errors.As(err, &lv):
		return "这是手机上的动态亮证码（ZZL1:），只能在线核验"
	case errors.As(err, &fe):
		return formatZh(fe)
	case errors.As(err, &pe):
		return proofZh(pe)
	case errors.As(err, &sve):
		return "电子印章检查「" + sealCheckZh(sve.Check) + "」不通过：" + sentinelZh(sve.Err)
	case errors.As(err, &lfe) && zhtext.Check(lfe.Message) == nil:
		return lfe.Message
	}
	if s := sentinelZh(err); s != "" {
		return s
	}
	if zhtext.Check(err.Error()) == nil {
		return err.Error()
	}
	return "无法读取（技术细节：见 JSON 结果的 detail）"
}

// sentinelZh is the Chinese of a known sentinel error in err's chain, or
// "".
func sentinelZh(err error) string {
	for _, s := range []struct {
		err error
		zh  string
	}{
		{ErrNotLicensePDF, "不是本平台的证照 PDF"},
		{ErrTooLarge, "PDF 超过大小上限"},
		{ErrNoQRCode, "图片中找不到可读的二维码"},
		{ErrLiveCode, "这是手机上的动态亮证码（ZZL1:），只能在线核验"},
		{ErrBundleSignature, "信任包的签名验证不通过"},
		{ErrUntrustedRoot, "信任包不是固定的平台根证书签发的"},
		{ErrNoTrustAnchor, "没有固定平台根证书：请用 --root-fingerprint 固定根证书指纹"},
		{ErrBundle, "信任包格式错误或内容不一致"},
		{tlog.ErrProof, "默克尔证明不成立：回执与账本日志不符"},
		{tlog.ErrUnknownKey, "检查点不是账本日志密钥签名的"},
		{tlog.ErrBadSignature, "检查点的签名验证不通过"},
		{tlog.ErrWrongOrigin, "检查点属于另一个账本日志"},
		{tlog.ErrMalformed, "检查点格式错误"},
		{tlog.ErrRange, "日志序号或树大小超出范围"},
		{ledger.ErrUnavailable, "账本服务暂时无法访问"},
		{ledger.ErrNotFound, "账本上没有记录"},
		{ledger.ErrCorrupt, "账本日志已损坏"},
		{ledger.ErrRollback, "账本日志被回滚"},
		{credential.ErrStatusListExpired, "状态列表已过期"},
		{credential.ErrStatusListNotYetValid, "状态列表尚未生效"},
		{credential.ErrProof, "数字签名验证不通过"},
		{credential.ErrFormat, "格式错误"},
		{seal.ErrSealMaker, "印章不是可信的制章者（平台）制作的"},
		{seal.ErrSealValidity, "签章时间不在印章有效期内"},
		{seal.ErrSignerNotListed, "签章人证书不在印章的证书列表中"},
		{seal.ErrBadSignature, "签章的 SM2 签名验证不通过"},
		{seal.ErrDataHash, "签章所签的摘要与证照凭证不符：凭证被改动"},
		{seal.ErrMalformed, "签章数据格式错误"},
		{seal.ErrUnsupported, "签章使用了不支持的算法或结构"},
		{seal.ErrInvalidInput, "签章数据无效"},
		{signing.ErrCertificate, "证书无效"},
		{signing.ErrBadSignature, "签名验证不通过"},
		{signing.ErrNotSM2, "不是 SM2 密钥"},
		{context.DeadlineExceeded, "超时"},
		{context.Canceled, "已取消"},
	} {
		if errors.Is(err, s.err) {
			return s.zh
		}
	}
	return ""
}

// ruleZh are credential.FormatError rules in Chinese.
var ruleZh = map[string]string{
	credential.RuleSize:      "超过大小上限",
	credential.RuleSyntax:    "不是合法的 JSON",
	credential.RuleTrailing:  "JSON 对象之后还有多余的内容",
	credential.RuleDuplicate: "同一成员名出现了两次",
	credential.RuleDepth:     "嵌套层数过多",
	credential.RuleEncoding:  "含无效的 UTF-8 编码",
	credential.RuleNumber:    "数字超出范围",
	credential.RuleType:      "值的类型不对",
	credential.RuleRequired:  "缺少必填项",
	credential.RuleValue:     "取值不允许",
	credential.RuleDate:      "日期或时间格式不对",
}

func formatZh(fe *credential.FormatError) string {
	var lfe *license.FieldError
	if errors.As(fe.Err, &lfe) && zhtext.Check(lfe.Message) == nil {
		return lfe.Message
	}
	where := "整份文件"
	if fe.Field != "" {
		where = "成员 " + fe.Field
	}
	rule, ok := ruleZh[fe.Rule]
	if !ok {
		rule = "不符合凭证格式"
	}
	if fe.Rule == credential.RuleValue || fe.Rule == credential.RuleType {
		// The English detail often says what was wanted; a code in it
		// ("want sm2-jcs-2026") is worth showing.
		if w, ok := strings.CutPrefix(fe.Detail, "want "); ok && len(zhtext.English(w)) == 0 {
			return where + rule + "，应为 " + w
		}
	}
	return where + rule
}

// proofReasonZh are credential.ProofError reasons in Chinese.
var proofReasonZh = map[string]string{
	credential.ReasonMissing:            "凭证没有数字签名",
	credential.ReasonType:               "签名类型不是 DataIntegrityProof",
	credential.ReasonCryptosuite:        "签名算法套件不是 sm2-jcs-2026",
	credential.ReasonPurpose:            "签名用途不是 assertionMethod",
	credential.ReasonVerificationMethod: "缺少签名方法标识",
	credential.ReasonEncoding:           "签名值不是 z 开头的 base58btc 编码的 64 字节",
	credential.ReasonSignature:          "SM2 签名验证不通过：内容被改动，或由其他密钥签名",
}

func proofZh(pe *credential.ProofError) string {
	if s, ok := proofReasonZh[pe.Reason]; ok {
		return s
	}
	return "数字签名不合格"
}

// sealCheckZh names a seal check in Chinese.
func sealCheckZh(check string) string {
	switch check {
	case seal.CheckSealMaker:
		return "制章者"
	case seal.CheckSealValidity:
		return "印章有效期"
	case seal.CheckSignerListed:
		return "签章人证书"
	case seal.CheckSignature:
		return "签章签名"
	case seal.CheckDataHash:
		return "文档摘要"
	}
	return check
}
