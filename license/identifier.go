package license

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// IdentifierPrefix is the OID arc every GB/T 36904 license identifier starts
// with, including the trailing dot.
const IdentifierPrefix = "1.2.156.3005.2."

// MaxSerialLen is the longest serial an identifier may carry.
const MaxSerialLen = 32

// maxIdentifierLen bounds the input before it is split; it is well above the
// longest valid identifier (94 bytes) so that an over-long segment is
// reported by name.
const maxIdentifierLen = 256

// mod3736Alphabet is the ISO/IEC 7064 MOD 37,36 character set.
const mod3736Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// Identifier is a GB/T 36904 electronic license identifier (电子证照标识):
//
//	1.2.156.3005.2.<type code 21>.<issuer USCC 18>.<serial>.<version 3>.<check>
//
// The check character is ISO/IEC 7064 MOD 37,36 over the type code, issuer
// USCC, serial and version concatenated without dots; the fixed OID prefix is
// not part of the checked string (the real example
// 1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U
// validates only that way).
type Identifier struct {
	// TypeCode is the 21-character license type code: the defining
	// authority's USCC followed by a 3-digit serial.
	TypeCode string
	// IssuerUSCC is the issuing department's unified social credit code.
	IssuerUSCC string
	// Serial is the issuer's number for this license: 1 to 32 digits or
	// capital letters.
	Serial string
	// Version is the 3-digit license version, such as "001".
	Version string
	// Check is the MOD 37,36 check character.
	Check byte
}

// NewIdentifier validates the parts and returns the identifier with its check
// character computed. Errors are *FieldError values as from ParseIdentifier.
func NewIdentifier(typeCode, issuerUSCC, serial, version string) (Identifier, error) {
	if err := validateIdentifierParts(typeCode, issuerUSCC, serial, version); err != nil {
		return Identifier{}, err
	}
	return Identifier{
		TypeCode:   typeCode,
		IssuerUSCC: issuerUSCC,
		Serial:     serial,
		Version:    version,
		Check:      mod3736Check(typeCode + issuerUSCC + serial + version),
	}, nil
}

// ParseIdentifier parses and fully validates an identifier string: the
// prefix, the segment count, each segment's length and characters, the USCC
// check of the issuer and of the type code's authority part, and the check
// character. Failures are a *FieldError whose Field is "identifier" or
// "identifier.<part>" with part one of prefix, typeCode, issuer, serial,
// version, check.
func ParseIdentifier(s string) (Identifier, error) {
	if len(s) > maxIdentifierLen {
		return Identifier{}, fieldErr("identifier", "length", fmt.Sprintf("电子证照标识有 %d 个字符，最多 %d 个", len(s), maxIdentifierLen))
	}
	rest, ok := strings.CutPrefix(s, IdentifierPrefix)
	if !ok {
		return Identifier{}, fieldErr("identifier.prefix", "prefix", "电子证照标识须以 "+IdentifierPrefix+" 开头")
	}
	// Five segments: four cut off by a dot, and the rest holding none.
	var parts [5]string
	n, more := 0, true
	for n < len(parts) && more {
		parts[n], rest, more = strings.Cut(rest, ".")
		n++
	}
	if n != 5 || more {
		got := strings.Count(s[len(IdentifierPrefix):], ".") + 1
		return Identifier{}, fieldErr("identifier", "format", fmt.Sprintf("电子证照标识前缀之后须有 5 段（类型代码、签发机构、序号、版本、校验位），以点分隔，实有 %d 段", got))
	}
	if err := validateIdentifierParts(parts[0], parts[1], parts[2], parts[3]); err != nil {
		return Identifier{}, err
	}
	check := parts[4]
	if len(check) != 1 || mod3736Values[check[0]] < 0 {
		return Identifier{}, fieldErr("identifier.check", "charset", "校验位须为一个数字或大写字母")
	}
	want := mod3736Check(parts[0], parts[1], parts[2], parts[3])
	if check[0] != want {
		return Identifier{}, fieldErr("identifier.check", "check", fmt.Sprintf("电子证照标识的校验位是 %c，按 ISO/IEC 7064 MOD 37,36 计算应为 %c", check[0], want))
	}
	return Identifier{TypeCode: parts[0], IssuerUSCC: parts[1], Serial: parts[2], Version: parts[3], Check: check[0]}, nil
}

