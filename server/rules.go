package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v5"

	"zhengzhao/license"
)

// The web and input rules of issue 13: redirects stay on this site,
// downloads are named the RFC 6266 way, aborted requests are not server
// errors, and JSON bodies are strict about their text.

// safeNext keeps a redirect target on this site: an absolute path with an
// optional query, nothing a browser could read as another host. Browsers
// drop tabs and newlines inside a URL and read a backslash as a slash, so
// "/\t/evil.example/" and "/\evil.example" lead off-site as surely as
// "//evil.example" does; any such character, anything that is not printable
// ASCII, a scheme or a host makes the target "" (the role's home page).
func safeNext(n string) string {
	if n == "" || len(n) > 2048 || n[0] != '/' {
		return ""
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return ""
		}
	}
	if len(n) > 1 && n[1] == '/' {
		return ""
	}
	u, err := url.Parse(n)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	// Once more after percent-decoding, for a server or proxy in front
	// that decodes the path before redirecting on: "/%2F%2Fevil", "/%5Cevil".
	if strings.HasPrefix(u.Path, "//") || strings.ContainsFunc(u.Path, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' }) {
		return ""
	}
	return n
}

// setFilename sets Content-Disposition the RFC 6266 way: the name as UTF-8
// in filename* (RFC 8187 percent-encoding) and an ASCII stand-in in filename
// for old clients. Nothing of the name goes into the header raw, so a quote,
// a semicolon or a line break in a license number cannot add a parameter or
// a header. disposition is "attachment" or "inline".
func setFilename(c *echo.Context, disposition, name string) {
	c.Response().Header().Set("Content-Disposition", contentDisposition(disposition, name))
}

func contentDisposition(disposition, name string) string {
	var fallback, encoded strings.Builder
	for _, r := range name {
		if r < 0x80 && (isAlnum(byte(r)) || strings.ContainsRune(".-_", r)) {
			fallback.WriteRune(r)
		} else {
			fallback.WriteByte('_')
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		// attr-char of RFC 8187, section 3.2.1.
		if isAlnum(c) || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			encoded.WriteByte(c)
		} else {
			fmt.Fprintf(&encoded, "%%%02X", c)
		}
	}
	return fmt.Sprintf(`%s; filename="%s"; filename*=UTF-8''%s`, disposition, fallback.String(), encoded.String())
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// errClientGone: the client closed the connection or stopped sending its
// body before the request was read or answered. It is logged as such, with
// the status 499 that proxies use for it, never as a server error.
var errClientGone = errors.New("client closed the connection")

// clientGone reports whether err (or the request's context) says the client
// went away: a cancelled request, a body cut short, a reset or broken pipe.
func clientGone(c *echo.Context, err error) bool {
	if errors.Is(err, errClientGone) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	return errors.Is(err, context.Canceled) && errors.Is(c.Request().Context().Err(), context.Canceled)
}

// bodyReadError marks an error reading the request body as errClientGone
// when the body was cut short (the client stopped sending or reset the
// connection); other errors, the body limit among them, stay as they are.
func bodyReadError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: reading the body: %w", errClientGone, err)
	}
	return err
}

// strictJSON checks what encoding/json lets by: every object member name
// appears once, the text is valid UTF-8 with no lone surrogate escapes, and
// every string passes license.CheckText (names and free text; a line feed
// is allowed, the record's own validation refuses it in single-line fields).
// Errors are 400s naming the member as "fields.address".
func strictJSON(body []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var se *jsontext.SyntacticError
		switch {
		case errors.As(err, &se) && errors.Is(err, jsontext.ErrDuplicateName):
			f := pointerField(se.JSONPointer)
			return &apiError{Status: http.StatusBadRequest, Code: "duplicate_key", Field: f,
				Message: fmt.Sprintf("JSON 对象中成员 %s 出现了不止一次", f)}
		case errors.As(err, &se) && !errors.Is(err, io.ErrUnexpectedEOF) && se.JSONPointer != "" && inString(body, se.ByteOffset):
			// Invalid UTF-8 or a lone surrogate or bad escape in a string.
			f := pointerField(se.JSONPointer)
			return &apiError{Status: http.StatusBadRequest, Code: "invalid_text", Field: f,
				Message: fmt.Sprintf("字段 %s 含无效的 UTF-8 编码或转义", f)}
		case err != nil:
			return nil // other syntax errors: encoding/json reports them with its offsets
		}
		if tok.Kind() != '"' {
			continue
		}
		field := pointerField(dec.StackPointer())
		if kind, n := dec.StackIndex(dec.StackDepth()); kind == '{' && n%2 == 1 {
			// A member name: the pointer already names it.
			if fe := license.CheckText(field, tok.String(), false); fe != nil {
				return fe
			}
			continue
		}
		if fe := license.CheckText(field, tok.String(), true); fe != nil {
			return fe
		}
	}
}

// inString reports whether the byte at off, where the decoder stopped, can
// only be inside a string: a backslash or a byte that is not ASCII.
func inString(body []byte, off int64) bool {
	return off >= 0 && off < int64(len(body)) && (body[off] == '\\' || body[off] >= 0x80)
}

// pointerField turns a JSON pointer ("/fields/address") into the field
// names errors use ("fields.address").
func pointerField(p jsontext.Pointer) string {
	var parts []string
	for tok := range p.Tokens() {
		parts = append(parts, tok)
	}
	return strings.Join(parts, ".")
}
