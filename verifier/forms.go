package verifier

import (
	"bytes"
	"cmp"
	"errors"
	"image"
	_ "image/jpeg" // photos of a QR code
	_ "image/png"
	"math"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
	xdraw "golang.org/x/image/draw"

	"zhengzhao/credential"
	"zhengzhao/internal/limits"
	"zhengzhao/license"
	"zhengzhao/signing"
	"zhengzhao/signing/seal"
)

// detectForm tells the input's form by its content, never by a file name.
func detectForm(input []byte) string {
	switch {
	case bytes.HasPrefix(input, []byte("%PDF-")):
		return FormPDF
	case bytes.HasPrefix(input, []byte("\x89PNG\r\n\x1a\n")), bytes.HasPrefix(input, []byte{0xFF, 0xD8, 0xFF}):
		return FormPhoto
	case bytes.HasPrefix(bytes.TrimSpace(input), []byte(credential.CompactPrefix)):
		return FormCompact
	case bytes.HasPrefix(bytes.TrimSpace(input), []byte(credential.LivePrefix)):
		return FormLive
	}
	return FormCredential
}

// verifyPDF checks a license PDF: the embedded credential (with its
// receipt) as a Document, then the department's seal over it, then that the
// identifier printed on the page is the credential's.
func (v *run) verifyPDF(pdf []byte) {
	v.r.Form = FormPDF
	lp, err := readLicensePDF(pdf)
	if err != nil {
		v.r.InputErr = err
		v.add(NameFormat, fail("%v", err))
		v.skipRest("未检查：输入无法读取")
		v.add(NameSeal, skip("未检查：输入无法读取"))
		v.add(NameFace, skip("未检查：输入无法读取"))
		return
	}
	v.verifyJSON(lp.document)
	if v.cred == nil {
		v.add(NameSeal, skip("未检查：内嵌的证照凭证无法读取"))
		v.add(NameFace, skip("未检查：内嵌的证照凭证无法读取"))
		return
	}
	v.add(NameSeal, v.sealCheck(lp.sealSignature))
	v.faceCheck(lp)
}

// sealCheck verifies the SES_Signature: a seal the platform made for the
// issuing department, valid when it was stamped, listing the key that
// signed the credential, over SM3 of the credential's canonical bytes.
func (v *run) sealCheck(der []byte) outcome {
	if len(der) == 0 {
		return fail("PDF 中没有电子印章签章（%s）", AttachmentSeal)
	}
	if v.dept == nil {
		return skip(notInBundle)
	}
	sig, err := seal.ParseSignature(der)
	if err != nil {
		return fail("电子印章签章无法读取：%v", err)
	}
	data, err := v.cred.Canonical()
	if err != nil {
		return fail("无法计算凭证的规范字节：%v", err)
	}
	if err := seal.VerifySignature(sig, data, v.ix.roots); err != nil {
		var ce *seal.CheckError
		if errors.As(err, &ce) {
			return fail("%v", err)
		}
		return fail("电子印章验证不通过：%v", err)
	}
	if !v.ix.isRoot(sig.Seal.MakerCert) {
		return fail("电子印章检查「%s」不通过：印章由 %s 制作，不是平台", sealCheckZh(seal.CheckSealMaker), certName(sig.Seal.MakerCert))
	}
	known := v.dept.seals[sig.Seal.ID]
	if known == nil || !bytes.Equal(known.Raw, sig.Seal.Raw) {
		return fail("印章 %s（%s）不是信任包中 %s 的印章", sig.Seal.ID, sig.Seal.Name, v.dept.dept.Name)
	}
	if v.signingKey != nil && !bytes.Equal(sig.SignerCert, v.signingKey.cert.Raw) {
		return fail("盖章所用密钥 %s 不是签署凭证的密钥 %s", signing.KeyID(sig.SignerCert), v.signingKey.key.KeyID)
	}
	return pass("已于 " + when(sig.Time) + " 加盖" + v.dept.dept.Name + "的电子印章（" + sig.Seal.ID + "，平台制作）")
}

