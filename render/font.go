package render

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
)

// FontPaths are the Debian font files FindFont tries, in order: AR PL
// SungtiL GB (宋体 style, package fonts-arphic-gbsn00lp), then LXGW WenKai
// (楷体 style, package fonts-lxgw-wenkai).
var FontPaths = []string{
	"/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",
	"/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf",
}

// FindFont reads the first CJK TrueType font of FontPaths that exists. When
// none is installed it returns an error wrapping ErrFontNotFound that names
// the Debian package to install; the renderer never falls back to a font
// without Chinese glyphs.
func FindFont() ([]byte, error) {
	for _, p := range FontPaths {
		b, err := os.ReadFile(p)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("render: read font %s: %w", p, err)
		}
	}
	return nil, fmt.Errorf("%w: tried %v; install the Debian package fonts-arphic-gbsn00lp (or fonts-lxgw-wenkai)", ErrFontNotFound, FontPaths)
}

// ttFont is a TrueType font parsed once by NewRenderer. subset cuts it to
// the characters one PDF uses, so that fpdf, which parses and subsets a
// whole font for every document, only ever sees a font of a few hundred
// glyphs (see DESIGN note in doc.go).
type ttFont struct {
	tables   map[string][]byte // raw tables by tag
	cmap     map[rune]uint16   // character to glyph ID
	loca     []uint32          // glyph offsets into glyf, numGlyphs+1
	advances []uint16          // advance width per glyph
	lsbs     []int16           // left side bearing per glyph
}

// Tables copied unchanged into every subset. cvt/fpgm/prep/gasp carry the
// hinting programs the glyph instructions refer to.
var copiedTables = []string{"OS/2", "name", "cvt ", "fpgm", "prep", "gasp"}

func parseTTF(b []byte) (*ttFont, error) {
	if len(b) < 12 {
		return nil, fmt.Errorf("%w: %d bytes is too short for a font", ErrBadFont, len(b))
	}
	switch v := binary.BigEndian.Uint32(b); v {
	case 0x00010000, 0x74727565: // TrueType outlines
	case 0x74746366:
		return nil, fmt.Errorf("%w: a TrueType collection (.ttc) is not supported, use a .ttf", ErrBadFont)
	case 0x4F54544F:
		return nil, fmt.Errorf("%w: an OpenType font with CFF outlines (.otf) is not supported, use a .ttf", ErrBadFont)
	default:
		return nil, fmt.Errorf("%w: not a TrueType font (tag %08x)", ErrBadFont, v)
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	if len(b) < 12+16*n {
		return nil, fmt.Errorf("%w: truncated table directory", ErrBadFont)
	}
	f := &ttFont{tables: make(map[string][]byte, n)}
	for i := range n {
		rec := b[12+16*i:]
		tag := string(rec[:4])
		off, ln := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if uint64(off)+uint64(ln) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: table %q lies outside the file", ErrBadFont, tag)
		}
		f.tables[tag] = b[off : off+ln]
	}
	for _, tag := range []string{"head", "hhea", "maxp", "hmtx", "loca", "glyf", "cmap", "post", "name", "OS/2"} {
		if f.tables[tag] == nil {
			return nil, fmt.Errorf("%w: the font has no %q table", ErrBadFont, tag)
		}
	}
	head, hhea, maxp := f.tables["head"], f.tables["hhea"], f.tables["maxp"]
	if len(head) < 54 || len(hhea) < 36 || len(maxp) < 6 || len(f.tables["post"]) < 32 {
		return nil, fmt.Errorf("%w: head, hhea, maxp or post table is too short", ErrBadFont)
	}
	numGlyphs := int(binary.BigEndian.Uint16(maxp[4:]))
	numHM := int(binary.BigEndian.Uint16(hhea[34:]))
	if numGlyphs == 0 || numHM == 0 || numHM > numGlyphs {
		return nil, fmt.Errorf("%w: %d glyphs, %d horizontal metrics", ErrBadFont, numGlyphs, numHM)
	}
	hmtx := f.tables["hmtx"]
	if len(hmtx) < 4*numHM+2*(numGlyphs-numHM) {
		return nil, fmt.Errorf("%w: hmtx table is too short", ErrBadFont)
	}
	f.advances = make([]uint16, numGlyphs)
	f.lsbs = make([]int16, numGlyphs)
	for g := range numGlyphs {
		if g < numHM {
			f.advances[g] = binary.BigEndian.Uint16(hmtx[4*g:])
			f.lsbs[g] = int16(binary.BigEndian.Uint16(hmtx[4*g+2:]))
		} else {
			f.advances[g] = f.advances[numHM-1]
			f.lsbs[g] = int16(binary.BigEndian.Uint16(hmtx[4*numHM+2*(g-numHM):]))
		}
	}
	loca, glyf := f.tables["loca"], f.tables["glyf"]
	f.loca = make([]uint32, numGlyphs+1)
	long := binary.BigEndian.Uint16(head[50:]) == 1
	for g := range numGlyphs + 1 {
		switch {
		case long && len(loca) >= 4*(g+1):
			f.loca[g] = binary.BigEndian.Uint32(loca[4*g:])
		case !long && len(loca) >= 2*(g+1):
			f.loca[g] = 2 * uint32(binary.BigEndian.Uint16(loca[2*g:]))
		default:
			return nil, fmt.Errorf("%w: loca table is too short", ErrBadFont)
		}
		if f.loca[g] > uint32(len(glyf)) || (g > 0 && f.loca[g] < f.loca[g-1]) {
			return nil, fmt.Errorf("%w: loca entry %d is out of order or outside glyf", ErrBadFont, g)
		}
	}
	cmap, err := parseCmap(f.tables["cmap"], numGlyphs)
	if err != nil {
		return nil, err
	}
	f.cmap = cmap
	return f, nil
}

