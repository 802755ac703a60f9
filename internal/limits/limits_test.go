package limits_test

import (
	"errors"
	"testing"

	"zhengzhao/internal/limits"
)

func TestExceeded(t *testing.T) {
	err := error(limits.Exceeded("pdf_attachments", "附件数量", limits.PDFAttachments))
	var le *limits.ExceededError
	if !errors.As(err, &le) || !errors.Is(err, limits.ErrExceeded) {
		t.Fatalf("%v is not an ExceededError", err)
	}
	if got, want := le.Message, "附件数量超过上限 16"; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if le.Code != "pdf_attachments" || le.Limit != 16 {
		t.Errorf("Code, Limit = %q, %d", le.Code, le.Limit)
	}
}

func TestExceededBytes(t *testing.T) {
	for _, tt := range []struct {
		limit int64
		want  string
	}{
		{limits.PDFInflated, "PDF 解压后的总大小超过上限 32 MiB"},
		{limits.CompactInflated, "PDF 解压后的总大小超过上限 64 KiB"},
		{1000, "PDF 解压后的总大小超过上限 1000 字节"},
	} {
		if got := limits.ExceededBytes("pdf_inflated", "PDF 解压后的总大小", tt.limit).Message; got != tt.want {
			t.Errorf("ExceededBytes(%d) = %q, want %q", tt.limit, got, tt.want)
		}
	}
}
