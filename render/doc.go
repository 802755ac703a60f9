// Package render draws the license PDF of an electronic license (电子证照):
// the A4 license face (照面) as people know it from paper licenses, and a
// file that can be verified offline on its own.
//
// The face has a red-brown double frame with a fret band, the license name
// as a letter-spaced title (for 营业执照 also the 统一社会信用代码 above it),
// the holder, holder code and the type's fields as a form (short rows in two
// columns when the form is long, continuation pages when it does not fit on
// one), the validity (有效期限, or 长期), the issuing authority and issue
// date in Chinese with the department's seal picture stamped over them, a
// QR code of the compact credential (error correction M) with the caption
// 扫码核验, the identifier (电子证照标识) in Courier, and the footer.
// The full credential (credential.json) and the seal signature (seal.sig)
// are embedded as PDF file attachments.
//
// Use [NewRenderer] with a CJK TrueType font ([FindFont] finds one of the
// Debian fonts), then [Renderer.PDF]. [ExtractAttachments] and [VisibleIdentifier] read a license PDF
// back for the verifier; [QRPNG] draws the QR code as a PNG for the API.
//
// Design notes:
//
//   - Text is CJK, so the renderer never lets fpdf wrap lines: fpdf's
//     MultiCell drops a character at every automatic break of CJK text
//     (go-pdf/fpdf issue #80). Lines are wrapped here, measured with fpdf's
//     GetStringWidth, with the Chinese line-breaking rules for punctuation.
//   - fpdf parses and subsets the whole font for every document (about 20 ms
//     for a 5 MB font). NewRenderer parses the font once; each PDF then
//     hands fpdf a TrueType subset of just the characters on its face, cut
//     here, which fpdf loads in well under a millisecond.
//   - A character missing from the font is an error ([MissingGlyphError]),
//     never an empty box. gbsn00lp covers GB 2312 only; names with rarer
//     characters need a larger font such as LXGW WenKai.
//   - Output is deterministic: the creation date comes from the input and
//     nothing depends on map order or the clock.
package render
