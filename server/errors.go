package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"zhengzhao/internal/limits"
	"zhengzhao/ledger"
	"zhengzhao/license"
	"zhengzhao/registry"
)

// apiError is the stable JSON error body: {code, message, field}.
type apiError struct {
	Status  int          `json:"-"`
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Field   string       `json:"field,omitempty"`
	Errors  []fieldError `json:"errors,omitempty"`
}

type fieldError struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

// errorHandler maps every error a handler returns to a status and the stable
// body. It is the only place that knows the mapping.
func (s *Server) errorHandler(c *echo.Context, err error) {
	if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
		return
	}
	e := s.toAPIError(err)
	if clientGone(c, err) {
		// Nobody is left to read an answer: log it for what it is.
		s.log.Info("client went away", "method", c.Request().Method, "path", c.Path(), "err", err)
		return
	}
	if e.Status >= 500 {
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(e.Status)
		return
	}
	if wantsPage(c.Request()) {
		// A browser asked for a page (a body over the limit, a path
		// with no route): it gets one, in Chinese, not JSON.
		_ = s.errorPage(c, e.Status, errorTitle(e.Status), pageMessage(e))
		return
	}
	_ = c.JSON(e.Status, e)
}

func (s *Server) toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var le *limits.ExceededError
	if errors.As(err, &le) {
		return limitError(le, "")
	}
	if fes := fieldErrors(err); len(fes) > 0 {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: fes[0].Message, Field: fes[0].Field, Errors: fes}
	}
	var kr *registry.KeyReuseError
	var ue *registry.UseCodeError
	switch {
	case errors.As(err, &ue):
		return &apiError{Status: useCodeStatus(ue), Code: ue.Code(), Message: ue.Error(), Field: "code"}
	case errors.Is(err, errClientGone), errors.Is(err, context.Canceled):
		return &apiError{Status: statusClientClosed, Code: "client_closed_request", Message: "客户端在收到答复前断开了连接"}
	case errors.As(err, &kr):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Field: kr.Field,
			Message: "Idempotency-Key 已用于另一个请求（" + kr.Field + " 不同）：签发新证照请换一个新的 Idempotency-Key"}
	case errors.Is(err, registry.ErrUnauthenticated):
		return &apiError{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "需要有效的访问令牌（请求头 Authorization 中的 Bearer 令牌）"}
	case errors.Is(err, registry.ErrForbidden):
		return &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: chineseMessage(err, "无权进行此操作")}
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, ledger.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: chineseMessage(err, "未找到：没有这项记录，或您无权查看")}
	case errors.Is(err, registry.ErrConflict), errors.Is(err, ledger.ErrFinal), errors.Is(err, ledger.ErrDuplicate):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: chineseMessage(err, "与当前状态冲突，操作未执行")}
	case errors.Is(err, ledger.ErrUnavailable):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "ledger_unavailable", Message: "账本暂时无法访问，请稍后重试"}
	}
	if code := echo.StatusCode(err); code != 0 {
		msg := statusTextZh(code)
		if code == http.StatusRequestEntityTooLarge {
			msg = fmt.Sprintf("请求内容过大：JSON 请求体最多 1 MiB，上传文件最多 %d MiB", MaxUpload>>20)
		}
		return &apiError{Status: code, Code: codeName(code), Message: msg}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "服务器内部错误，请稍后重试"}
}

// useCodeStatus is the status of a refused use code: 404 whatever the
// reason, so that the answer tells nothing of the code or its grant.
func useCodeStatus(*registry.UseCodeError) int { return http.StatusNotFound }

// limitError answers an input over one of the limits of internal/limits:
// 413, the limit's stable code and its Chinese message naming the limit.
func limitError(le *limits.ExceededError, field string) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Code: le.Code, Message: le.Message, Field: field}
}

// fieldErrors flattens a (joined) error into the field errors it carries.
func fieldErrors(err error) []fieldError {
	var out []fieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*license.FieldError); ok {
			out = append(out, fieldError{Field: fe.Field, Rule: fe.Rule, Message: fe.Message})
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// statusClientClosed is the status a request the client abandoned is
// logged and counted with (nginx's 499); it is never sent.
const statusClientClosed = 499

// apiNotFound answers every path under /api/ that has no route, whatever
// the method, with the JSON 404.
func (s *Server) apiNotFound(c *echo.Context) error {
	return &apiError{Status: http.StatusNotFound, Code: "not_found",
		Message: fmt.Sprintf("没有接口 %s %s；接口列表见 /api/v1/openapi.json", c.Request().Method, c.Request().URL.Path)}
}

func codeName(status int) string {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusBadRequest:
		return "bad_request"
	}
	return "error"
}

// wantsPage reports whether r is a browser's request for a page rather than
// a call of the API.
func wantsPage(r *http.Request) bool {
	return !strings.HasPrefix(r.URL.Path, "/api/") && strings.Contains(r.Header.Get("Accept"), "text/html")
}
