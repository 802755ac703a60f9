package credential

// A DEFLATE (RFC 1951) encoder in a zlib (RFC 1950) wrapper for the small
// inputs of the compact QR form: one COSE_Sign1 of some 300-400 bytes.
//
// Why it is hand-written: compress/zlib at BestCompression spends ~28-37 µs
// on a 335-byte input, almost all of it fixed cost of compress/flate that
// does not shrink with the input (compressor.reset clears ~640 KiB of hash
// tables, huffmanEncoder.generate sorts whole alphabets, and level 9 also
// prices fixed and stored blocks), and the registry makes one compact form
// per license issued, thousands a second. github.com/klauspost/compress was
// measured too: faster, but its output is larger at every level (318-347
// bytes against the stdlib's 294 on the vector's 335-byte input; stateless
// 326), and the compact form is printed as a QR code, where every byte
// counts. This encoder is sized to the input instead: hash-chain match
// finding over the whole input (8 candidates a position: on compact forms
// 4 already find the same parse as 1,024), an optimal (shortest-path)
// parse priced by the fixed code (and, where the dynamic code comes near,
// by the previous pass's Huffman code lengths), one final block, and
// whichever of dynamic Huffman, fixed Huffman and stored is smallest. On
// compact forms the fixed code wins: CJK text and a random signature make
// a dynamic header cost more than it saves.
//
// Measured (deflate_test.go, on a 2-core machine shared with other work):
// ~7 µs and one allocation for the vector's 335 bytes against ~29 µs and 4
// allocations, and 288 bytes against 294 (C zlib -9 also makes 288):
// compress/zlib ends every stream with an empty stored block (5 bytes),
// and the parse is as good or better. Over 400 generated compact forms
// (TestCompressSmallSize; fresh signatures each run) every output was 1-14
// bytes smaller than compress/zlib's, 6.5 on average.
//
// Inputs larger than smallDeflateMax go to compress/zlib: the encoder's
// work grows faster than the input on repetitive data (the parse prices
// every match length), and compact forms are smaller: their claims are
// bounded (names at most 200 characters): 300-400 bytes usually, some
// 2,050 with every name at 200 characters.

import (
	"encoding/binary"
	"hash/adler32"
	"math"
	"math/bits"
	"slices"
	"sync"
)

const (
	// smallDeflateMax is the largest input compressSmall takes.
	smallDeflateMax = 4 << 10

	dfMinMatch  = 3
	dfMaxMatch  = 258
	dfMaxChain  = 8 // candidates tried per position: on compact forms 4 find the same parse as 1,024
	dfPasses    = 4 // parse passes at most (the first priced as the fixed code)
	dfEndBlock  = 256
	dfNumLitLen = 288 // literal/length symbols 0..285, and 286, 287 that complete the fixed code
	dfNumDist   = 30  // distance symbols 0..29
	dfNumCL     = 19  // code-length symbols 0..18
	dfMaxBits   = 15  // longest literal/length or distance code
	dfMaxCLBits = 7   // longest code-length code
	dfHashMin   = 8   // hash table bits, at least
	dfHashMax   = 14  // and at most

	// zlib header: CM 8 (deflate), CINFO 7 (32 KiB window), no
	// dictionary, FLEVEL 3 (best compression), as compress/zlib writes it
	// at BestCompression; 0x78DA is a multiple of 31 (FCHECK).
	zlibCMF = 0x78
	zlibFLG = 0xda
)

// clOrder is the order in which the code-length code lengths are written.
var clOrder = [dfNumCL]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// lenSym and lenExtra give, for a match length minus 3, its length symbol
// minus 257 and its number of extra bits (RFC 1951 §3.2.5).
var lenSym, lenExtra [dfMaxMatch - dfMinMatch + 1]uint8

// lenBase is the smallest length of each length symbol minus 257.
var lenBase [29]uint16

