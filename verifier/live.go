package verifier

import (
	"strings"

	"zhengzhao/credential"
)

// verifyLive answers a live code (亮证码): it carries no credential and is
// signed by the platform, not the department, so nothing here can check it.
// The result is never valid; InputErr carries the code for the platform to
// check online.
func (v *run) verifyLive(code string) {
	v.r.Form = FormLive
	v.r.InputErr = &LiveCodeInput{Code: code}
	v.add(NameFormat, fail("这是手机上的动态亮证码（ZZL1:），只能在线核验：请在窗口核验页或 POST /api/v1/verify 核验，或请持证人出示证照 PDF 上的 ZZ1: 二维码离线核验"))
	v.skipRest("未检查：亮证码只能在线核验")
}

// isLive reports whether a QR code's text is a live code.
func isLive(s string) bool { return strings.HasPrefix(s, credential.LivePrefix) }
