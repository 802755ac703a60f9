package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"zhengzhao/internal/limits"
	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

const actorKey = "zhengzhao.actor"

// require authenticates the bearer token and lets only the given roles through.
func (s *Server) require(roles ...registry.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			h := c.Request().Header.Get("Authorization")
			token, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				return fmt.Errorf("%w: missing bearer token", registry.ErrUnauthenticated)
			}
			a, err := s.reg.Authenticate(c.Request().Context(), strings.TrimSpace(token))
			if err != nil {
				return err
			}
			for _, r := range roles {
				if a.Role == r {
					c.Set(actorKey, a)
					return next(c)
				}
			}
			return fmt.Errorf("%w: role %q may not use this endpoint", registry.ErrForbidden, a.Role)
		}
	}
}

func actor(c *echo.Context) registry.Actor {
	a, _ := c.Get(actorKey).(registry.Actor)
	return a
}

func (s *Server) healthz(c *echo.Context) error {
	if _, err := s.ledger.Checkpoint(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "ledger unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) listTypes(c *echo.Context) error {
	return c.JSON(http.StatusOK, s.reg.Catalog().Types())
}

// typeExample answers a valid issue request for the type, to start from.
func (s *Server) typeExample(c *echo.Context) error {
	typ, ok := s.reg.Catalog().Type(c.Param("code"))
	if !ok {
		return fmt.Errorf("%w: license type %q", registry.ErrNotFound, c.Param("code"))
	}
	rec := typ.Example("", "")
	code := rec.HolderCode
	if typ.OneActive {
		// A holder may hold one license of this type: the example's holder
		// may hold it already, so the example names a made-up holder.
		code = exampleHolderCode(typ.HolderKind, code)
	}
	return c.JSON(http.StatusOK, registry.IssueRequest{
		TypeCode: typ.Code, Holder: rec.Holder, HolderCode: code, Jurisdiction: rec.Jurisdiction, Fields: rec.Fields,
	})
}

// exampleHolderCode is a random valid holder code of the kind, keeping the
// leading characters (region) of like.
func exampleHolderCode(kind license.HolderKind, like string) string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	if kind == license.HolderOrganization && len(like) == 18 {
		const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
		body := []byte(like[:8])
		for _, x := range b {
			body = append(body, alphabet[int(x)%len(alphabet)])
		}
		if code, err := license.CompleteUSCC(string(body)); err == nil {
			return code
		}
	}
	if kind == license.HolderCitizen && len(like) == 18 {
		body := []byte(like[:14]) // region and birth date
		for _, x := range b[:3] {
			body = append(body, '0'+x%10)
		}
		if code, err := license.CompleteCitizenID(string(body)); err == nil {
			return code
		}
	}
	return like
}

// licenseDocument is what issuing and GET answer: the credential with its
// ledger receipt (verifier.Document, the form `zhengzhao verify` reads) and
// the registry's view of its status.
type licenseDocument struct {
	verifier.Document
	ID           string                  `json:"id"`
	Status       license.Status          `json:"status"`
	StatusReason string                  `json:"status_reason,omitempty"`
	History      []registry.StatusRecord `json:"history,omitempty"`
	// Compact is the ZZ1: form printed as the license's QR code.
	Compact string `json:"compact,omitempty"`
	// Version is the identifier's version segment; SupersededBy the
	// version that replaced this one.
	Version      string `json:"version,omitempty"`
	SupersededBy string `json:"superseded_by,omitempty"`
}

func documentOf(l *registry.License) licenseDocument {
	rcpt := l.Receipt
	return licenseDocument{
		Document: verifier.Document{Credential: json.RawMessage(l.Credential), Receipt: &rcpt},
		ID:       l.Identifier, Status: l.Status, StatusReason: l.StatusReason, History: l.History, Compact: l.Compact,
		Version: l.Version, SupersededBy: l.SupersededBy,
	}
}

func (s *Server) issue(c *echo.Context) error {
	var req registry.IssueRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if k := c.Request().Header.Get("Idempotency-Key"); k != "" && req.RequestKey == "" {
		req.RequestKey = k
	}
	lic, err := s.reg.Issue(c.Request().Context(), actor(c), req)
	if err != nil {
		return err
	}
	s.metrics.issued.Inc()
	return c.JSON(http.StatusCreated, documentOf(lic))
}