// parseCmap reads the Unicode BMP mapping (format 4, platform 3 encoding 1
// or platform 0), the only one fpdf understands.
func parseCmap(t []byte, numGlyphs int) (map[rune]uint16, error) {
	if len(t) < 4 {
		return nil, fmt.Errorf("%w: cmap table is too short", ErrBadFont)
	}
	n := int(binary.BigEndian.Uint16(t[2:]))
	for i := range n {
		if len(t) < 4+8*(i+1) {
			break
		}
		rec := t[4+8*i:]
		pid, eid, off := binary.BigEndian.Uint16(rec), binary.BigEndian.Uint16(rec[2:]), binary.BigEndian.Uint32(rec[4:])
		if !(pid == 3 && eid == 1) && pid != 0 {
			continue
		}
		if uint64(off)+14 > uint64(len(t)) || binary.BigEndian.Uint16(t[off:]) != 4 {
			continue
		}
		return parseCmap4(t[off:], numGlyphs)
	}
	return nil, fmt.Errorf("%w: the font has no Unicode format 4 cmap", ErrBadFont)
}

func parseCmap4(t []byte, numGlyphs int) (map[rune]uint16, error) {
	segs := int(binary.BigEndian.Uint16(t[6:])) / 2
	if len(t) < 16+8*segs {
		return nil, fmt.Errorf("%w: cmap format 4 subtable is too short", ErrBadFont)
	}
	u16 := func(i int) uint16 { return binary.BigEndian.Uint16(t[i:]) }
	ends, starts, deltas, ranges := 14, 16+2*segs, 16+4*segs, 16+6*segs
	m := make(map[rune]uint16, 8192)
	for s := range segs {
		end, start, delta, ro := int(u16(ends+2*s)), int(u16(starts+2*s)), u16(deltas+2*s), int(u16(ranges+2*s))
		for c := start; c <= end && c != 0xFFFF; c++ {
			var g uint16
			if ro == 0 {
				g = uint16(c) + delta
			} else {
				p := ranges + 2*s + ro + 2*(c-start)
				if p+2 > len(t) {
					continue
				}
				if g = u16(p); g != 0 {
					g += delta
				}
			}
			if g != 0 && int(g) < numGlyphs {
				m[rune(c)] = g
			}
		}
	}
	return m, nil
}

