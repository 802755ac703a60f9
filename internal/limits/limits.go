package limits

import (
	"errors"
	"fmt"
)

// Request bodies.
const (
	// JSONBody is the largest JSON request body the API accepts, in bytes.
	JSONBody = 1 << 20
	// Upload is the largest file POST /api/v1/verify and the web forms
	// accept (a PDF, a photo or a CSV file), in bytes.
	Upload = 10 << 20
)

// PDFs read back by the verifier. Every number counts work, never time: a
// PDF within all of them costs a bounded amount of CPU and memory whatever
// the machine's speed.
const (
	// PDFSize is the largest PDF accepted, in bytes.
	PDFSize = Upload
	// PDFObjects is the most indirect objects a PDF may hold, counted in
	// the file and in its object streams. A license PDF has about 20.
	PDFObjects = 2000
	// PDFStreams is the most streams a PDF may hold.
	PDFStreams = 500
	// PDFInflated is the most bytes all of a PDF's streams may inflate to,
	// together. A license PDF inflates to under 1 MiB.
	PDFInflated = 32 << 20
	// PDFAttachments is the most embedded files a PDF may carry. A license
	// PDF carries two (credential.json and seal.sig).
	PDFAttachments = 16
	// PDFAttachmentSize is the largest attachment read, in bytes, after
	// decompression.
	PDFAttachmentSize = 4 << 20
	// PDFPages is the most pages read for the printed face.
	PDFPages = 16
	// PDFContentOps is the most operators read from a PDF's page content
	// streams. A license face has about 3000.
	PDFContentOps = 200_000
)

// The compact QR form (credential.ParseCompact).
const (
	// CompactInflated is the most bytes a ZZ1: payload's zlib stream may
	// inflate to.
	CompactInflated = 64 << 10
)

// Import of existing licenses: the officer's console, POST /api/v1/import
// and `zhengzhao import` (registry/importer).
const (
	// ImportErrorsKept is the most row errors an import job keeps; past
	// it the job counts failed rows but keeps no more messages.
	ImportErrorsKept = 1000
	// ImportErrorsPage is the most row errors one page of an import job
	// shows.
	ImportErrorsPage = 100
	// ImportMessage is the longest row error message kept, in bytes.
	ImportMessage = 300
	// ImportRecord is the longest row of an import file (CSV record or
	// JSON line), in bytes; a license row is well under 4 KiB.
	ImportRecord = 64 << 10
	// ImportBatchRows is the most rows one POST /api/v1/import takes.
	ImportBatchRows = 1000
	// ImportBatchBody is the largest POST /api/v1/import body, in bytes:
	// ImportBatchRows rows of a few KiB each.
	ImportBatchBody = 8 << 20
)

// Wallet download.
const (
	// WalletPage is how many licenses the wallet download reads from the
	// store at a time; the zip is streamed, so memory stays flat however
	// many licenses a holder has.
	WalletPage = 200
)

// The command line.
const (
	// CLIInput is the most the zhengzhao command reads from a server's
	// answer or from standard input, in bytes.
	CLIInput = 64 << 20
)

// ErrExceeded is what every *ExceededError unwraps to.
var ErrExceeded = errors.New("limit exceeded")

// ExceededError reports an input over one of the limits above.
type ExceededError struct {
	// Code is a stable English code, such as "pdf_attachments".
	Code string
	// Limit is the limit that was exceeded.
	Limit int64
	// Message says, in Chinese, which limit was exceeded and what it is,
	// such as "附件数量超过上限 16".
	Message string
}

// Error returns the Chinese message and the code.
func (e *ExceededError) Error() string { return e.Message + " (" + e.Code + ")" }

// Unwrap returns ErrExceeded.
func (e *ExceededError) Unwrap() error { return ErrExceeded }

// Exceeded makes an *ExceededError for a count; what is a short Chinese
// noun phrase, such as "附件数量": "附件数量超过上限 16".
func Exceeded(code, what string, limit int64) *ExceededError {
	return &ExceededError{Code: code, Limit: limit, Message: fmt.Sprintf("%s超过上限 %d", what, limit)}
}

// ExceededBytes makes an *ExceededError for a size in bytes; what is a
// short Chinese noun phrase, such as "PDF 解压后的总大小": "PDF 解压后的总大小
// 超过上限 32 MiB".
func ExceededBytes(code, what string, limit int64) *ExceededError {
	size := fmt.Sprintf("%d 字节", limit)
	switch {
	case limit >= 1<<20 && limit%(1<<20) == 0:
		size = fmt.Sprintf("%d MiB", limit>>20)
	case limit >= 1<<10 && limit%(1<<10) == 0:
		size = fmt.Sprintf("%d KiB", limit>>10)
	}
	return &ExceededError{Code: code, Limit: limit, Message: what + "超过上限 " + size}
}