func (s *Server) getLicense(c *echo.Context) error {
	lic, err := s.visibleLicense(c)
	if err != nil {
		return err
	}
	// A receipt against a checkpoint the current trust bundle proves.
	if err := s.reg.RefreshReceipt(c.Request().Context(), lic); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, documentOf(lic))
}

// visibleLicense is the license named in the path, if the caller may see it:
// an issuer sees only its own department's licenses; another department's
// is not found, exactly like an unknown one.
func (s *Server) visibleLicense(c *echo.Context) (*registry.License, error) {
	lic, err := s.reg.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	if a := actor(c); a.Role == registry.RoleIssuer && a.Department != lic.Department {
		// The same answer as for an unknown identifier: identifiers are
		// sequential, and a 403 would confirm that a license exists.
		return nil, fmt.Errorf("license %s: %w", c.Param("id"), registry.ErrNotFound)
	}
	return lic, nil
}

// licensePDF answers the license's PDF: its face with seal and QR code, the
// credential, receipt and seal signature attached.
func (s *Server) licensePDF(c *echo.Context) error {
	lic, err := s.visibleLicense(c)
	if err != nil {
		return err
	}
	pdf, err := s.reg.PDF(c.Request().Context(), lic.Identifier)
	if err != nil {
		return err
	}
	setFilename(c, "attachment", lic.Identifier+".pdf")
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

// qrSizes bound the ?size= of a QR code picture, in pixels.
const (
	defaultQRPixels = 512
	minQRPixels     = 128
	maxQRPixels     = 2048
)

// licenseQR answers the license's compact form as a QR code PNG.
func (s *Server) licenseQR(c *echo.Context) error {
	lic, err := s.visibleLicense(c)
	if err != nil {
		return err
	}
	px := defaultQRPixels
	if v := c.QueryParam("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < minQRPixels || n > maxQRPixels {
			return &license.FieldError{Field: "size", Rule: "range", Message: fmt.Sprintf("尺寸须为 %d 至 %d 之间的整数像素", minQRPixels, maxQRPixels)}
		}
		px = n
	}
	img, err := s.reg.QRCode(c.Request().Context(), lic.Identifier, px)
	if err != nil {
		return err
	}
	setFilename(c, "inline", lic.Identifier+".png")
	return c.Blob(http.StatusOK, "image/png", img)
}

// rotateKey gives a department a new signing key and a new seal listing it;
// licenses issued before stay valid.
func (s *Server) rotateKey(c *echo.Context) error {
	d, err := s.reg.RotateKey(c.Request().Context(), actor(c), c.Param("uscc"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, d)
}

// sealPicture answers the picture of a department's current seal. It is
// public, like the trust bundle that carries it: the picture proves
// nothing by itself; the seal's signature does.
func (s *Server) sealPicture(c *echo.Context) error {
	img, err := s.reg.SealPicture(c.Request().Context(), c.Param("uscc"))
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "image/png", img)
}

func (s *Server) setStatus(c *echo.Context) error {
	var req registry.StatusRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if _, err := s.visibleLicense(c); err != nil {
		return err
	}
	lic, err := s.reg.SetStatus(c.Request().Context(), actor(c), c.Param("id"), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, documentOf(lic))
}

// newVersion makes a new version (变更 or 延续) of a license of the
// issuer's department; the license named becomes superseded.
func (s *Server) newVersion(c *echo.Context) error {
	var req registry.VersionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if _, err := s.visibleLicense(c); err != nil {
		return err
	}
	lic, err := s.reg.NewVersion(c.Request().Context(), actor(c), c.Param("id"), req)
	if err != nil {
		return err
	}
	s.metrics.issued.Inc()
	return c.JSON(http.StatusCreated, documentOf(lic))
}

// getBundle serves the signed trust bundle from memory: the registry signs
// it only when something in it changes. Clients revalidate with the ETag.
func (s *Server) getBundle(c *echo.Context) error {
	b, err := s.reg.Bundle(c.Request().Context())
	if err != nil {
		return err
	}
	return serveCached(c, b.JSON, b.ETag, "no-cache")
}