func init() {
	for l := range dfMaxMatch - dfMinMatch + 1 {
		switch {
		case l < 8:
			lenSym[l] = uint8(l)
		case l == dfMaxMatch-dfMinMatch:
			lenSym[l] = 28
		default:
			nb := bits.Len(uint(l)) - 1
			lenSym[l] = uint8(4*(nb-1) + (l>>(nb-2))&3)
			lenExtra[l] = uint8(nb - 2)
		}
	}
	for l := dfMaxMatch - dfMinMatch; l >= 0; l-- {
		lenBase[lenSym[l]] = uint16(l + dfMinMatch)
	}
}

// distSym returns the distance symbol of d (1..32768), its number of extra
// bits and their value.
func distSym(d uint32) (sym, nExtra, extra uint32) {
	d--
	if d < 4 {
		return d, 0, 0
	}
	nb := uint32(bits.Len32(d)) - 1
	return 2*nb + (d>>(nb-1))&1, nb - 1, d & (1<<(nb-1) - 1)
}

// dfMatch is one match candidate: the input at distance dist repeats for
// length bytes.
type dfMatch struct{ length, dist uint16 }

// smallDeflater holds one call's working memory, all of it sized to the
// input; deflaters are pooled.
type smallDeflater struct {
	head    []uint32  // hash → 1 + the latest position with that hash
	prev    []uint32  // position → 1 + the previous position with its hash
	matchAt []uint32  // position → its first entry in matches; len n+1
	matches []dfMatch // per position: increasing lengths, each at its least distance
	cost    []uint32  // position → bits of the cheapest parse up to it
	from    []uint32  // position → the token that ends the cheapest parse there
	tokens  []uint32  // parse's buffer
	parsed  []uint32  // a parse: literal byte b as b, match as length<<16 | dist
	best    []uint32  // the tokens of the smallest block so far

	litCost  [dfNumLitLen]uint32
	distCost [dfNumDist]uint32
	lenCost  [dfMaxMatch + 1]uint32

	litFreq  [dfNumLitLen]uint32
	distFreq [dfNumDist]uint32
	litLens  [dfNumLitLen]uint8
	distLens [dfNumDist]uint8

	huff huffScratch
	cl   clEncoding

	kind     blockKind // of the smallest block so far
	bestBits int       // its size
}

var smallDeflaters = sync.Pool{New: func() any { return new(smallDeflater) }}

// compressSmall returns data as one zlib stream, or nil if data is longer
// than smallDeflateMax.
func compressSmall(data []byte) []byte {
	if len(data) > smallDeflateMax {
		return nil
	}
	e := smallDeflaters.Get().(*smallDeflater)
	defer smallDeflaters.Put(e)
	return e.compress(data)
}

// blockKind is the type of a DEFLATE block (BTYPE).
type blockKind uint8

const (
	blockStored  blockKind = 0
	blockFixed   blockKind = 1
	blockDynamic blockKind = 2
)

