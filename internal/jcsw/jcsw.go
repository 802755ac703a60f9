// Package jcsw writes RFC 8785 (JCS) JSON directly for the plain values
// whose canonical form is plain, so that a struct whose members are known
// can be written canonically without an encoding/json pass and a JCS
// transform. The caller writes member names in JCS order (for ASCII names,
// byte order) and checks Writer.OK: a value the writer does not write the
// way encoding/json followed by JCS would (a string that is not valid
// UTF-8, an integer beyond ±2^53, a time outside years 0–9999 or not in
// UTC) turns OK false, and the caller then takes the general path. Each
// user keeps a test holding its direct writer to the general path.
package jcsw

import (
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"
)

// MaxExactInt is the largest integer JCS writes back unchanged: every
// integer up to 2^53 is exactly a float64.
const MaxExactInt = 1 << 53

// Writer appends canonical JSON to B; OK turns false at the first value it
// does not write itself (B is then to be discarded).
type Writer struct {
	B  []byte
	OK bool
}

// New returns a Writer appending to buf.
func New(buf []byte) Writer { return Writer{B: buf, OK: true} }

// Raw appends s as it is: punctuation and member names.
func (w *Writer) Raw(s string) { w.B = append(w.B, s...) }

const hexDigits = "0123456789abcdef"

// Str writes s as a JCS string: '"' and '\\' escaped, \b \t \n \f \r, the
// other controls below U+0020 as \u00xx, everything else (Chinese text,
// '<', '/', U+2028 …) as the UTF-8 it is.
func (w *Writer) Str(s string) {
	if !utf8.ValidString(s) {
		w.OK = false
		return
	}
	w.B = append(w.B, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.B = append(w.B, s[start:i]...)
		start = i + 1
		switch c {
		case '"', '\\':
			w.B = append(w.B, '\\', c)
		case '\b':
			w.B = append(w.B, '\\', 'b')
		case '\t':
			w.B = append(w.B, '\\', 't')
		case '\n':
			w.B = append(w.B, '\\', 'n')
		case '\f':
			w.B = append(w.B, '\\', 'f')
		case '\r':
			w.B = append(w.B, '\\', 'r')
		default:
			w.B = append(w.B, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	w.B = append(w.B, s[start:]...)
	w.B = append(w.B, '"')
}

// Bytes writes p as encoding/json does: standard base64, nil as null.
func (w *Writer) Bytes(p []byte) {
	if p == nil {
		w.B = append(w.B, "null"...)
		return
	}
	w.B = append(w.B, '"')
	w.B = base64.StdEncoding.AppendEncode(w.B, p)
	w.B = append(w.B, '"')
}

// Int writes n in decimal, as JCS rewrites a number holding an integer
// below 2^53.
func (w *Writer) Int(n int64) {
	if n > MaxExactInt || n < -MaxExactInt {
		w.OK = false
		return
	}
	w.B = strconv.AppendInt(w.B, n, 10)
}

// Uint is Int for an unsigned integer.
func (w *Writer) Uint(n uint64) {
	if n > MaxExactInt {
		w.OK = false
		return
	}
	w.B = strconv.AppendUint(w.B, n, 10)
}

// Time writes t as time.Time.MarshalJSON does (RFC 3339 with the
// nanoseconds it has); t must be in UTC and in years 0–9999.
func (w *Writer) Time(t time.Time) {
	if y := t.Year(); y < 0 || y > 9999 || t.Location() != time.UTC {
		w.OK = false
		return
	}
	w.B = append(w.B, '"')
	w.B = t.AppendFormat(w.B, time.RFC3339Nano)
	w.B = append(w.B, '"')
}
