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
