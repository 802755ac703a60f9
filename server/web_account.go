package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"zhengzhao/registry"
)

// The change-password page, for every signed-in account.

type passwordData struct {
	Errors   map[string]string
	Msg, Err string
}

func (d passwordData) flash() (string, string) { return d.Msg, d.Err }

func (s *Server) passwordPage(c *echo.Context) error {
	d := passwordData{Errors: map[string]string{}}
	if c.QueryParam("changed") != "" {
		d.Msg = "密码已修改；此账号在其他设备上的登录已结束。"
	}
	return s.page(c, http.StatusOK, "account_password", "修改密码", d)
}

// passwordChange changes the signed-in account's password: the current one
// is required, the new one twice; other sessions end, this one stays.
func (s *Server) passwordChange(c *echo.Context) error {
	d := passwordData{Errors: map[string]string{}}
	old, pw, again := c.FormValue("old_password"), c.FormValue("password"), c.FormValue("password_again")
	if pw != again {
		d.Errors["password_again"], d.Err = "两次输入的新密码不一致。", "未修改：请按提示修改。"
		return s.page(c, http.StatusBadRequest, "account_password", "修改密码", d)
	}
	ck, err := c.Request().Cookie(sessionCookie)
	if err != nil {
		return s.errorPage(c, http.StatusUnauthorized, "请先登录", "会话已过期或尚未登录。")
	}
	err = s.reg.ChangePassword(c.Request().Context(), ck.Value, old, pw)
	var te *registry.ThrottledError
	switch {
	case err == nil:
		return c.Redirect(http.StatusSeeOther, "/account/password?changed=1")
	case errors.As(err, &te):
		d.Err = fmt.Sprintf("原密码错误次数过多，请 %s后再试。", waitText(te.RetryAfter))
		return s.page(c, http.StatusTooManyRequests, "account_password", "修改密码", d)
	case errors.Is(err, registry.ErrWrongPassword):
		d.Errors["old_password"], d.Err = "原密码不正确。", "未修改：请按提示修改。"
		return s.page(c, http.StatusBadRequest, "account_password", "修改密码", d)
	case len(fieldErrors(err)) > 0:
		d.Errors, d.Err = formErrors(err), "未修改：请按提示修改。"
		return s.page(c, http.StatusBadRequest, "account_password", "修改密码", d)
	}
	return s.webError(c, err)
}

// waitText says how long to wait, in Chinese: seconds under two minutes,
// minutes above.
func waitText(d time.Duration) string {
	if d < 2*time.Minute {
		return fmt.Sprintf("%d 秒", int(d.Seconds())+1)
	}
	return fmt.Sprintf("%d 分钟", int(d.Minutes())+1)
}
