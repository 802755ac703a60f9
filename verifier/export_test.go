package verifier

import (
	"fmt"

	"zhengzhao/license"
)

// FacePos is where a printed field's value starts: its page and the start
// of its baseline, in points.
type FacePos struct {
	Page int
	X, Y float64
}

// FacePositions reads a genuine license PDF whose face is f and returns
// where each field's value is printed, by field (as license.FaceRow.Field):
// where a test stamps over it.
func FacePositions(pdf []byte, f license.Face) (map[string]FacePos, error) {
	ctx, err := readPDF(pdf)
	if err != nil {
		return nil, err
	}
	pf, err := readFace(ctx, pdf)
	if err != nil {
		return nil, err
	}
	images := 0
	for _, m := range pf.marks {
		if m.kind == "图片" {
			images++
		}
	}
	items := faceItems(f, images > 0)
	if fe := pf.match(items); fe != nil {
		return nil, fmt.Errorf("%s", fe.Reason)
	}
	out := map[string]FacePos{}
	for _, it := range items {
		if it.field != "" && !it.isLabel && len(it.runs) > 0 {
			r := it.runs[0]
			out[it.field] = FacePos{r.page, r.x, r.y}
		}
	}
	return out, nil
}