func (e *smallDeflater) compress(data []byte) []byte {
	n := len(data)
	// Pass 0 (in findMatches) prices the fixed code. Where the dynamic
	// code of its parse comes within 1/16 of the fixed code's size, more
	// passes price the dynamic code of the previous pass's parse, while
	// that makes it smaller: once from pass 0, once from a parse that
	// prices literals by the input's byte counts (the other extreme: the
	// fixed code makes literals dear). Keep the smallest block. (For
	// compact forms, mostly CJK text and a random signature, the fixed code
	// wins by some 30 bytes, and one pass is all.)
	e.findMatches(data)
	e.countTokens(e.parsed)
	e.kind, e.bestBits = blockFixed, e.fixedBits()
	e.best = append(e.best[:0], e.parsed...)
	if dynBits := e.dynamicBits(); dynBits < e.bestBits+e.bestBits/16 {
		e.consider(dynBits, e.parsed)
		e.dynamicCosts()
		e.refine(data)
		e.literalCosts(data)
		e.refine(data)
	}
	kind, bestBits := e.kind, e.bestBits
	// A stored block: 3 header bits, padding, LEN and NLEN, the bytes.
	if storedBytes := 1 + 4 + n; storedBytes < (bestBits+7)/8 {
		kind = blockStored
	}

	var w bitWriter
	w.out = make([]byte, 0, 2+(bestBits+7)/8+4+8)
	w.out = append(w.out, zlibCMF, zlibFLG)
	w.room(1)
	w.bits(1, 1) // BFINAL
	w.bits(uint64(kind), 2)
	switch kind {
	case blockStored:
		w.flushByte()
		w.out = binary.LittleEndian.AppendUint16(w.out, uint16(n))
		w.out = binary.LittleEndian.AppendUint16(w.out, ^uint16(n))
		w.out = append(w.out, data...)
	case blockFixed:
		e.writeTokens(&w, &fixedCode.litCodes, &fixedCode.litLens, &fixedCode.distCodes, &fixedCode.distLens)
	default:
		e.countTokens(e.best)
		e.dynamicBits() // the code lengths of the best parse
		e.writeDynamicHeader(&w)
		var litCodes [dfNumLitLen]uint16
		var distCodes [dfNumDist]uint16
		canonicalCodes(e.litLens[:], litCodes[:])
		canonicalCodes(e.distLens[:], distCodes[:])
		e.writeTokens(&w, &litCodes, &e.litLens, &distCodes, &e.distLens)
	}
	w.flushByte()
	return binary.BigEndian.AppendUint32(w.out, adler32.Checksum(data))
}

// grow returns s with length n, reusing its memory when it can.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// findMatches lists, for every position, the longest match at each
// distance that beats every nearer one: for each length, the least
// distance that reaches it. As it goes it finds the cheapest parse under
// the fixed code, as parse does, into parsed.
func (e *smallDeflater) findMatches(data []byte) {
	n := len(data)
	hb := min(max(bits.Len(uint(n))+2, dfHashMin), dfHashMax)
	e.head = grow(e.head, 1<<hb)
	e.prev = grow(e.prev, n)
	e.matchAt = grow(e.matchAt, n+1)
	e.cost = grow(e.cost, n+1)
	e.from = grow(e.from, n+1)
	// Slices of known length let the compiler drop bounds checks.
	head, prev, matchAt, matches := e.head, e.prev[:n], e.matchAt[:n+1], e.matches[:0]
	cost, from := e.cost[:n+1], e.from[:n+1]
	litCost, distCost, lenCost := &fixedCost.lit, &fixedCost.dist, &fixedCost.length
	clear(head)
	for i := range cost {
		cost[i] = ^uint32(0)
	}
	cost[0] = 0
	shift := 32 - hb
	// c is cost[i], carried: no later position changes it once the
	// parse reaches i (matches end 3 or more bytes on).
	c := uint32(0)
	cost1, from1 := cost[1:][:len(data)], from[1:][:len(data)] // cost1[i] is cost[i+1]
	matchAt0 := matchAt[:len(data)]
	for i, b := range data {
		matchAt0[i] = uint32(len(matches))
		cur := c
		c = cost1[i]
		if v := cur + litCost[b]; v < c {
			c, from1[i] = v, uint32(b)
		}
		if i+dfMinMatch > n {
			continue
		}
		d := data[i : i+dfMinMatch]
		h := (uint32(d[0]) | uint32(d[1])<<8 | uint32(d[2])<<16) * 0x9e3779b1 >> shift
		limit := min(dfMaxMatch, n-i)
		best := dfMinMatch - 1
		next := d[best]
		for ch, chain := head[h], dfMaxChain; ch != 0 && chain > 0; ch, chain = prev[ch-1], chain-1 {
			j := int(ch - 1)
			if data[j+best] != next {
				continue
			}
			l := matchLen(data[j:], data[i:], limit)
			if l <= best {
				continue
			}
			dist := uint32(i - j)
			matches = append(matches, dfMatch{uint16(l), uint16(dist)})
			ds, nx, _ := distSym(dist)
			dc := cur + distCost[ds] + nx
			to := cost[i+best+1 : i+l+1]
			fromTo := from[i+best+1:][:len(to)]
			for k := range to {
				if v := dc + lenCost[best+1+k]; v < to[k] {
					to[k], fromTo[k] = v, uint32(best+1+k)<<16|dist
				}
			}
			if l == limit {
				break
			}
			best, next = l, data[i+l]
		}
		prev[i] = head[h]
		head[h] = uint32(i + 1)
	}
	matchAt[n] = uint32(len(matches))
	e.matches = matches
	e.backtrack(n)
}