// certName is a certificate's subject common name, for reasons.
func certName(der []byte) string {
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return "（证书无法读取）"
	}
	return "“" + c.Subject.CommonName + "”"
}

// faceCheck reads every field printed on the pages back and compares it
// with the embedded credential's, and fails on anything drawn that the
// renderer does not draw (face.go), naming the field.
func (v *run) faceCheck(lp *licensePDF) {
	// The record with its type-specific fields, which the verification
	// itself does not read.
	full, _, err := credential.ParseEnvelope(lp.document, "credential")
	if err != nil {
		v.add(NameFace, fail("无法读取凭证中的证照字段：%v", err))
		return
	}
	rec := full.CredentialSubject
	t, ok := v.ix.licenseTypeOf(rec.TypeCode, rec.TypeVersion)
	if !ok {
		v.add(NameFace, fail("证照类型 %s 不在目录中，无法核对页面", rec.TypeCode))
		return
	}
	fe := lp.face.compare(license.NewFace(t, rec))
	if fe == nil {
		fe = lp.face.checkQR(rec.Identifier)
	}
	if fe != nil {
		v.add(NameFace, fail("%s", fe.Reason))
		c := &v.r.Checks[len(v.r.Checks)-1]
		c.Code, c.Field = fe.Code, fe.Field
		return
	}
	v.add(NameFace, pass("页面印的每一项和二维码都与凭证一致，且没有证照生成器之外的文字、图形或追加修改"))
}

// licensePDF is what a license PDF carries.
type licensePDF struct {
	document      []byte // the credential.json attachment
	sealSignature []byte // the seal.sig attachment, if any
	face          *printedFace
}