// String returns the dotted identifier. It does not validate; use
// NewIdentifier or ParseIdentifier to obtain a valid Identifier.
func (id Identifier) String() string {
	return IdentifierPrefix + id.TypeCode + "." + id.IssuerUSCC + "." + id.Serial + "." + id.Version + "." + string(id.Check)
}

func validateIdentifierParts(typeCode, issuerUSCC, serial, version string) error {
	if err := validateTypeCode(typeCode); err != nil {
		return renamed(err, "identifier.typeCode")
	}
	if err := ValidateUSCC(issuerUSCC); err != nil {
		return renamed(err, "identifier.issuer")
	}
	if len(serial) < 1 || len(serial) > MaxSerialLen {
		return fieldErr("identifier.serial", "length", fmt.Sprintf("序号须为 1 至 %d 位，实有 %d 位", MaxSerialLen, len(serial)))
	}
	for i := 0; i < len(serial); i++ {
		c := serial[i]
		if !isDigit(c) && (c < 'A' || c > 'Z') {
			return fieldErr("identifier.serial", "charset", fmt.Sprintf("序号第 %d 位须为数字或大写字母", i+1))
		}
	}
	if len(version) != 3 || !allDigits(version) {
		return fieldErr("identifier.version", "pattern", "版本须为 3 位数字，如 001")
	}
	return nil
}

// validateTypeCode checks a 21-character license type code: a valid USCC of
// the defining authority followed by 3 digits. Errors have Field "typeCode".
func validateTypeCode(code string) error {
	if len(code) != 21 {
		return fieldErr("typeCode", "length", fmt.Sprintf("证照类型代码须为 21 位（定义机关统一社会信用代码加 3 位序号），实有 %d 位", len(code)))
	}
	if err := ValidateUSCC(code[:18]); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return fieldErr("typeCode", fe.Rule, "定义机关部分："+fe.Message)
		}
		return err
	}
	if !allDigits(code[18:]) {
		return fieldErr("typeCode", "charset", "证照类型代码须以 3 位数字序号结尾")
	}
	return nil
}

// mod3736Check computes the ISO/IEC 7064 MOD 37,36 (hybrid system) check
// character; s must be over mod3736Alphabet.
func mod3736Check(segments ...string) byte {
	const m = 36
	p := m
	for _, s := range segments {
		for i := 0; i < len(s); i++ {
			t := p + int(mod3736Values[s[i]]) // (p + v) mod 36, with 36 for 0
			if t > m {
				t -= m
			}
			if p = 2 * t; p > m { // 2t mod 37
				p -= m + 1
			}
		}
	}
	return mod3736Alphabet[(m+1-p)%m]
}

// mod3736Values maps a character of mod3736Alphabet to its value, others
// to -1.
var mod3736Values = charValues(mod3736Alphabet)

// Next returns the identifier of the license's next version: the same type,
// issuer and serial, the version segment plus one, a new check character.
// Version 999 has no next.
func (id Identifier) Next() (Identifier, error) {
	v, err := strconv.Atoi(id.Version)
	if err != nil || len(id.Version) != 3 {
		return Identifier{}, fieldErr("identifier.version", "pattern", "版本须为 3 位数字，如 001")
	}
	if v >= 999 {
		return Identifier{}, fieldErr("identifier.version", "range", "版本号已达 999，不能再制作新版本")
	}
	return NewIdentifier(id.TypeCode, id.IssuerUSCC, id.Serial, fmt.Sprintf("%03d", v+1))
}