// matchLen returns how many of the first limit bytes of a and b are equal.
func matchLen(a, b []byte, limit int) int {
	i := 0
	for ; i+8 <= limit; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)>>3
		}
	}
	for ; i < limit && a[i] == b[i]; i++ {
	}
	return i
}

// parse finds the cheapest parse of data under the current costs
// (litCost, distCost, lenCost) into tokens.
func (e *smallDeflater) parse(data []byte) {
	n := len(data)
	e.cost = grow(e.cost, n+1)
	e.from = grow(e.from, n+1)
	cost, from, matchAt, matches := e.cost, e.from, e.matchAt[:n+1], e.matches
	litCost, distCost, lenCost := &e.litCost, &e.distCost, &e.lenCost
	for i := range cost {
		cost[i] = ^uint32(0)
	}
	c := uint32(0) // cost[i], carried as in findMatches
	for i, b := range data {
		cur := c
		c = cost[i+1]
		if v := cur + litCost[b]; v < c {
			c, from[i+1] = v, uint32(b)
		}
		prevLen := dfMinMatch - 1
		for _, m := range matches[matchAt[i]:matchAt[i+1]] {
			ds, nx, _ := distSym(uint32(m.dist))
			dc := cur + distCost[ds] + nx
			to := cost[i+prevLen+1 : i+int(m.length)+1]
			for k := range to {
				l := prevLen + 1 + k
				if v := dc + lenCost[l]; v < to[k] {
					to[k], from[i+l] = v, uint32(l)<<16|uint32(m.dist)
				}
			}
			prevLen = int(m.length)
		}
	}
	e.backtrack(n)
}

// backtrack sets parsed to the cheapest parse that from records, written
// from the end of the tokens buffer.
func (e *smallDeflater) backtrack(n int) {
	e.tokens = grow(e.tokens, n)
	tokens, from := e.tokens, e.from[:n+1]
	k := n
	for p := n; p > 0; {
		t := from[p]
		k--
		tokens[k] = t
		if t>>16 == 0 {
			p--
		} else {
			p -= int(t >> 16)
		}
	}
	e.parsed = tokens[k:]
}

// setLenCosts prices each match length from litCost.
func (e *smallDeflater) setLenCosts() {
	for l := dfMinMatch; l <= dfMaxMatch; l++ {
		e.lenCost[l] = e.litCost[257+int(lenSym[l-dfMinMatch])] + uint32(lenExtra[l-dfMinMatch])
	}
}

// fixedCode is the fixed Huffman code (RFC 1951 §3.2.6), and fixedCost its
// prices of symbols and match lengths.
var (
	fixedCode struct {
		litLens   [dfNumLitLen]uint8
		distLens  [dfNumDist]uint8
		litCodes  [dfNumLitLen]uint16
		distCodes [dfNumDist]uint16
	}
	fixedCost struct {
		lit    [dfNumLitLen]uint32
		dist   [dfNumDist]uint32
		length [dfMaxMatch + 1]uint32
	}
)

func init() {
	c := &fixedCode
	for s := range c.litLens {
		switch {
		case s < 144:
			c.litLens[s] = 8
		case s < 256:
			c.litLens[s] = 9
		case s < 280:
			c.litLens[s] = 7
		default:
			c.litLens[s] = 8
		}
	}
	for s := range c.distLens {
		c.distLens[s] = 5
	}
	canonicalCodes(c.litLens[:], c.litCodes[:])
	canonicalCodes(c.distLens[:], c.distCodes[:])
	var e smallDeflater
	for s, l := range c.litLens {
		e.litCost[s] = uint32(l)
	}
	for s, l := range c.distLens {
		e.distCost[s] = uint32(l)
	}
	e.setLenCosts()
	fixedCost.lit, fixedCost.dist, fixedCost.length = e.litCost, e.distCost, e.lenCost
}