// readLicensePDF reads the attachments and the printed face, parsing the
// PDF once.
func readLicensePDF(pdf []byte) (_ *licensePDF, err error) {
	defer recoverMalformed(&err)
	ctx, err := readPDF(pdf)
	if err != nil {
		return nil, err
	}
	files, err := attachments(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := visibleIdentifier(ctx); err != nil {
		return nil, err
	}
	face, err := readFace(ctx, pdf)
	if err != nil {
		return nil, err
	}
	return &licensePDF{document: files[AttachmentCredential], sealSignature: files[AttachmentSeal], face: face}, nil
}

// verifyPhoto finds the QR code in a PNG or JPEG picture and checks its
// compact form.
func (v *run) verifyPhoto(pic []byte) {
	v.r.Form = FormPhoto
	text, err := DecodeQR(pic)
	if err != nil {
		v.r.InputErr = err
		v.add(NameFormat, fail("%v", err))
		v.skipRest("未检查：输入无法读取")
		return
	}
	v.verifyCompact(text)
	v.r.Form = FormPhoto
}

// DecodeQR returns the text of the QR code in a PNG or JPEG picture: a
// screenshot, a page scan or a photo. A picture without a readable QR code
// is ErrNoQRCode. A picture over limits.ImagePixels or limits.ImageMemory
// is refused by its header, before its pixels are allocated, with an error
// that is both ErrTooLarge and a *limits.ImageTooLargeError (Chinese text
// naming the limit, stable code "image_too_large"). The work after decoding
// is bounded by limits.QRWorkPixels and a fixed number of attempts.
func DecodeQR(pic []byte) (string, error) {
	_, format, err := limits.CheckImage(pic)
	var tooLarge *limits.ImageTooLargeError
	switch {
	case errors.As(err, &tooLarge):
		return "", &imageTooLargeError{tooLarge}
	case err != nil:
		return "", noQRCode("不是可读的 PNG 或 JPEG 图片", "not a readable PNG or JPEG picture: %v", err)
	}
	img, _, err := image.Decode(bytes.NewReader(pic))
	if err != nil {
		return "", noQRCode("图片无法解码", "the %s picture cannot be decoded: %v", format, err)
	}
	return decodeQRImage(img, format)
}

// imageTooLargeError is a picture over a limit: its text is the limit's
// Chinese message, and it is both ErrTooLarge (so an API answers 413) and
// the *limits.ImageTooLargeError that carries the code and the figures.
type imageTooLargeError struct {
	*limits.ImageTooLargeError
}

func (e *imageTooLargeError) Unwrap() []error {
	return []error{ErrTooLarge, e.ImageTooLargeError}
}

// decodeQRImage reads the QR code of a picture: a page scanned at 100 to
// 300 dpi, crooked or turned, JPEG-compressed, or photographed at an angle.
// gozxing (a port of ZXing) does the binarizing, the finder and alignment
// pattern checks, the grid sampling and the Reed–Solomon decoding; what is
// ours is which finder triples, code sizes and alignment patterns it is
// asked to read (readTriple), below. A panic in it on a hostile picture is
// no QR code.
// The picture is reduced to grey at no more than limits.QRWorkPixels
// (box-averaged by a whole factor), binarized with a local threshold, then
// with a global one, and the code is looked for in each. If that fails, the
// region framed by the likeliest finder patterns is cut from the picture at
// full resolution and resampled to qrModulePixels a module (a 100 dpi scan
// has under 2 pixels a module, too few for a crooked grid), and read again;
// last, a small picture is read at twice its size. Every attempt works on
// at most limits.QRWorkPixels pixels and their number is fixed: at most
// qrTriples triples a picture, and for each five code sizes with at most
// qrAlignments alignment patterns each.
func decodeQRImage(img image.Image, format string) (_ string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = noQRCode("二维码读取失败", "in the %s picture (the reader failed: %v)", format, r)
		}
	}()
	g, k := greyOf(img, img.Bounds(), limits.QRWorkPixels)
	if g == nil {
		return "", noQRCode("请拍清楚证照上的二维码再试", "in the %s picture", format)
	}
	var regions []image.Rectangle
	for _, hybrid := range []bool{true, false} {
		bm, err := binarize(g, hybrid)
		if err != nil {
			continue
		}
		triples := finderTriples(finderCandidates(bm))
		if text, ok := readTriples(bm, triples); ok {
			return text, nil
		}
		if hybrid {
			for _, t := range triples[:min(len(triples), qrRegions)] {
				regions = append(regions, codeRegion(t, k, img.Bounds()))
			}
		}
	}
	for _, r := range regions {
		if text, ok := readRegion(img, r); ok {
			return text, nil
		}
	}
	if len(g.Pix)*4 <= limits.QRWorkPixels {
		if text, ok := readScaled(g, 2); ok {
			return text, nil
		}
	}
	return "", noQRCode("请拍清楚证照上的二维码再试", "in the %s picture", format)
}

// qrModulePixels is the module size a cut-out region is resampled to, and
// qrRegions how many regions are cut out at most.
const (
	qrModulePixels = 4
	qrRegions      = 2
)

// codeRegion returns the part of the picture (bounds b) that holds the
// code framed by t, found in a grey copy reduced k times: the square the
// three finder patterns span, completed to its fourth corner, with a margin
// of a fifth of its side for perspective and the quiet zone.
func codeRegion(t *detector.FinderPatternInfo, k int, b image.Rectangle) image.Rectangle {
	tl, tr, bl := t.GetTopLeft(), t.GetTopRight(), t.GetBottomLeft()
	xs := []float64{tl.GetX(), tr.GetX(), bl.GetX(), tr.GetX() + bl.GetX() - tl.GetX()}
	ys := []float64{tl.GetY(), tr.GetY(), bl.GetY(), tr.GetY() + bl.GetY() - tl.GetY()}
	x0, x1 := slices.Min(xs), slices.Max(xs)
	y0, y1 := slices.Min(ys), slices.Max(ys)
	m := max(x1-x0, y1-y0)/5 + 8*tl.GetEstimatedModuleSize()
	f := float64(k)
	r := image.Rect(int((x0-m)*f), int((y0-m)*f), int((x1+m)*f), int((y1+m)*f)).Add(b.Min)
	return r.Intersect(b)
}

