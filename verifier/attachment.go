package verifier

import (
	"fmt"
	"io"

	"zhengzhao/internal/limits"
)

// ExtractAttachment returns the file a PDF embeds under name (such as the
// records.json of a 用证记录 PDF), within the same limits as
// ExtractAttachments. A PDF that cannot be read or lacks the file is
// ErrNotLicensePDF.
func ExtractAttachment(pdf []byte, name string) (_ []byte, err error) {
	defer recoverMalformed(&err)
	ctx, err := readPDF(pdf)
	if err != nil {
		return nil, err
	}
	if err := ctx.LocateNameTree("EmbeddedFiles", false); err != nil || ctx.Names["EmbeddedFiles"] == nil {
		return nil, fmt.Errorf("%w: no embedded files", ErrNotLicensePDF)
	}
	stubs, err := ctx.ListAttachments()
	if err != nil {
		return nil, fmt.Errorf("%w: embedded files: %v", ErrNotLicensePDF, err)
	}
	if len(stubs) > limits.PDFAttachments {
		return nil, tooMuch(limits.Exceeded("pdf_attachments", "附件数量", limits.PDFAttachments))
	}
	for _, stub := range stubs {
		if stub.FileName != name {
			continue
		}
		a, err := ctx.ExtractAttachment(stub)
		if err != nil || a == nil {
			return nil, fmt.Errorf("%w: attachment %q: %v", ErrNotLicensePDF, name, err)
		}
		data, err := io.ReadAll(io.LimitReader(a.Reader, MaxAttachmentSize+1))
		if err != nil {
			return nil, fmt.Errorf("%w: attachment %q: %v", ErrNotLicensePDF, name, err)
		}
		if len(data) > MaxAttachmentSize {
			return nil, tooMuch(limits.ExceededBytes("pdf_attachment_size", "附件 "+name+" 的大小", MaxAttachmentSize))
		}
		return data, nil
	}
	return nil, fmt.Errorf("%w: no %s attachment", ErrNotLicensePDF, name)
}
