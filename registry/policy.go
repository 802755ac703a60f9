package registry

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"zhengzhao/license"
)

// Policy limits.
const (
	// MinPasswordChars is the shortest account password, in characters.
	MinPasswordChars = 12
	// MaxPasswordBytes is the longest account password, in bytes.
	MaxPasswordBytes = 200
)

// CheckPassword says whether password may be the password of user: at
// least MinPasswordChars characters, at most MaxPasswordBytes bytes, valid UTF-8, not the
// user name and not one of the most common passwords. It returns nil or a
// *license.FieldError on "password" whose Rule names what failed.
//
// A minimal policy written with the account work; the full one (a shipped
// list of common passwords) replaces it.
func CheckPassword(user, password string) *license.FieldError {
	bad := func(rule, msg string) *license.FieldError {
		return &license.FieldError{Field: "password", Rule: rule, Message: msg}
	}
	switch {
	case !utf8.ValidString(password):
		return bad("charset", "password: not valid UTF-8")
	case utf8.RuneCountInString(password) < MinPasswordChars || len(password) > MaxPasswordBytes:
		return bad("length", fmt.Sprintf("password: at least %d characters, at most %d bytes", MinPasswordChars, MaxPasswordBytes))
	case strings.TrimSpace(password) == "" || strings.Count(password, string([]rune(password)[:1])) == utf8.RuneCountInString(password):
		return bad("pattern", "password: must not be one character repeated")
	case user != "" && strings.EqualFold(strings.TrimSpace(password), strings.TrimSpace(user)):
		return bad("mismatch", "password: must not be the user name")
	case commonPasswords[strings.ToLower(password)]:
		return bad("common", "password: one of the most common passwords")
	}
	return nil
}

// commonPasswords of 12 characters or more, from the public top lists.
var commonPasswords = map[string]bool{
	"123456789012": true, "1234567890123": true, "12345678910": true, "123456789abc": true,
	"qwertyuiopas": true, "qwertyuiop123": true, "qwerty123456": true, "password1234": true,
	"password123456": true, "passwordpassword": true, "iloveyou1234": true, "abc123456789": true,
	"1qaz2wsx3edc": true, "1q2w3e4r5t6y": true, "q1w2e3r4t5y6": true, "aaaaaa123456": true,
	"woaini1314520": true, "woaini520520": true, "a123456789012": true, "admin1234567": true,
	"administrator": true, "welcome12345": true, "letmein12345": true, "zxcvbnm12345": true,
}