// consider keeps tokens as the best parse if their dynamic block of bits
// is the smallest block so far.
func (e *smallDeflater) consider(bits int, tokens []uint32) {
	if bits < e.bestBits {
		e.kind, e.bestBits = blockDynamic, bits
		e.best = append(e.best[:0], tokens...)
	}
}

// refine parses data under the current costs, then under the dynamic code
// of each parse, while the blocks get smaller (dfPasses-1 parses at most),
// and considers each.
func (e *smallDeflater) refine(data []byte) {
	last := math.MaxInt
	for range dfPasses - 1 {
		e.parse(data)
		e.countTokens(e.parsed)
		b := e.dynamicBits()
		e.consider(b, e.parsed)
		if b >= last {
			return
		}
		last = b
		e.dynamicCosts()
	}
}

// literalCosts prices literals by a Huffman code of data's byte counts, and
// lengths and distances by the fixed code.
func (e *smallDeflater) literalCosts(data []byte) {
	clear(e.litFreq[:])
	for _, b := range data {
		e.litFreq[b]++
	}
	e.litFreq[dfEndBlock]++
	huffLengths(e.litFreq[:], e.litLens[:], dfMaxBits, &e.huff)
	longest := slices.Max(e.litLens[:])
	for s := range dfEndBlock {
		l := e.litLens[s]
		if l == 0 {
			l = longest + 1
		}
		e.litCost[s] = uint32(l)
	}
	copy(e.litCost[dfEndBlock:], fixedCost.lit[dfEndBlock:])
	e.distCost = fixedCost.dist
	e.setLenCosts()
}

// dynamicCosts prices symbols by the code lengths dynamicBits last set; an
// unused symbol costs one bit more than the longest code.
func (e *smallDeflater) dynamicCosts() {
	costsFromLengths(e.litCost[:], e.litLens[:], e.litFreq[:])
	costsFromLengths(e.distCost[:], e.distLens[:], e.distFreq[:])
	e.setLenCosts()
}

// costsFromLengths sets cost to the code lengths lens, and an unused
// symbol (freq 0) to one bit more than the longest.
func costsFromLengths(cost []uint32, lens []uint8, freq []uint32) {
	longest := slices.Max(lens)
	for s, l := range lens {
		if freq[s] == 0 {
			l = longest + 1
		}
		cost[s] = uint32(l)
	}
}

// countTokens sets litFreq and distFreq to the symbol counts of tokens plus
// the end of block.
func (e *smallDeflater) countTokens(tokens []uint32) {
	clear(e.litFreq[:])
	clear(e.distFreq[:])
	for _, t := range tokens {
		if t>>16 == 0 {
			e.litFreq[t]++
			continue
		}
		e.litFreq[257+int(lenSym[t>>16-dfMinMatch])]++
		ds, _, _ := distSym(t & 0xffff)
		e.distFreq[ds]++
	}
	e.litFreq[dfEndBlock]++
}

// extraBits is the number of extra bits the counted symbols carry.
func (e *smallDeflater) extraBits() int {
	b := 0
	for s := 265; s < 285; s++ {
		b += int(e.litFreq[s]) * int(lenExtra[lenBase[s-257]-dfMinMatch])
	}
	for s := 4; s < dfNumDist; s++ {
		b += int(e.distFreq[s]) * (s/2 - 1)
	}
	return b
}

// fixedBits is the size in bits of a fixed-code block of the counted
// symbols.
func (e *smallDeflater) fixedBits() int {
	return 3 + e.extraBits() + codedBits(e.litFreq[:], fixedCode.litLens[:]) + codedBits(e.distFreq[:], fixedCode.distLens[:])
}