// readRegion cuts r from img, resamples it so that a module is about
// qrModulePixels wide (bilinear, from x/image/draw), and reads it.
func readRegion(img image.Image, r image.Rectangle) (string, bool) {
	g, _ := greyOf(img, r, limits.QRWorkPixels)
	if g == nil {
		return "", false
	}
	bm, err := binarize(g, true)
	if err != nil {
		return "", false
	}
	triples := finderTriples(finderCandidates(bm))
	if len(triples) == 0 {
		return "", false
	}
	t := triples[0]
	ms := (t.GetTopLeft().GetEstimatedModuleSize() + t.GetTopRight().GetEstimatedModuleSize() + t.GetBottomLeft().GetEstimatedModuleSize()) / 3
	f := qrModulePixels / ms
	w, h := int(float64(g.Rect.Dx())*f), int(float64(g.Rect.Dy())*f)
	if ms <= 0 || w*h > limits.QRWorkPixels || w < 21 || h < 21 {
		return readTriples(bm, triples)
	}
	scaled := image.NewGray(image.Rect(0, 0, w, h))
	xdraw.BiLinear.Scale(scaled, scaled.Rect, g, g.Rect, xdraw.Src, nil)
	for _, hybrid := range []bool{true, false} {
		if bm, err := binarize(scaled, hybrid); err == nil {
			if text, ok := readTriples(bm, finderTriples(finderCandidates(bm))); ok {
				return text, true
			}
		}
	}
	return "", false
}

// readScaled resamples g f times (bilinear) and reads it with a local
// threshold: a whole 100 dpi page, whose finder patterns are too small to
// be found when it is crooked, is found and read at twice the size.
func readScaled(g *image.Gray, f float64) (string, bool) {
	big := image.NewGray(image.Rect(0, 0, int(f*float64(g.Rect.Dx())), int(f*float64(g.Rect.Dy()))))
	xdraw.BiLinear.Scale(big, big.Rect, g, g.Rect, xdraw.Src, nil)
	bm, err := binarize(big, true)
	if err != nil {
		return "", false
	}
	return readTriples(bm, finderTriples(finderCandidates(bm)))
}

// binarize turns g into black and white, with a threshold for each 8×8
// block from its neighbourhood (hybrid) or one for the whole picture.
func binarize(g *image.Gray, hybrid bool) (*gozxing.BitMatrix, error) {
	src, err := gozxing.NewPlanarYUVLuminanceSource(g.Pix, g.Stride, g.Rect.Dy(), 0, 0, g.Rect.Dx(), g.Rect.Dy(), false)
	if err != nil {
		return nil, err
	}
	if hybrid {
		return gozxing.NewHybridBinarizer(src).GetBlackMatrix()
	}
	return gozxing.NewGlobalHistgramBinarizer(src).GetBlackMatrix()
}

// readTriples reads the code framed by each of the first qrTriples triples.
func readTriples(bm *gozxing.BitMatrix, triples []*detector.FinderPatternInfo) (string, bool) {
	for _, t := range triples[:min(len(triples), qrTriples)] {
		if text, ok := readTriple(bm, t); ok {
			return text, true
		}
	}
	return "", false
}

