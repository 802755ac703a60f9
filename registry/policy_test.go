package registry

import (
	"strings"
	"testing"
)

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name, user, password string
		rule                 string // "" = accepted
	}{
		{"long random", "clerk1", "vT7#qm2Lx9!cRw", ""},
		{"passphrase of words", "clerk1", "丝绸之路 驼铃 沙漠绿洲", ""},
		{"four words", "clerk1", "correct horse battery staple", ""},
		{"the demo's kind", "clerk1", "k7mfq2vx9hcp3r", ""},
		{"eleven characters", "clerk1", "vT7#qm2Lx9!", "length"},
		{"ten a's", "clerk1", "aaaaaaaaaa", "length"},
		{"twelve a's", "clerk1", "aaaaaaaaaaaa", "simple"},
		{"twelve spaces", "clerk1", "            ", "simple"},
		{"alternating", "clerk1", "abababababab", "simple"},
		{"too long", "clerk1", strings.Repeat("vT7#qm2Lx9!c", 20), "length"},
		{"is the user name", "wang.wei.2026", "Wang.Wei.2026", "username"},
		{"contains the user name", "clerk1", "myclerk1password", "username"},
		{"user name reversed", "zhangsan12345", "54321nasgnahz", "username"},
		{"NUL", "clerk1", "vT7#qm2Lx9!c\x00", "control"},
		{"zero-width space", "clerk1", "vT7#qm2Lx9!c\u200b", "invisible"},
		{"digits run", "clerk1", "123456789012", "sequence"},
		{"keyboard row", "clerk1", "qwertyuiopas", "sequence"},
		{"keyboard row capitals", "clerk1", "QWERTYUIOPAS", "sequence"},
		{"keyboard columns", "clerk1", "1qaz2wsx3edc", "sequence"},
		{"alphabet backwards", "clerk1", "zyxwvutsrqpo", "sequence"},
		{"common and long", "clerk1", "1q2w3e4r5t6y", "common"},
		{"common pinyin", "clerk1", "woaini5201314", "common"},
		{"common with a year", "clerk1", "Password2024!", "common"},
		{"l33t common", "clerk1", "P@ssw0rd12345", "common"},
		{"common with digits before", "clerk1", "2024iloveyou", "common"},
		{"common repeated", "clerk1", "dragondragon", "common"},
		{"short unit repeated", "clerk1", "a1b2c3a1b2c3", "common"},
		{"project name", "clerk1", "Zhengzhao2026", "common"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := CheckPassword(tt.user, tt.password)
			switch {
			case tt.rule == "" && fe != nil:
				t.Fatalf("refused: %v", fe)
			case tt.rule != "" && fe == nil:
				t.Fatalf("accepted, want rule %q", tt.rule)
			case fe != nil && (fe.Field != "password" || fe.Rule != tt.rule):
				t.Fatalf("got %s/%s (%v), want password/%s", fe.Field, fe.Rule, fe, tt.rule)
			case fe != nil && strings.Contains(fe.Message, tt.password):
				t.Fatalf("message repeats the password: %q", fe.Message)
			}
		})
	}
}

func TestCheckKeyPassphrase(t *testing.T) {
	tests := []struct {
		name       string
		passphrase []byte
		rule       string
	}{
		{"one character", []byte("x"), "length"},
		{"the demo's", []byte("demo-only"), "length"},
		{"twelve sevens", []byte("777777777777"), "simple"},
		{"common", []byte("password1234"), "common"},
		{"walk", []byte("asdfghjkl;'z"), "sequence"},
		{"random bytes", []byte{0x00, 0xff, 0x10, 0x80, 0x7f, 0x01, 0xfe, 0x33, 0x44, 0x91, 0xc0, 0xee, 0x02, 0x55, 0x66, 0xab}, ""},
		{"random bytes, few values", []byte{0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe}, "simple"},
		{"test suite's", []byte("test-passphrase"), ""},
		{"Chinese sentence", []byte("证照平台的钥匙口令不要外传"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := CheckKeyPassphrase(tt.passphrase)
			switch {
			case tt.rule == "" && fe != nil:
				t.Fatalf("refused: %v", fe)
			case tt.rule != "" && fe == nil:
				t.Fatalf("accepted, want rule %q", tt.rule)
			case fe != nil && (fe.Field != "passphrase" || fe.Rule != tt.rule):
				t.Fatalf("got %s/%s (%v), want passphrase/%s", fe.Field, fe.Rule, fe, tt.rule)
			}
		})
	}
}

func TestCommonPasswordListShipped(t *testing.T) {
	if n := len(commonPasswords); n < 3000 {
		t.Fatalf("the embedded list holds %d passwords, want the full list (about 3,500)", n)
	}
	for _, w := range []string{"123456", "password", "iloveyou", "5201314", "qwe123qwe123"} {
		if _, ok := commonPasswords[w]; !ok {
			t.Errorf("%q is not in the list", w)
		}
	}
}

func BenchmarkCheckPassword(b *testing.B) {
	for b.Loop() {
		CheckPassword("clerk1", "vT7#qm2Lx9!cRw-long-enough")
	}
}