// statusList serves a department's signed W3C status list, cacheable until
// halfway through its validity.
func (s *Server) statusList(c *echo.Context) error {
	n, err := registry.ParseListPath(c.Param("n"))
	if err != nil {
		return fmt.Errorf("%w: %v", registry.ErrNotFound, err)
	}
	l, err := s.reg.StatusList(c.Request().Context(), c.Param("uscc"), n)
	if err != nil {
		return err
	}
	maxAge := int(time.Until(l.ValidUntil).Seconds()) / 2
	maxAge = min(max(maxAge, 0), 300)
	c.Response().Header().Set("Expires", l.ValidUntil.UTC().Format(http.TimeFormat))
	return serveCached(c, l.JSON, l.ETag, "public, max-age="+strconv.Itoa(maxAge))
}

// serveCached answers 304 when the client holds etag, else the JSON body.
func serveCached(c *echo.Context, body []byte, etag, cacheControl string) error {
	h := c.Response().Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", cacheControl)
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			if t = strings.TrimSpace(t); t == etag || t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return c.NoContent(http.StatusNotModified)
			}
		}
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
}

// trustInfo is what GET /api/v1/trust answers: the platform root an
// office pins, to compare with the fingerprint the platform publishes.
type trustInfo struct {
	RootFingerprint string `json:"root_fingerprint"`
	RootCertificate string `json:"root_certificate"`
	LogOrigin       string `json:"log_origin"`
}

func (s *Server) getTrust(c *echo.Context) error {
	fp, pem, origin := s.reg.Trust()
	return c.JSON(http.StatusOK, trustInfo{RootFingerprint: fp, RootCertificate: pem, LogOrigin: origin})
}

func (s *Server) listReasons(c *echo.Context) error {
	return c.JSON(http.StatusOK, map[string][]license.Reason{"status": license.Reasons(), "key": license.KeyReasons()})
}

// consistencyProof is what GET /api/v1/log/consistency answers.
type consistencyProof struct {
	From  uint64   `json:"from"`
	To    uint64   `json:"to"`
	Proof [][]byte `json:"proof"`
}

// logConsistency proves the log of size from is a prefix of the log of
// size to: how an office that holds an older bundle checks the new one
// continues the same log.
func (s *Server) logConsistency(c *echo.Context) error {
	from, err1 := strconv.ParseUint(c.QueryParam("from"), 10, 64)
	to, err2 := strconv.ParseUint(c.QueryParam("to"), 10, 64)
	if err1 != nil || err2 != nil || from == 0 || from > to {
		return &license.FieldError{Field: "from", Rule: "range", Message: "from 与 to 必须是正整数，且 from ≤ to"}
	}
	proof, err := s.ledger.ConsistencyProof(c.Request().Context(), from, to)
	if err != nil {
		return &license.FieldError{Field: "to", Rule: "range", Message: "无法证明：" + err.Error()}
	}
	return c.JSON(http.StatusOK, consistencyProof{From: from, To: to, Proof: proof})
}

func (s *Server) revokeKey(c *echo.Context) error {
	var req registry.KeyRevocationRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.reg.RevokeKey(c.Request().Context(), actor(c), c.Param("uscc"), c.Param("keyid"), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// verify checks what a clerk was handed, online: a credential (or a
// credential with its receipt), a ZZ1: QR payload, a ZZL1: live code
// (亮证码, recorded as a use of the license), a license PDF or a photo of
// either QR code, as the raw body or as the "file" (or "payload") part of a
// multipart form. The status and the anchor come from the ledger, trust from
// the current bundle. A PDF that is not a license or a picture without a QR
// code is a 422 that says so; more than MaxUpload bytes is a 413.
func (s *Server) verify(c *echo.Context) error {
	body, err := uploadedBytes(c)
	if err != nil {
		return err
	}
	b, _, err := s.currentBundle(c.Request().Context())
	if err != nil {
		return err
	}
	res, err := verifier.Verify(c.Request().Context(), body, b, verifier.Policy{At: s.now(), Online: s.ledger})
	if err != nil {
		return err
	}
	var lc *verifier.LiveCodeInput
	if errors.As(res.InputErr, &lc) {
		// A live code (亮证码): checked online here, then the license it
		// names is verified; purpose and service_item may be given as query
		// parameters for the holder's usage record.
		live, _, err := s.verifyLive(c.Request().Context(), actor(c), lc.Code, c.QueryParam("purpose"), c.QueryParam("service_item"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, live)
	}
	s.metrics.verified.WithLabelValues(string(res.Verdict)).Inc()
	s.recordAPIVerify(c, res)
	var le *limits.ExceededError
	switch {
	case errors.As(res.InputErr, &le):
		return limitError(le, "file")
	case errors.Is(res.InputErr, verifier.ErrTooLarge):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: verifier.Describe(res.InputErr)}
	case errors.Is(res.InputErr, verifier.ErrNotLicensePDF):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "not_license_pdf", Message: verifier.Describe(res.InputErr), Field: "file"}
	case errors.Is(res.InputErr, verifier.ErrNoQRCode):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "no_qr_code", Message: verifier.Describe(res.InputErr), Field: "file"}
	}
	return c.JSON(http.StatusOK, res)
}