// finderCandidates scans every third row of bm for the 1:1:3:1:1 run of a
// finder pattern and cross-checks each hit, as gozxing's finder does, but
// through the whole picture; it stops at qrMaxCandidates, so a picture
// tiled with finder-like marks costs no more than that.
func finderCandidates(bm *gozxing.BitMatrix) []*detector.FinderPattern {
	f := detector.NewFinderPatternFinder(bm, nil)
	w, h := bm.GetWidth(), bm.GetHeight()
	state := make([]int, 5)
	for i := detector.FinderPatternFinder_MIN_SKIP - 1; i < h && len(f.GetPossibleCenters()) < qrMaxCandidates; i += detector.FinderPatternFinder_MIN_SKIP {
		detector.FinderPatternFinder_doClearCounts(state)
		cur := 0
		for j := range w {
			switch black := bm.Get(j, i); {
			case black && cur&1 == 1:
				cur++
				state[cur]++
			case black:
				state[cur]++
			case cur&1 == 1:
				state[cur]++
			case cur < 4:
				cur++
				state[cur]++
			case detector.FinderPatternFinder_foundPatternCross(state) && f.HandlePossibleCenter(state, i, j):
				cur = 0
				detector.FinderPatternFinder_doClearCounts(state)
			default:
				detector.FinderPatternFinder_doShiftCounts2(state)
				cur = 3
			}
		}
		if detector.FinderPatternFinder_foundPatternCross(state) {
			f.HandlePossibleCenter(state, i, w)
		}
	}
	return f.GetPossibleCenters()
}

// qrTriples is how many triples of finder patterns are read at most, and
// qrCandidates how many candidate patterns (the most often confirmed) they
// are drawn from: bounds on the work one picture costs.
const (
	qrTriples       = 4
	qrCandidates    = 12
	qrMaxCandidates = 1000
)

// finderTriples ranks the triples of candidates that could be the three
// finder patterns of one code: similar module sizes, two sides about equal
// and about square to each other (loosely: a photo foreshortens).
func finderTriples(cands []*detector.FinderPattern) []*detector.FinderPatternInfo {
	cands = slices.Clone(cands)
	slices.SortStableFunc(cands, func(a, b *detector.FinderPattern) int { return b.GetCount() - a.GetCount() })
	cands = cands[:min(len(cands), qrCandidates)]
	type scored struct {
		info  *detector.FinderPatternInfo
		score float64
	}
	var out []scored
	for i := range cands {
		for j := i + 1; j < len(cands); j++ {
			for k := j + 1; k < len(cands); k++ {
				p := []*detector.FinderPattern{cands[i], cands[j], cands[k]}
				lo, hi := math.Inf(1), 0.0
				for _, q := range p {
					lo, hi = min(lo, q.GetEstimatedModuleSize()), max(hi, q.GetEstimatedModuleSize())
				}
				if lo <= 0 || hi/lo > 1.4 {
					continue
				}
				bl, tl, tr := gozxing.ResultPoint_OrderBestPatterns(p[0], p[1], p[2])
				a, b := gozxing.ResultPoint_Distance(tl, bl), gozxing.ResultPoint_Distance(tl, tr)
				c := gozxing.ResultPoint_Distance(tr, bl)
				modules := (a + b) / 2 / ((lo + hi) / 2)
				if modules < 12 || modules > 180 {
					continue
				}
				sides := math.Abs(a-b) / min(a, b)
				square := math.Abs(c-math.Hypot(a, b)) / math.Hypot(a, b)
				if sides > 0.35 || square > 0.2 {
					continue
				}
				info := detector.NewFinderPatternInfo(bl.(*detector.FinderPattern), tl.(*detector.FinderPattern), tr.(*detector.FinderPattern))
				out = append(out, scored{info, sides + 2*square + (hi/lo - 1)})
			}
		}
	}
	slices.SortStableFunc(out, func(x, y scored) int { return cmp.Compare(x.score, y.score) })
	infos := make([]*detector.FinderPatternInfo, len(out))
	for i, s := range out {
		infos[i] = s.info
	}
	return infos
}