// has reports whether the font has a glyph for r.
func (f *ttFont) has(r rune) bool { _, ok := f.cmap[r]; return ok }

// composite glyph flags (TrueType glyf).
const (
	argsAreWords   = 0x0001
	weHaveAScale   = 0x0008
	moreComponents = 0x0020
	weHaveXYScale  = 0x0040
	weHave2x2      = 0x0080
)

// subset returns a TrueType font holding only the glyphs of runes (plus
// .notdef and the components of composite glyphs), with a format 4 cmap for
// exactly those runes. Every rune must be in the font's BMP cmap.
func (f *ttFont) subset(runes []rune) ([]byte, error) {
	newID := map[uint16]uint16{0: 0}
	order := []uint16{0}
	add := func(g uint16) uint16 {
		if id, ok := newID[g]; ok {
			return id
		}
		id := uint16(len(order))
		newID[g] = id
		order = append(order, g)
		return id
	}
	type mapping struct {
		r rune
		g uint16
	}
	maps := make([]mapping, 0, len(runes))
	for _, r := range runes {
		g, ok := f.cmap[r]
		if !ok {
			return nil, missingGlyph(r)
		}
		maps = append(maps, mapping{r, add(g)})
	}
	glyf := f.tables["glyf"]
	// Walk the growing list so components of components are included.
	for i := 0; i < len(order); i++ {
		d := glyf[f.loca[order[i]]:f.loca[order[i]+1]]
		if len(d) < 10 || int16(binary.BigEndian.Uint16(d)) >= 0 {
			continue
		}
		err := walkComponents(d, func(pos int) {
			add(binary.BigEndian.Uint16(d[pos:]))
		})
		if err != nil {
			return nil, err
		}
	}

	var glyfOut, locaOut, hmtxOut []byte
	for _, g := range order {
		locaOut = binary.BigEndian.AppendUint32(locaOut, uint32(len(glyfOut)))
		d := glyf[f.loca[g]:f.loca[g+1]]
		start := len(glyfOut)
		glyfOut = append(glyfOut, d...)
		if len(d) >= 10 && int16(binary.BigEndian.Uint16(d)) < 0 {
			c := glyfOut[start:]
			_ = walkComponents(c, func(pos int) {
				binary.BigEndian.PutUint16(c[pos:], newID[binary.BigEndian.Uint16(c[pos:])])
			})
		}
		for len(glyfOut)%4 != 0 {
			glyfOut = append(glyfOut, 0)
		}
		hmtxOut = binary.BigEndian.AppendUint16(hmtxOut, f.advances[g])
		hmtxOut = binary.BigEndian.AppendUint16(hmtxOut, uint16(f.lsbs[g]))
	}
	locaOut = binary.BigEndian.AppendUint32(locaOut, uint32(len(glyfOut)))

	n := uint16(len(order))
	head := slices.Clone(f.tables["head"])
	binary.BigEndian.PutUint32(head[8:], 0) // checkSumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1)
	hhea := slices.Clone(f.tables["hhea"])
	binary.BigEndian.PutUint16(hhea[34:], n)
	maxp := slices.Clone(f.tables["maxp"])
	binary.BigEndian.PutUint16(maxp[4:], n)
	post := slices.Clone(f.tables["post"][:32])
	binary.BigEndian.PutUint32(post, 0x00030000) // no glyph names

	slices.SortFunc(maps, func(a, b mapping) int { return int(a.r) - int(b.r) })
	// One segment per run of consecutive characters with consecutive glyph IDs.
	type seg struct{ start, end, delta uint16 }
	var segs []seg
	for _, m := range maps {
		d := uint16(m.g) - uint16(m.r)
		if k := len(segs) - 1; k >= 0 && segs[k].end+1 == uint16(m.r) && segs[k].delta == d {
			segs[k].end++
			continue
		}
		segs = append(segs, seg{uint16(m.r), uint16(m.r), d})
	}
	segs = append(segs, seg{0xFFFF, 0xFFFF, 1})
	sc := len(segs)
	sub := make([]byte, 16+8*sc)
	binary.BigEndian.PutUint16(sub[0:], 4)
	binary.BigEndian.PutUint16(sub[2:], uint16(len(sub)))
	binary.BigEndian.PutUint16(sub[6:], uint16(2*sc))
	es := 0
	for 1<<(es+1) <= sc {
		es++
	}
	sr := 2 << es
	binary.BigEndian.PutUint16(sub[8:], uint16(sr))
	binary.BigEndian.PutUint16(sub[10:], uint16(es))
	binary.BigEndian.PutUint16(sub[12:], uint16(2*sc-sr))
	for i, s := range segs {
		binary.BigEndian.PutUint16(sub[14+2*i:], s.end)
		binary.BigEndian.PutUint16(sub[16+2*sc+2*i:], s.start)
		binary.BigEndian.PutUint16(sub[16+4*sc+2*i:], s.delta)
	}
	cmap := []byte{0, 0, 0, 1, 0, 3, 0, 1, 0, 0, 0, 12}
	cmap = append(cmap, sub...)

	out := map[string][]byte{
		"head": head, "hhea": hhea, "maxp": maxp, "post": post, "cmap": cmap,
		"glyf": glyfOut, "loca": locaOut, "hmtx": hmtxOut,
	}
	for _, tag := range copiedTables {
		if t := f.tables[tag]; t != nil {
			out[tag] = t
		}
	}
	return assembleTTF(out), nil
}

