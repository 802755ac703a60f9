package registry

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"zhengzhao/license"
)

// The password and key-passphrase policy: pure functions, no store, so the
// account code, the admin CLI and `init` call the same rules.

// Policy limits.
const (
	// MinPasswordChars is the shortest account password, in characters.
	MinPasswordChars = 12
	// MaxPasswordBytes is the longest account password, in bytes.
	MaxPasswordBytes = 200
	// MinKeyPassphraseChars is the shortest passphrase that encrypts the
	// platform's and the departments' private keys, in characters.
	MinKeyPassphraseChars = 12
	// minDistinctChars: a secret made of fewer different characters
	// ("aaaaaaaaaaaa", twelve spaces, "abababababab") is refused.
	minDistinctChars = 5
)

// commonPasswordList is Openwall's password.lst (Solar Designer, 1996–2011,
// public domain, as shipped in Debian's john-data 1.9.0-2) lower-cased and
// deduplicated, followed by common Chinese-site passwords (pinyin,
// 5201314 and its kin, keyboard walks). About 3,500 entries.
//
//go:embed commonpasswords.txt
var commonPasswordList string

var commonPasswords = func() map[string]struct{} {
	m := make(map[string]struct{}, 4096)
	for line := range strings.Lines(commonPasswordList) {
		if w := strings.TrimSpace(line); w != "" {
			m[w] = struct{}{}
		}
	}
	return m
}()

// keyboardWalks are strings whose runs make weak secrets: the alphabet, the
// digits and keyboard rows and columns, each also read backwards.
var keyboardWalks = func() []string {
	base := []string{
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
		"01234567890123456789012345678901234567890",
		"qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
		"qwertyuiop[]\\asdfghjkl;'zxcvbnm,./",
		"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/-['=]",
		"qazwsxedcrfvtgbyhnujmikolp",
		"!@#$%^&*()_+!@#$%^&*()_+",
	}
	out := append([]string(nil), base...)
	for _, s := range base {
		r := []rune(s)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		out = append(out, string(r))
	}
	return out
}()

// CheckPassword applies the account password policy: at least
// MinPasswordChars characters and at most MaxPasswordBytes bytes; text a
// person can type (license.CheckText); not the user name, not containing
// it and not it reversed; at least 5 different characters; not a keyboard
// walk or sequence; and not a common password, also after lower-casing,
// undoing l33t spellings and stripping digits and symbols around a common
// word ("Password2024!") or repeating one ("passwordpassword"). It returns
// nil or a *license.FieldError for field "password" whose Rule is "length",
// a CheckText rule, "username", "simple", "sequence" or "common". The
// message never repeats the password.
func CheckPassword(username, password string) *license.FieldError {
	const field = "password"
	if n := utf8.RuneCountInString(password); n < MinPasswordChars || len(password) > MaxPasswordBytes {
		return &license.FieldError{Field: field, Rule: "length",
			Message: fmt.Sprintf("密码至少 %d 个字符，最多 %d 字节", MinPasswordChars, MaxPasswordBytes)}
	}
	if fe := license.CheckText(field, password, false); fe != nil {
		return fe
	}
	if u := strings.ToLower(strings.TrimSpace(username)); u != "" {
		p := strings.ToLower(password)
		if p == u || reverse(p) == u || (utf8.RuneCountInString(u) >= 3 && strings.Contains(p, u)) {
			return &license.FieldError{Field: field, Rule: "username", Message: "密码不能是用户名，也不能包含用户名"}
		}
	}
	return weakSecret(field, password)
}

// CheckKeyPassphrase applies the key-passphrase policy to the passphrase
// that encrypts private keys at rest: at least MinKeyPassphraseChars
// characters (bytes, when it is not UTF-8 text, such as random bytes from a
// file), at least 5 different characters, and not a keyboard walk or a
// common password. It returns nil or a *license.FieldError for field
// "passphrase" with Rule "length", "simple", "sequence" or "common".
func CheckKeyPassphrase(passphrase []byte) *license.FieldError {
	const field = "passphrase"
	n := len(passphrase)
	if utf8.Valid(passphrase) {
		n = utf8.RuneCount(passphrase)
	}
	if n < MinKeyPassphraseChars {
		return &license.FieldError{Field: field, Rule: "length",
			Message: fmt.Sprintf("密钥口令至少 %d 个字符", MinKeyPassphraseChars)}
	}
	if !utf8.Valid(passphrase) {
		return distinctBytes(field, passphrase)
	}
	return weakSecret(field, string(passphrase))
}

func distinctBytes(field string, b []byte) *license.FieldError {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c], n = true, n+1
		}
	}
	if n < minDistinctChars {
		return &license.FieldError{Field: field, Rule: "simple", Message: fmt.Sprintf("过于简单：至少要用 %d 个不同的字符", minDistinctChars)}
	}
	return nil
}

// weakSecret holds the rules passwords and key passphrases share.
func weakSecret(field, secret string) *license.FieldError {
	distinct := map[rune]bool{}
	for _, r := range secret {
		distinct[r] = true
	}
	if len(distinct) < minDistinctChars {
		return &license.FieldError{Field: field, Rule: "simple", Message: fmt.Sprintf("过于简单：至少要用 %d 个不同的字符", minDistinctChars)}
	}
	lower := strings.ToLower(secret)
	for _, w := range keyboardWalks {
		if strings.Contains(w, lower) {
			return &license.FieldError{Field: field, Rule: "sequence", Message: "过于简单：不能是键盘上或字母、数字的连续排列"}
		}
	}
	for _, cand := range []string{lower, unleet(lower)} {
		if isCommon(cand) {
			return &license.FieldError{Field: field, Rule: "common", Message: "是常见密码（或只在常见密码前后加了数字、符号），请换一个"}
		}
	}
	return nil
}

// isCommon reports whether s is a common password, one framed by digits and
// symbols, or one repeated.
func isCommon(s string) bool {
	if _, ok := commonPasswords[s]; ok {
		return true
	}
	core := strings.TrimFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	if utf8.RuneCountInString(core) >= 4 {
		if _, ok := commonPasswords[core]; ok {
			return true
		}
	}
	// A repeated unit: "passwordpassword", "qwe123qwe123qwe123".
	for size := 1; size <= len(s)/2; size++ {
		if len(s)%size == 0 && strings.Repeat(s[:size], len(s)/size) == s {
			_, ok := commonPasswords[s[:size]]
			return ok || size <= 6
		}
	}
	return false
}

// unleet undoes the usual letter-for-symbol spellings: p@ssw0rd → password.
var unleet = strings.NewReplacer("@", "a", "4", "a", "3", "e", "0", "o", "1", "i", "!", "i", "$", "s", "5", "s", "7", "t", "+", "t").Replace

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}