// readTriple samples and decodes the code framed by one triple of finder
// patterns. gozxing estimates the code's size (its number of modules) from
// the distances between the finder patterns and the module size; at 2–3
// pixels a module, or foreshortened in a photo, that estimate is often one
// version (4 modules) off, and a grid sampled at the wrong size never
// decodes. So the neighbouring sizes are sampled too. And gozxing takes the
// first alignment pattern it confirms near where the bottom-right one
// would be if the code were a parallelogram; in a photo at an angle that
// guess is off by a module or two and a block of data modules nearby can
// look like an alignment pattern, so for every size the grid is also
// sampled from each of the qrAlignments candidates nearest the guess.
func readTriple(bm *gozxing.BitMatrix, info *detector.FinderPatternInfo) (string, bool) {
	tl, tr, bl := info.GetTopLeft(), info.GetTopRight(), info.GetBottomLeft()
	span := (gozxing.ResultPoint_Distance(tl, tr) + gozxing.ResultPoint_Distance(tl, bl)) / 2
	ms := (tl.GetEstimatedModuleSize() + tr.GetEstimatedModuleSize() + bl.GetEstimatedModuleSize()) / 3
	dim := 0
	if dr, err := detector.NewDetector(bm).ProcessFinderPatternInfo(info); err == nil {
		if text, ok := decodeGrid(dr.GetBits()); ok {
			return text, true
		}
		dim = dr.GetBits().GetWidth()
	} else if ms > 0 {
		dim = int(math.Round(span/ms)) + 7
		dim += [4]int{1, 0, -1, 2}[dim%4] // the nearest 4k+1
	}
	if dim == 0 {
		return "", false
	}
	for _, d := range []int{dim, dim - 4, dim + 4, dim - 8, dim + 8} {
		ver, err := decoder.Version_GetProvisionalVersionForDimension(d)
		if err != nil {
			continue
		}
		for _, ap := range alignmentCandidates(bm, tl, tr, bl, ver, span/float64(d-7)) {
			bits, err := detector.Detector_sampleGrid(bm, detector.Detector_createTransform(tl, tr, bl, ap, d), d)
			if err != nil {
				continue
			}
			if text, ok := decodeGrid(bits); ok {
				return text, true
			}
		}
	}
	return "", false
}

// decodeGrid decodes a sampled grid of modules.
func decodeGrid(bits *gozxing.BitMatrix) (string, bool) {
	res, err := decoder.NewDecoder().Decode(bits, nil)
	if err != nil {
		return "", false
	}
	return res.GetText(), true
}

// qrAlignments is how many candidate alignment patterns the grid of one
// code size is sampled from at most, and qrAlignmentsKept how many
// candidates (the nearest the guess) are kept while a window is searched:
// a window of data modules, or a hostile picture, holds hundreds.
const (
	qrAlignments     = 3
	qrAlignmentsKept = 4 * qrAlignments
)