func codedBits(freq []uint32, lens []uint8) int {
	b := 0
	for s, f := range freq {
		b += int(f) * int(lens[s])
	}
	return b
}

// dynamicBits builds the dynamic code of the counted symbols into litLens,
// distLens and cl, and returns the block's size in bits.
func (e *smallDeflater) dynamicBits() int {
	huffLengths(e.litFreq[:], e.litLens[:], dfMaxBits, &e.huff)
	huffLengths(e.distFreq[:], e.distLens[:], dfMaxBits, &e.huff)
	hdr := e.cl.build(e.litLens[:], e.distLens[:], &e.huff)
	return 3 + hdr + e.extraBits() + codedBits(e.litFreq[:], e.litLens[:]) + codedBits(e.distFreq[:], e.distLens[:])
}

// writeDynamicHeader writes HLIT, HDIST, HCLEN and the code lengths cl
// holds.
func (e *smallDeflater) writeDynamicHeader(w *bitWriter) {
	c := &e.cl
	w.room(10) // 14 bits, and 3 bits for each of at most 19 lengths
	w.bits(uint64(c.hlit-257), 5)
	w.bits(uint64(c.hdist-1), 5)
	w.bits(uint64(c.hclen-4), 4)
	for _, s := range clOrder[:c.hclen] {
		w.bits(uint64(c.lens[s]), 3)
	}
	var codes [dfNumCL]uint16
	canonicalCodes(c.lens[:], codes[:])
	for _, t := range c.syms[:c.nsyms] {
		s := t & 0x1f
		w.room(2) // a code of at most 7 bits and 7 extra bits
		w.bits(uint64(codes[s]), uint(c.lens[s]))
		switch s {
		case 16:
			w.bits(uint64(t>>5), 2)
		case 17:
			w.bits(uint64(t>>5), 3)
		case 18:
			w.bits(uint64(t>>5), 7)
		}
	}
}

// writeTokens writes the best parse and the end of block with the given
// codes and their lengths.
func (e *smallDeflater) writeTokens(w *bitWriter, litCodes *[dfNumLitLen]uint16, litLens *[dfNumLitLen]uint8, distCodes *[dfNumDist]uint16, distLens *[dfNumDist]uint8) {
	for _, t := range e.best {
		w.room(6) // 15 + 5 + 15 + 13 bits at most
		if t>>16 == 0 {
			w.bits(uint64(litCodes[t]), uint(litLens[t]))
			continue
		}
		l := int(t>>16) - dfMinMatch
		ls := 257 + int(lenSym[l])
		w.bits(uint64(litCodes[ls]), uint(litLens[ls]))
		if nx := lenExtra[l]; nx > 0 {
			w.bits(uint64(l+dfMinMatch-int(lenBase[lenSym[l]])), uint(nx))
		}
		ds, nx, x := distSym(t & 0xffff)
		w.bits(uint64(distCodes[ds]), uint(distLens[ds]))
		w.bits(uint64(x), uint(nx))
	}
	w.room(2)
	w.bits(uint64(litCodes[dfEndBlock]), uint(litLens[dfEndBlock]))
}

// huffScratch is huffLengths' working memory.
type huffScratch struct {
	unsorted   [dfNumLitLen + 1]uint32 // freq<<9 | symbol, in symbol order
	leaves     [dfNumLitLen]uint32     // the same, ascending
	leafWeight [dfNumLitLen + 1]uint32 // their counts, and a sentinel
	weight     [dfNumLitLen]uint32     // internal node weights
	parent     [2 * dfNumLitLen]uint16 // node → its parent; leaves first, then internal nodes
	depth      [dfNumLitLen]uint16     // internal node depths
}

// huffSmallFreq bounds the counts huffLengths sorts by counting; the few
// larger ones are sorted after it.
const huffSmallFreq = 64

