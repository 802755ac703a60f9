package license

import (
	"fmt"
	"time"
)

// usccAlphabet is the GB 32100-2015 code alphabet: digits and the capital
// letters without I, O, Z, S and V.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights are 3^(i-1) mod 31 for i = 1..17.
var usccWeights = func() [17]int {
	var w [17]int
	p := 1
	for i := range w {
		w[i] = p
		p = p * 3 % 31
	}
	return w
}()

// ValidateUSCC checks a unified social credit code (统一社会信用代码,
// GB 32100-2015): 18 characters over 0-9 and the capital letters without
// I, O, Z, S, V, whose last character is the check character
// (31 - Σ(value × 3^(i-1) mod 31) mod 31) mod 31. The registration-authority
// and organization-category characters are checked only against the
// alphabet. Failures are a *FieldError with Field "uscc" and Rule "length",
// "charset" or "check".
func ValidateUSCC(s string) error {
	const field = "uscc"
	if len(s) != 18 {
		return fieldErr(field, "length", fmt.Sprintf("统一社会信用代码须为 18 位，输入的是 %d 位", len(s)))
	}
	for i := 0; i < 18; i++ {
		if usccValues[s[i]] < 0 {
			return fieldErr(field, "charset", fmt.Sprintf("统一社会信用代码第 %d 位不是数字或大写字母（不含 I、O、S、V、Z）", i+1))
		}
	}
	if want := usccCheck(s[:17]); s[17] != want {
		return fieldErr(field, "check", fmt.Sprintf("统一社会信用代码的校验位是 %c，按 GB 32100 计算应为 %c，请核对代码", s[17], want))
	}
	return nil
}

// usccCheck returns the check character for the first 17 characters of a
// USCC; body must already be over usccAlphabet.
func usccCheck(body string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(usccValues[body[i]]) * usccWeights[i]
	}
	return usccAlphabet[(31-sum%31)%31]
}

// usccValues maps a character of usccAlphabet to its value, others to -1.
var usccValues = charValues(usccAlphabet)

// charValues maps each character of alphabet to its position in it, and
// every other byte to -1: check characters are computed by table lookups.
func charValues(alphabet string) (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := range len(alphabet) {
		v[alphabet[i]] = int8(i)
	}
	return v
}

// citizenIDWeights are the GB 11643-1999 MOD 11-2 weights.
var citizenIDWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// citizenIDChecks maps Σ mod 11 to the check character.
const citizenIDChecks = "10X98765432"

// ValidateCitizenID checks an 18-character citizen identity number
// (公民身份号码, GB 11643-1999): 17 digits and a digit or capital X; a
// 6-digit address code not starting with 0; a birth date YYYYMMDD that is a
// real calendar date in or after 1900; and the ISO 7064 MOD 11-2 check
// character. Failures are a *FieldError with Field "citizenID" and Rule
// "length", "charset", "area", "date" or "check". Messages never repeat the
// number.
func ValidateCitizenID(s string) error {
	const field = "citizenID"
	if len(s) != 18 {
		return fieldErr(field, "length", fmt.Sprintf("公民身份号码须为 18 位，输入的是 %d 位", len(s)))
	}
	for i := 0; i < 17; i++ {
		if !isDigit(s[i]) {
			return fieldErr(field, "charset", fmt.Sprintf("公民身份号码第 %d 位须为数字", i+1))
		}
	}
	if !isDigit(s[17]) && s[17] != 'X' {
		return fieldErr(field, "charset", "公民身份号码最后一位（校验位）须为数字或大写 X")
	}
	if s[0] == '0' {
		return fieldErr(field, "area", "公民身份号码的地址码不能以 0 开头")
	}
	if !realDate(s[6:10], s[10:12], s[12:14]) {
		return fieldErr(field, "date", "公民身份号码第 7–14 位（出生日期）须为 1900 年以后的真实日期")
	}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(s[i]-'0') * citizenIDWeights[i]
	}
	if s[17] != citizenIDChecks[sum%11] {
		return fieldErr(field, "check", "公民身份号码校验位不符（GB 11643 MOD 11-2），请核对号码")
	}
	return nil
}

// ValidateCitizenIDAt is ValidateCitizenID plus one rule that needs a
// clock: the birth date is not after today (in China Standard Time) at now.
func ValidateCitizenIDAt(s string, now time.Time) error {
	if err := ValidateCitizenID(s); err != nil {
		return err
	}
	if birth, today := s[6:14], now.In(ChinaTime).Format("20060102"); birth > today {
		return fieldErr("citizenID", "date", "公民身份号码第 7–14 位的出生日期晚于今天")
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// realDate reports whether the 4-, 2- and 2-digit strings form a real
// Gregorian date with the year in 1900..9999.
func realDate(year, month, day string) bool {
	if len(year) != 4 || len(month) != 2 || len(day) != 2 || !allDigits(year+month+day) {
		return false
	}
	y := atoi(year)
	m := atoi(month)
	d := atoi(day)
	if y < 1900 || m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= daysIn(y, m)
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseDate checks an ISO date YYYY-MM-DD (year 1900..9999, a real date)
// and returns it as a comparable YYYYMMDD string.
func parseDate(s string) (string, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return "", false
	}
	if !realDate(s[0:4], s[5:7], s[8:10]) {
		return "", false
	}
	return s[0:4] + s[5:7] + s[8:10], true
}

// CompleteCitizenID appends the GB 11643 MOD 11-2 check character to the
// first 17 digits of a citizen identity number.
func CompleteCitizenID(body17 string) (string, error) {
	if len(body17) != 17 {
		return "", fieldErr("citizenID", "length", fmt.Sprintf("不含校验位的公民身份号码须为 17 位，输入的是 %d 位", len(body17)))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		if !isDigit(body17[i]) {
			return "", fieldErr("citizenID", "charset", fmt.Sprintf("公民身份号码第 %d 位须为数字", i+1))
		}
		sum += int(body17[i]-'0') * citizenIDWeights[i]
	}
	return body17 + string(citizenIDChecks[sum%11]), nil
}

// CompleteUSCC appends the GB 32100 check character to the first 17
// characters of a unified social credit code.
func CompleteUSCC(body17 string) (string, error) {
	if len(body17) != 17 {
		return "", fieldErr("uscc", "length", fmt.Sprintf("不含校验位的统一社会信用代码须为 17 位，输入的是 %d 位", len(body17)))
	}
	for i := 0; i < 17; i++ {
		if usccValues[body17[i]] < 0 {
			return "", fieldErr("uscc", "charset", fmt.Sprintf("统一社会信用代码第 %d 位不是数字或大写字母（不含 I、O、S、V、Z）", i+1))
		}
	}
	return body17 + string(usccCheck(body17)), nil
}