// alignmentCandidates returns the likeliest places of the bottom-right
// alignment pattern of a code of version ver with modules of ms pixels,
// nearest first, at most qrAlignments: gozxing's guess is three modules in
// from where a fourth finder pattern would be, and its finder checks the
// 1:1:1 runs across and down. Each row of a window around the guess is
// searched on its own, so that every candidate in it is seen (gozxing's
// finder stops at the first it sees twice, which need not be the right
// one); the window grows from 4 to 16 modules each way until it holds
// qrAlignments. Without any (version 1, or none found) it returns one nil
// pattern: the grid is then sampled from the finder patterns alone.
func alignmentCandidates(bm *gozxing.BitMatrix, tl, tr, bl gozxing.ResultPoint, ver *decoder.Version, ms float64) []*detector.AlignmentPattern {
	none := []*detector.AlignmentPattern{nil}
	if len(ver.GetAlignmentPatternCenters()) == 0 || ms < 1 {
		return none
	}
	between := float64(ver.GetDimensionForVersion() - 7)
	brX := tr.GetX() - tl.GetX() + bl.GetX()
	brY := tr.GetY() - tl.GetY() + bl.GetY()
	k := 1 - 3/between
	estX := tl.GetX() + k*(brX-tl.GetX())
	estY := tl.GetY() + k*(brY-tl.GetY())
	type cluster struct {
		x, y float64
		n    int // rows it was seen in
	}
	dist := func(c cluster) float64 { return math.Hypot(c.x-estX, c.y-estY) }
	var found []cluster
	add := func(p gozxing.ResultPoint) {
		ap := p.(*detector.AlignmentPattern)
		for i := range found {
			c := &found[i]
			if ap.AboutEquals(ms, c.y, c.x) {
				c.n++
				c.x += (ap.GetX() - c.x) / float64(c.n)
				c.y += (ap.GetY() - c.y) / float64(c.n)
				return
			}
		}
		c := cluster{ap.GetX(), ap.GetY(), 1}
		if len(found) < qrAlignmentsKept {
			found = append(found, c)
			return
		}
		far := 0
		for i := range found {
			if dist(found[i]) > dist(found[far]) {
				far = i
			}
		}
		if dist(c) < dist(found[far]) {
			found[far] = c
		}
	}
	for f := 4; f <= 16 && len(found) < qrAlignments; f <<= 1 {
		r := int(float64(f) * ms)
		x0, x1 := max(0, int(estX)-r), min(bm.GetWidth()-1, int(estX)+r)
		y0, y1 := max(0, int(estY)-r), min(bm.GetHeight()-1, int(estY)+r)
		if float64(x1-x0) < 3*ms || float64(y1-y0) < 3*ms {
			break
		}
		found = found[:0] // the larger window holds the smaller
		for y := y0; y <= y1; y++ {
			detector.NewAlignmentPatternFinder(bm, x0, y, x1-x0, 1, ms, add).Find()
		}
	}
	if len(found) == 0 {
		return none
	}
	slices.SortStableFunc(found, func(a, b cluster) int { return cmp.Compare(dist(a), dist(b)) })
	out := make([]*detector.AlignmentPattern, 0, qrAlignments)
	for _, c := range found[:min(len(found), qrAlignments)] {
		out = append(out, detector.NewAlignmentPattern(c.x, c.y, ms))
	}
	return out
}

// greyOf returns the part r of img in grey, box-averaged by the smallest
// whole factor k that brings it to at most maxPixels, and k; nil when that
// leaves nothing (a picture a few pixels thin). Transparent pixels count as
// white paper. The decoded types the standard decoders return are read from
// their pixel slices; any other through At.
func greyOf(img image.Image, r image.Rectangle, maxPixels int) (*image.Gray, int) {
	w, h := r.Dx(), r.Dy()
	k := 1
	for (w/k)*(h/k) > maxPixels {
		k++
	}
	if w/k == 0 || h/k == 0 {
		return nil, k
	}
	g := image.NewGray(image.Rect(0, 0, w/k, h/k))
	row := make([]byte, w)
	sum := make([]uint32, g.Rect.Dx())
	n := uint32(k * k)
	for oy := range g.Rect.Dy() {
		clear(sum)
		for dy := range k {
			greyRow(img, r.Min.X, r.Min.Y+oy*k+dy, row)
			for ox := range sum {
				for _, v := range row[ox*k : ox*k+k] {
					sum[ox] += uint32(v)
				}
			}
		}
		out := g.Pix[oy*g.Stride:]
		for ox, s := range sum {
			out[ox] = byte(s / n)
		}
	}
	return g, k
}