// huffLengths sets lens to the code lengths of a prefix code for freq, at
// most maxBits long: a Huffman code, its longest codes shortened, when they
// exceed maxBits, as miniz does (tdefl_huffman_enforce_max_code_size).
// Unused symbols get 0. The code is always complete with at least two
// codes: with one symbol used, another (0 or 1) gets a code too; with none,
// symbols 0 and 1 do.
func huffLengths(freq []uint32, lens []uint8, maxBits int, h *huffScratch) {
	// The used symbols, freq<<9 | symbol, written without branches.
	m := 0
	for s, f := range freq {
		h.unsorted[m] = f<<9 | uint32(s)
		m += int((f | -f) >> 31) // 1 if f > 0
	}
	clear(lens)
	switch m {
	case 0:
		lens[0], lens[1] = 1, 1
		return
	case 1:
		s := h.unsorted[0] & 0x1ff
		lens[s] = 1
		lens[1-min(s, 1)] = 1
		return
	}
	// Sort them by count, then symbol: a counting sort by count, the
	// counts from huffSmallFreq-1 up sorted after it.
	var start [huffSmallFreq]uint16
	for _, v := range h.unsorted[:m] {
		start[min(v>>9, huffSmallFreq-1)]++
	}
	pos := uint16(0)
	for f := range start {
		pos, start[f] = pos+start[f], pos
	}
	big := int(start[huffSmallFreq-1])
	for _, v := range h.unsorted[:m] {
		f := min(v>>9, huffSmallFreq-1)
		h.leaves[start[f]] = v
		start[f]++
	}
	leaves := h.leaves[:m]
	if m-big > 1 {
		slices.Sort(leaves[big:])
	}
	lw := h.leafWeight[:m+1]
	for i, v := range leaves {
		lw[i] = v >> 9
	}
	lw[m] = math.MaxUint32 // no leaf left

	// Two queues: the sorted leaves and the internal nodes, made in
	// ascending weight; a leaf first on a tie. Node ids: leaves 0..m-1,
	// then internal nodes m, m+1, ...
	li, ii := 0, 0
	weight, parent := h.weight[:m], h.parent[:2*m]
	for k := range m - 1 {
		weight[k] = math.MaxUint32 // no internal node left
		var sum uint32
		if a, b := lw[li], weight[ii]; a <= b {
			parent[li] = uint16(m + k)
			sum = a
			li++
		} else {
			parent[m+ii] = uint16(m + k)
			sum = b
			ii++
		}
		if a, b := lw[li], weight[ii]; a <= b {
			parent[li] = uint16(m + k)
			sum += a
			li++
		} else {
			parent[m+ii] = uint16(m + k)
			sum += b
			ii++
		}
		weight[k] = sum
	}
	// Depths: the root (internal node m-2) is 0; parents come after
	// their children.
	h.depth[m-2] = 0
	for k := m - 3; k >= 0; k-- {
		h.depth[k] = h.depth[int(h.parent[m+k])-m] + 1
	}
	var count [dfMaxBits + 2]int
	for i := range m {
		d := int(h.depth[int(h.parent[i])-m]) + 1
		count[min(d, maxBits)]++
	}
	// Limit to maxBits: the overflow was counted at maxBits; while the
	// Kraft sum is over 1, move a code from a shorter length down a level.
	total := 0
	for b := maxBits; b > 0; b-- {
		total += count[b] << (maxBits - b)
	}
	for total > 1<<maxBits {
		count[maxBits]--
		for b := maxBits - 1; b > 0; b-- {
			if count[b] > 0 {
				count[b]--
				count[b+1] += 2
				break
			}
		}
		total--
	}
	// The least frequent symbols get the longest codes.
	i := 0
	for b := maxBits; b > 0; b-- {
		for range count[b] {
			lens[leaves[i]&0x1ff] = uint8(b)
			i++
		}
	}
}

// canonicalCodes sets codes to the canonical Huffman codes of lens (RFC
// 1951 §3.2.2), bit-reversed for writing least significant bit first.
func canonicalCodes(lens []uint8, codes []uint16) {
	var count, next [dfMaxBits + 1]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	code := uint16(0)
	for b := 1; b <= dfMaxBits; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for s, l := range lens {
		if l > 0 {
			codes[s] = bits.Reverse16(next[l]) >> (16 - l)
			next[l]++
		}
	}
}

