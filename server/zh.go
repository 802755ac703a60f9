package server

import (
	"net/http"
	"strings"
	"unicode"

	"zhengzhao/internal/zhtext"
)

// chineseMessage is what a person reads for err: its own words when they
// are Chinese (a registry error such as "证照 … 已变更，以 … 为准", after
// any English "registry: conflict: " prefix), else fallback. The English
// stays in the log.
func chineseMessage(err error, fallback string) string {
	msg := err.Error()
	if i := strings.IndexFunc(msg, func(r rune) bool { return unicode.Is(unicode.Han, r) }); i > 0 {
		// Keep an identifier or code just before the first Chinese word
		// ("证照 1.2.156…" starts with Chinese; "license X 已…" would not).
		msg = msg[i:]
	}
	if zhtext.Check(msg) == nil {
		return msg
	}
	return fallback
}

// statusTextZh is an HTTP status as a person reads it.
func statusTextZh(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "请求有误"
	case http.StatusUnauthorized:
		return "请先登录"
	case http.StatusForbidden:
		return "无权访问"
	case http.StatusNotFound:
		return "未找到"
	case http.StatusMethodNotAllowed:
		return "不支持此请求方法"
	case http.StatusRequestEntityTooLarge:
		return "请求内容过大"
	case http.StatusUnsupportedMediaType:
		return "不支持此内容类型"
	case http.StatusTooManyRequests:
		return "请求过于频繁，请稍后再试"
	case http.StatusServiceUnavailable:
		return "服务暂时不可用，请稍后再试"
	}
	if code >= 500 {
		return "服务器内部错误，请稍后重试"
	}
	return "请求未能完成"
}

// jsonKind names a JSON value kind from a Go reflect kind in Chinese.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "字符串"
	case "bool":
		return "布尔值"
	case "slice", "array":
		return "数组"
	case "map", "struct", "ptr":
		return "对象"
	}
	return "数字"
}