// greyRow writes the grey values (ITU-R BT.601 luma) of len(row) pixels of
// img from (x, y) into row.
func greyRow(img image.Image, x, y int, row []byte) {
	luma := func(r, g, b uint32) uint32 { return (299*r + 587*g + 114*b + 500) / 1000 }
	switch m := img.(type) {
	case *image.Gray:
		copy(row, m.Pix[m.PixOffset(x, y):])
	case *image.YCbCr:
		copy(row, m.Y[m.YOffset(x, y):])
	case *image.RGBA: // premultiplied: over white, add what alpha leaves
		p := m.Pix[m.PixOffset(x, y):]
		for i := range row {
			q := p[4*i : 4*i+4 : 4*i+4]
			row[i] = byte(luma(uint32(q[0]), uint32(q[1]), uint32(q[2])) + 255 - uint32(q[3]))
		}
	case *image.NRGBA:
		p := m.Pix[m.PixOffset(x, y):]
		for i := range row {
			q := p[4*i : 4*i+4 : 4*i+4]
			a := uint32(q[3])
			row[i] = byte((luma(uint32(q[0]), uint32(q[1]), uint32(q[2]))*a + 255*(255-a)) / 255)
		}
	case *image.Paletted:
		var lum [256]byte
		for i, c := range m.Palette {
			r, g, b, a := c.RGBA()
			lum[i] = byte((luma(r, g, b) + 0xffff - a) >> 8)
		}
		p := m.Pix[m.PixOffset(x, y):]
		for i := range row {
			row[i] = lum[p[i]]
		}
	case *image.Gray16:
		p := m.Pix[m.PixOffset(x, y):]
		for i := range row {
			row[i] = p[2*i]
		}
	default:
		for i := range row {
			r, g, b, a := img.At(x+i, y).RGBA()
			row[i] = byte((luma(r, g, b) + 0xffff - a) >> 8)
		}
	}
}

// verifyCompact checks a ZZ1: compact form: its SM2 signature with the
// department key it names, then the same key, type, validity and status
// checks as a credential. It carries no receipt and no digest, so offline
// the anchor check is skipped and online only the ledger's anchor fields
// are compared.
func (v *run) verifyCompact(s string) {
	if isLive(s) { // a photo of a live code
		v.verifyLive(s)
		return
	}
	v.r.Form = FormCompact
	c, err := credential.ParseCompact(s)
	if err != nil {
		v.add(NameFormat, fail("不是本平台的证照二维码：%v", err))
		v.skipRest("未检查：输入无法读取")
		return
	}
	v.compact = c
	v.r.Identifier, v.r.TypeCode, v.r.TypeName = c.Identifier, c.TypeCode, c.TypeName
	if name := v.ix.typeName(c.TypeCode, 0); name != "" {
		v.r.TypeName = name
	}
	v.id, v.idErr = license.ParseIdentifier(c.Identifier)
	v.created = c.IssuedAt.Format(time.RFC3339)
	if c.Expires != nil {
		v.validUntil = c.Expires.Format(time.RFC3339)
	}
	v.vmUSCC, v.vmKey = c.Issuer, c.KeyID
	v.add(NameFormat, pass("格式正确的证照二维码（ZZ1）："+c.Identifier+"，持证主体 "+c.Holder+" "+c.HolderCodeMasked))
	v.add(NameIssuer, v.compactIssuer())
	v.add(NameProof, v.compactProof())
	v.lookupAnchor()
	v.add(NameKey, v.key())
	v.add(NameType, v.licenseType())
	v.add(NameValidity, v.validity())
	v.add(NameStatus, v.status())
	v.add(NameAnchor, v.anchor())
}

func (v *run) compactIssuer() outcome {
	c := v.compact
	v.uscc = c.Issuer
	v.r.Issuer, v.r.IssuerName = c.Issuer, c.IssuerName
	de := v.ix.depts[c.Issuer]
	if de == nil {
		v.issuerUnknown = true
		return fail("签发机构 %s 不在信任包的部门中", c.Issuer)
	}
	v.dept = de
	v.r.IssuerName = de.dept.Name
	if v.idErr == nil && v.id.IssuerUSCC != c.Issuer {
		return fail("电子证照标识中的签发机构是另一部门（%s）", v.id.IssuerUSCC)
	}
	return v.issuedBy()
}

func (v *run) compactProof() outcome {
	if v.dept == nil {
		return skip(notInBundle)
	}
	c := v.compact
	if o, ok := v.useKey(c.KeyID); !ok {
		return o
	}
	if err := c.VerifySignature(v.signingKey.pub); err != nil {
		return fail("二维码的 SM2 签名用密钥 %s 验证不通过：内容被改动，或由其他密钥签名", c.KeyID)
	}
	return pass("二维码的 SM2 签名用密钥 " + c.KeyID + " 验证通过")
}