// walkComponents calls fn with the offset of each component's glyph index
// in the composite glyph d.
func walkComponents(d []byte, fn func(pos int)) error {
	pos := 10
	for {
		if pos+4 > len(d) {
			return fmt.Errorf("%w: truncated composite glyph", ErrBadFont)
		}
		flags := binary.BigEndian.Uint16(d[pos:])
		fn(pos + 2)
		pos += 4
		if flags&argsAreWords != 0 {
			pos += 4
		} else {
			pos += 2
		}
		switch {
		case flags&weHaveAScale != 0:
			pos += 2
		case flags&weHaveXYScale != 0:
			pos += 4
		case flags&weHave2x2 != 0:
			pos += 8
		}
		if flags&moreComponents == 0 {
			return nil
		}
	}
}

// assembleTTF writes an sfnt file with sorted, 4-byte aligned tables and
// correct checksums.
func assembleTTF(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	n := len(tags)
	es := 0
	for 1<<(es+1) <= n {
		es++
	}
	sr := (1 << es) * 16
	size := 12 + 16*n
	for _, t := range tags {
		size += (len(tables[t]) + 3) &^ 3
	}
	b := make([]byte, 12+16*n, size)
	binary.BigEndian.PutUint32(b, 0x00010000)
	binary.BigEndian.PutUint16(b[4:], uint16(n))
	binary.BigEndian.PutUint16(b[6:], uint16(sr))
	binary.BigEndian.PutUint16(b[8:], uint16(es))
	binary.BigEndian.PutUint16(b[10:], uint16(n*16-sr))
	headAt := 0
	for i, t := range tags {
		d := tables[t]
		rec := b[12+16*i:]
		copy(rec, t)
		binary.BigEndian.PutUint32(rec[4:], checksum(d))
		binary.BigEndian.PutUint32(rec[8:], uint32(len(b)))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(d)))
		if t == "head" {
			headAt = len(b)
		}
		b = append(b, d...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	binary.BigEndian.PutUint32(b[headAt+8:], 0xB1B0AFBA-checksum(b))
	return b
}

func checksum(d []byte) uint32 {
	var s uint32
	for i := 0; i < len(d); i += 4 {
		var w [4]byte
		copy(w[:], d[i:])
		s += binary.BigEndian.Uint32(w[:])
	}
	return s
}
