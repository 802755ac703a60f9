package zhtext

import (
	"slices"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		s       string
		english []string // nil: Chinese, passes
		noHan   bool
	}{
		{s: "SM2 签名用密钥 3f2a9c0d11aa22bb 验证通过"},
		{s: "电子证照标识不符合 GB/T 36904：版本段须为 3 位数字"},
		{s: "签发机构标识 \"x\" 不是 urn:uscc:<统一社会信用代码>"},
		{s: "请在窗口核验页或 POST /api/v1/verify 核验，或出示 ZZ1: 二维码"},
		{s: "有效期起始 \"x\" 不是 RFC 3339 时间"},
		{s: "证照 1.2.156.3005.2.11100000000013338W001.91430104MA4L3B5K26.20240000001.002.K 已变更"},
		{s: "文件 wallet-2026.zip 超过 10 MiB 的上限"},
		{s: "新版本类型必须是 change（变更）或 renewal（延续）"},
		{s: "SM2 signature verifies with key 3f2a", english: []string{"signature verifies with key"}},
		{s: "校验位错误：unified social credit code check character is 7", english: []string{"unified social credit code check character is"}},
		{s: "必填：purpose (用证事由) is required", english: []string{"is required"}},
		{s: "不是电子证照凭证：json: cannot unmarshal string into Go value", english: []string{"json: cannot unmarshal string into Go value"}},
		{s: "revoked on the ledger as of 2026-01-01", english: []string{"revoked on the ledger as of"}, noHan: true},
		{s: "Request Entity Too Large", english: []string{"Request Entity Too Large"}, noHan: true},
		{s: "unexpected EOF", noHan: true},
	}
	for _, tt := range tests {
		got := English(tt.s)
		if !slices.Equal(got, tt.english) {
			t.Errorf("English(%q) = %q, want %q", tt.s, got, tt.english)
		}
		err := Check(tt.s)
		if (err == nil) != (tt.english == nil && !tt.noHan) {
			t.Errorf("Check(%q) = %v", tt.s, err)
		}
	}
	if Check("  ") == nil {
		t.Error("Check accepts an empty message")
	}
}