// clEncoding is the run-length coded code lengths of a dynamic block.
type clEncoding struct {
	hlit, hdist, hclen int
	all                [dfNumLitLen + dfNumDist + 8]uint8 // the code lengths, and 8 bytes of 0xff
	syms               [dfNumLitLen + dfNumDist]uint16    // symbol | repeat-count extra bits << 5
	nsyms              int
	freq               [dfNumCL]uint32
	lens               [dfNumCL]uint8
}

// build run-length codes the literal/length and distance code lengths and
// the code-length code, and returns the header's size in bits after BTYPE.
func (c *clEncoding) build(lit, dist []uint8, h *huffScratch) int {
	c.hlit = dfNumLitLen
	for c.hlit > 257 && lit[c.hlit-1] == 0 {
		c.hlit--
	}
	c.hdist = dfNumDist
	for c.hdist > 1 && dist[c.hdist-1] == 0 {
		c.hdist--
	}
	nall := c.hlit + c.hdist
	copy(c.all[:], lit[:c.hlit])
	copy(c.all[c.hlit:], dist[:c.hdist])
	// 8 bytes that are no code length end every run at nall.
	binary.LittleEndian.PutUint64(c.all[nall:], ^uint64(0))
	clear(c.freq[:])
	c.nsyms = 0
	emit := func(s, extra int) {
		c.syms[c.nsyms] = uint16(s | extra<<5)
		c.nsyms++
		c.freq[s]++
	}
	for i := 0; i < nall; {
		v := c.all[i]
		// The run's length, 8 code lengths at a time.
		r := 1
		for {
			x := binary.LittleEndian.Uint64(c.all[i+r:]) ^ uint64(v)*0x0101010101010101
			if x != 0 {
				r += bits.TrailingZeros64(x) >> 3
				break
			}
			r += 8
		}
		i += r
		if v == 0 {
			for r >= 11 {
				k := min(r, 138)
				emit(18, k-11)
				r -= k
			}
			if r >= 3 {
				emit(17, r-3)
				r = 0
			}
		} else {
			emit(int(v), 0)
			r--
			for r >= 3 {
				k := min(r, 6)
				emit(16, k-3)
				r -= k
			}
		}
		for ; r > 0; r-- {
			emit(int(v), 0)
		}
	}
	huffLengths(c.freq[:], c.lens[:], dfMaxCLBits, h)
	c.hclen = dfNumCL
	for c.hclen > 4 && c.lens[clOrder[c.hclen-1]] == 0 {
		c.hclen--
	}
	b := 5 + 5 + 4 + 3*c.hclen
	for s, f := range c.freq {
		b += int(f) * int(c.lens[s])
	}
	return b + 2*int(c.freq[16]) + 3*int(c.freq[17]) + 7*int(c.freq[18])
}

// bitWriter writes bits least significant first into out. Before writing
// bits, make room for them.
type bitWriter struct {
	out []byte
	acc uint64 // pending bits, fewer than 8 between calls
	n   uint   // how many
}

// room makes sure the next n bytes of bits fit: bits stores 8 bytes at a
// time.
func (w *bitWriter) room(n int) {
	if cap(w.out)-len(w.out) < n+8 {
		w.out = slices.Grow(w.out, n+8)
	}
}

// bits writes the n low bits of v (n <= 56). It stores 8 bytes every time
// and keeps the whole ones: no branch on how full the accumulator is.
func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	k := len(w.out)
	binary.LittleEndian.PutUint64(w.out[k:k+8], w.acc)
	whole := w.n >> 3
	w.out = w.out[:k+int(whole)]
	w.acc >>= whole * 8
	w.n &= 7
}

// flushByte writes the pending bits, padding with zeros to a byte.
func (w *bitWriter) flushByte() {
	if w.n > 0 {
		w.out = append(w.out, byte(w.acc))
	}
	w.acc, w.n = 0, 0
}