// uploadedBytes reads the verify input: a multipart form's "file" or
// "payload" part, or else the whole body. Over MaxUpload bytes is a 413.
func uploadedBytes(c *echo.Context) ([]byte, error) {
	req := c.Request()
	tooLarge := &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("上传内容超过 %d MiB 上限", MaxUpload>>20)}
	mt, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		body, err := io.ReadAll(io.LimitReader(req.Body, MaxUpload+1))
		if err != nil {
			return nil, bodyReadError(err)
		}
		if len(body) > MaxUpload {
			return nil, tooLarge
		}
		return body, nil
	}
	mr := multipart.NewReader(req.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, &license.FieldError{Field: "file", Rule: "required", Message: "请上传文件（file），或提交二维码内容（payload）"}
		}
		if err != nil {
			if err := bodyReadError(err); errors.Is(err, errClientGone) {
				return nil, err
			}
			return nil, &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "上传表单（multipart）格式错误"}
		}
		if name := part.FormName(); name != "file" && name != "payload" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, MaxUpload+1))
		if err != nil {
			if err := bodyReadError(err); errors.Is(err, errClientGone) {
				return nil, err
			}
			return nil, &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "上传表单（multipart）格式错误"}
		}
		if len(data) > MaxUpload {
			return nil, tooLarge
		}
		return data, nil
	}
}

// decodeJSON reads one JSON object into v: unknown members, repeated
// members, invalid UTF-8, control, bidi-override and zero-width characters
// (strictJSON), trailing data and malformed JSON are 400s that say what is
// wrong and name the field.
func decodeJSON(c *echo.Context, v any) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, MaxBody+1))
	if err != nil {
		return bodyReadError(err)
	}
	if len(body) > MaxBody {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "请求内容超过 1 MiB 上限"}
	}
	if err := strictJSON(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "malformed_json", Message: jsonErrorMessage(err), Field: jsonErrorField(err)}
	}
	if dec.More() {
		return &apiError{Status: http.StatusBadRequest, Code: "malformed_json", Message: "JSON 对象之后还有多余的内容"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &apiError{Status: http.StatusBadRequest, Code: "malformed_json", Message: "JSON 对象之后还有多余的内容"}
	}
	return nil
}

func jsonErrorMessage(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("JSON 格式错误（第 %d 字节处）", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("字段 %s 的类型不对，应为 JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()))
	case errors.Is(err, io.EOF):
		return "请求体为空：需要一个 JSON 对象"
	}
	if f := jsonErrorField(err); f != "" {
		return "未知字段 " + f
	}
	return "JSON 格式错误"
}

func jsonErrorField(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return typ.Field
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return strings.Trim(f, `"`)
	}
	return ""
}

// currentBundle returns the registry's current trust bundle, parsed with
// the platform's own root pinned: the server trusts its own root, never
// one a file names.
func (s *Server) currentBundle(ctx context.Context) (*verifier.TrustBundle, []byte, error) {
	sb, err := s.reg.Bundle(ctx)
	if err != nil {
		return nil, nil, err
	}
	s.bundleMu.Lock()
	defer s.bundleMu.Unlock()
	if s.bundle != nil && s.bundleRaw == sb {
		return s.bundle, sb.JSON, nil
	}
	fp, _, _ := s.reg.Trust()
	b, err := verifier.ParseBundle(sb.JSON, verifier.WithRootFingerprint(fp))
	if err != nil {
		return nil, nil, fmt.Errorf("server: own bundle does not parse: %w", err)
	}
	s.bundle, s.bundleRaw = b, sb
	return b, sb.JSON, nil
}
