// Package limits holds every bound the zhengzhao binary puts on what one
// request may make it read, inflate, parse or build: request bodies and
// uploads, PDFs (size, objects, streams, inflated bytes, attachments,
// content-stream operators), the compact QR form, CSV import reports and
// the pages that show them. Keeping them in one place, after sigstore-go's
// internal/limits, makes the cost of one request something a reader can
// add up.
//
// The chaincode, a separate module, keeps its own limits. Picture decoding
// limits (pixels) live in image.go.
//
// An input over a limit is an *ExceededError: a stable English code for
// machines and a Chinese message naming the limit for people. The HTTP
// edge answers it with 413.
package limits
