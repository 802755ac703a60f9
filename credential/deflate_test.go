package credential

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"zhengzhao/internal/cputime"
	"zhengzhao/internal/limits"
	"zhengzhao/license"
	"zhengzhao/signing"
)

// stdlibZlib is what deflate did before compressSmall: compress/zlib at
// BestCompression, writers pooled.
func stdlibZlib(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw, ok := stdlibWriters.Get().(*zlib.Writer)
	if ok {
		zw.Reset(&buf)
	} else {
		var err error
		if zw, err = zlib.NewWriterLevel(&buf, zlib.BestCompression); err != nil {
			tb.Fatal(err)
		}
	}
	defer stdlibWriters.Put(zw)
	if _, err := zw.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var stdlibWriters sync.Pool

// stdInflate inflates z with compress/zlib and fails if that fails.
func stdInflate(tb testing.TB, z []byte) []byte {
	tb.Helper()
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		tb.Fatalf("zlib header: %v (stream %x)", err, z)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		tb.Fatalf("inflate: %v (stream %x)", err, z)
	}
	if err := r.Close(); err != nil {
		tb.Fatalf("Adler-32: %v", err)
	}
	return out
}

// checkRoundTrip compresses data with compressSmall, inflates it with
// compress/zlib and fails unless that gives data back. It returns the
// stream.
func checkRoundTrip(tb testing.TB, name string, data []byte) []byte {
	tb.Helper()
	z := compressSmall(data)
	if z == nil {
		tb.Fatalf("%s: compressSmall returned nil for %d bytes", name, len(data))
	}
	if got := stdInflate(tb, z); !bytes.Equal(got, data) {
		tb.Fatalf("%s: inflates to %d bytes that differ from the %d input bytes", name, len(got), len(data))
	}
	// Never bigger than a stored block: header, 5 bytes, data, Adler-32.
	if len(z) > 2+5+len(data)+4 {
		tb.Errorf("%s: %d bytes for %d input bytes, more than a stored block", name, len(z), len(data))
	}
	return z
}

func vectorCOSE(tb testing.TB) []byte {
	tb.Helper()
	b, err := hex.DecodeString(loadCompactVector(tb).COSE)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestCompressSmallRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1951))
	random4k := randomBytes(rng, 4000)
	// Far matches: a random block repeated at the far end of the input.
	far := append(append(bytes.Clone(random4k[:1900]), randomBytes(rng, 2000)...), random4k[:190]...)
	period := func(p, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + i%p)
		}
		return b
	}
	all256 := make([]byte, 0, 1024)
	for i := range 1024 {
		all256 = append(all256, byte(i*7))
	}
	text := []byte(strings.Repeat("湖南省长沙市岳麓区麓山南路1号 软件开发；信息技术咨询服务。", 20))
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"1 byte", []byte{0xd2}},
		{"2 bytes", []byte("ab")},
		{"3 same bytes", []byte("aaa")},
		{"4 same bytes", []byte("aaaa")},
		{"all zero 1000", make([]byte, 1000)},
		{"all same 258+1", bytes.Repeat([]byte{'x'}, 259)},
		{"all same 258*3+2", bytes.Repeat([]byte{'x'}, 258*3+2)},
		{"all same max", bytes.Repeat([]byte{0xff}, smallDeflateMax)},
		{"run of 258 between literals", append(append([]byte("head"), bytes.Repeat([]byte{'-'}, 259)...), "tail"...)},
		{"random 1", randomBytes(rng, 1)},
		{"random 64", randomBytes(rng, 64)},
		{"random 335", randomBytes(rng, 335)},
		{"random 4000", random4k},
		{"random max", randomBytes(rng, smallDeflateMax)},
		{"distance to the far end", far},
		{"distance = input size - 3", append(append([]byte("xyz"), randomBytes(rng, smallDeflateMax-6)...), "xyz"...)},
		{"period 3", period(3, 600)},
		{"period 251", period(251, 3000)},
		{"all byte values", all256},
		{"text", text},
		{"text max", bytes.Repeat(text, smallDeflateMax/len(text)+1)[:smallDeflateMax]},
		{"vector COSE", vectorCOSE(t)},
	}
	for _, c := range cases {
		checkRoundTrip(t, c.name, c.data)
	}
	for n := range 600 {
		checkRoundTrip(t, fmt.Sprintf("random %d", n), randomBytes(rng, n))
		checkRoundTrip(t, fmt.Sprintf("skewed %d", n), skewedBytes(rng, n))
	}
}

// TestCompressSmallBlockKinds: each block type is chosen where it is the
// smallest: stored for random bytes, fixed Huffman for a compact form,
// dynamic Huffman for text.
func TestCompressSmallBlockKinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	src, err := os.ReadFile("compact.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		want blockKind
	}{
		{"random", randomBytes(rng, 1000), blockStored},
		{"vector COSE", vectorCOSE(t), blockFixed},
		{"Go source", src[:smallDeflateMax], blockDynamic},
	} {
		z := checkRoundTrip(t, c.name, c.data)
		if got := blockKind(z[2] >> 1 & 3); got != c.want {
			t.Errorf("%s: block type %d, want %d", c.name, got, c.want)
		}
	}
}

// skewedBytes returns n bytes from a small, skewed alphabet: short matches
// and many dynamic-code decisions.
func skewedBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + min(rng.ExpFloat64()*2, 25))
	}
	return b
}

// TestCompressSmallLargeInput: inputs over smallDeflateMax go to
// compress/zlib, and deflate still compresses up to limits.CompactInflated.
func TestCompressSmallLargeInput(t *testing.T) {
	data := bytes.Repeat([]byte("湖南省市场监督管理局"), 4000)[:limits.CompactInflated]
	if z := compressSmall(data[:smallDeflateMax+1]); z != nil {
		t.Errorf("compressSmall took %d bytes, more than smallDeflateMax", smallDeflateMax+1)
	}
	for _, n := range []int{smallDeflateMax, smallDeflateMax + 1, len(data)} {
		z, err := deflate(data[:n])
		if err != nil {
			t.Fatal(err)
		}
		if got := stdInflate(t, z); !bytes.Equal(got, data[:n]) {
			t.Errorf("deflate of %d bytes does not inflate back", n)
		}
	}
}

// TestHuffLengthsLimit: skewed (Fibonacci) counts whose Huffman code is
// deeper than the limit get a complete code within it, as do one and no
// symbols.
func TestHuffLengthsLimit(t *testing.T) {
	var h huffScratch
	for _, tc := range []struct{ symbols, limit int }{{dfNumLitLen - 2, dfMaxBits}, {dfNumDist, dfMaxBits}, {dfNumCL, dfMaxCLBits}} {
		freq := make([]uint32, tc.symbols)
		a, b := uint32(1), uint32(1)
		for i := range freq {
			freq[i] = a
			a, b = b, min(a+b, 1<<22)
		}
		lens := make([]uint8, tc.symbols)
		huffLengths(freq, lens, tc.limit, &h)
		kraft := 0
		for s, l := range lens {
			if l == 0 || int(l) > tc.limit {
				t.Fatalf("%d symbols: symbol %d has length %d, want 1..%d", tc.symbols, s, l, tc.limit)
			}
			kraft += 1 << (tc.limit - int(l))
		}
		if kraft != 1<<tc.limit {
			t.Errorf("%d symbols: Kraft sum %d/%d, want a complete code", tc.symbols, kraft, 1<<tc.limit)
		}
	}
	for _, used := range [][]int{nil, {0}, {5}, {1}} {
		freq := make([]uint32, dfNumDist)
		for _, s := range used {
			freq[s] = 3
		}
		lens := make([]uint8, dfNumDist)
		huffLengths(freq, lens, dfMaxBits, &h)
		n := 0
		for s, l := range lens {
			switch {
			case l == 1:
				n++
			case l != 0:
				t.Errorf("used %v: symbol %d has length %d", used, s, l)
			}
		}
		for _, s := range used {
			if lens[s] != 1 {
				t.Errorf("used %v: the used symbol has length %d, want 1", used, lens[s])
			}
		}
		if n != 2 {
			t.Errorf("used %v: %d codes of length 1, want 2 (a complete code)", used, n)
		}
	}
}

// compactCorpus returns the vector's COSE_Sign1 and n more, from the
// compact forms of varied credentials: every catalog type, citizen and
// organization holders with generated names and codes, departments,
// serials, status lists and indexes, validity ends, issue times, and a
// fresh signature each; one in 25 has holder and department names of
// 100-200 characters.
func compactCorpus(tb testing.TB, n int) [][]byte {
	tb.Helper()
	rng := rand.New(rand.NewPCG(2026, 11))
	s, _ := newTestSigner(tb)
	types := license.DefaultCatalog().Types()
	surnames := []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程欧阳")
	given := []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志斌文辉力鹏宇浩然子轩梓涵欣怡")
	cities := []string{"长沙市", "株洲市", "湘潭市", "衡阳市", "邵阳市", "岳阳市", "常德市", "张家界市", "益阳市", "郴州市", "永州市", "怀化市", "娄底市"}
	districts := []string{"岳麓区", "芙蓉区", "天心区", "开福区", "雨花区", "望城区", "浏阳市", "宁乡市", "长沙县"}
	trades := []string{"软件科技", "餐饮管理", "建筑工程", "商贸", "医药连锁", "物流", "教育咨询", "食品", "汽车服务", "文化传媒", "农业开发", "环保科技"}
	forms := []string{"有限公司", "有限责任公司", "股份有限公司", "个体工商户", "合伙企业（有限合伙）"}
	offices := []string{"市场监督管理局", "卫生健康委员会", "教育局", "住房和城乡建设局", "交通运输局", "生态环境局", "人力资源和社会保障局", "民政局"}
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	runes := func(from []rune, k int) string {
		var b strings.Builder
		for range k {
			b.WriteRune(from[rng.IntN(len(from))])
		}
		return b.String()
	}
	digits := func(k int) string {
		var b strings.Builder
		for range k {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		return b.String()
	}
	const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	orgCode := func() string {
		var b strings.Builder
		for range 9 {
			b.WriteByte(usccChars[rng.IntN(len(usccChars))])
		}
		return b.String()
	}
	region := func() string { return "43" + fmt.Sprintf("%02d%02d", 1+rng.IntN(13), rng.IntN(30)) }
	must := func(v string, err error) string {
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}

	corpus := [][]byte{vectorCOSE(tb)}
	for i := range n {
		typ := types[i%len(types)]
		city := pick(cities)
		deptName := "湖南省" + pick(offices)
		if rng.IntN(3) > 0 {
			deptName = city + pick(offices)
		}
		deptUSCC := must(license.CompleteUSCC("11" + region() + orgCode()))
		rec := typ.Example(deptUSCC, deptName)
		if typ.HolderKind == license.HolderCitizen {
			rec.Holder = runes(surnames, 1) + runes(given, 1+rng.IntN(2))
			birth := time.Date(1950+rng.IntN(55), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
			rec.HolderCode = must(license.CompleteCitizenID(region() + birth.Format("20060102") + digits(3)))
		} else {
			rec.Holder = city + pick(districts) + runes(given, 2) + pick(trades) + pick(forms)
			rec.HolderCode = must(license.CompleteUSCC("91" + region() + orgCode()))
		}
		if i%25 == 24 {
			// Now and then names at or near the 200-character limit.
			rec.Holder = varied(100+rng.IntN(101), i)
			deptName = varied(100+rng.IntN(101), i+1)
		}
		issued := time.Date(2015+rng.IntN(11), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		rec.IssueDate = issued.Format(time.DateOnly)
		rec.ValidFrom = rec.IssueDate
		if rec.ValidUntil != "" {
			rec.ValidUntil = issued.AddDate(1+rng.IntN(20), 0, -1).Format(time.DateOnly)
		}
		serial := fmt.Sprintf("%04d%s", issued.Year(), digits(7))
		id, err := license.NewIdentifier(typ.Code, deptUSCC, serial, fmt.Sprintf("%03d", 1+rng.IntN(3)))
		if err != nil {
			tb.Fatal(err)
		}
		rec.Number, rec.Identifier = serial, id.String()
		entry, err := NewStatusListEntry(StatusListURL("https://zhengzhao.example", deptUSCC, rng.IntN(4)), rng.IntN(131072))
		if err != nil {
			tb.Fatal(err)
		}
		c, err := New(rec, deptName, []StatusListEntry{entry})
		if err != nil {
			tb.Fatalf("%s: %v", typ.Name, err)
		}
		keyID := hex.EncodeToString(randomBytes(rng, keyIDSize))
		at := issued.Add(time.Duration(rng.IntN(86400)) * time.Second)
		if err := c.Sign(s, VerificationMethod(deptUSCC, keyID), at); err != nil {
			tb.Fatal(err)
		}
		qr, err := EncodeCompact(c, s, keyID, at)
		if err != nil {
			tb.Fatalf("%s: %v", typ.Name, err)
		}
		corpus = append(corpus, inflateCompact(tb, qr))
	}
	return corpus
}

// TestCompressSmallSize: on real compact-form inputs compressSmall is on
// average no bigger than compress/zlib at BestCompression, and never more
// than 2 bytes bigger.
func TestCompressSmallSize(t *testing.T) {
	corpus := compactCorpus(t, 400)
	mine, std, maxDiff, minDiff := 0, 0, -1<<31, 1<<31
	shortest, longest := 1<<31, 0
	for i, in := range corpus {
		shortest, longest = min(shortest, len(in)), max(longest, len(in))
		z := checkRoundTrip(t, fmt.Sprintf("corpus %d", i), in)
		ref := stdlibZlib(t, in)
		mine += len(z)
		std += len(ref)
		d := len(z) - len(ref)
		maxDiff, minDiff = max(maxDiff, d), min(minDiff, d)
		if d > 2 {
			t.Errorf("corpus %d (%d bytes): %d bytes, compress/zlib %d", i, len(in), len(z), len(ref))
		}
	}
	k := float64(len(corpus))
	t.Logf("%d inputs of %d-%d bytes: average %.2f bytes, compress/zlib BestCompression %.2f; difference per input min %+d, max %+d",
		len(corpus), shortest, longest, float64(mine)/k, float64(std)/k, minDiff, maxDiff)
	if mine > std {
		t.Errorf("%d bytes in all, compress/zlib %d", mine, std)
	}
}

// TestCompressSmallSizeOther: on inputs unlike compact forms (text, code,
// skewed random bytes, where the dynamic code wins) compressSmall is never
// more than 2 bytes bigger than compress/zlib at BestCompression either.
func TestCompressSmallSizeOther(t *testing.T) {
	rng := rand.New(rand.NewPCG(1950, 1951))
	src, err := os.ReadFile("compact.go")
	if err != nil {
		t.Fatal(err)
	}
	inputs := [][]byte{src[:smallDeflateMax], src[:1000], []byte(strings.Repeat("湖南省长沙市岳麓区麓山南路1号 软件开发；信息技术咨询服务。", 20))}
	for n := 10; n < smallDeflateMax; n = n * 3 / 2 {
		for range 20 {
			inputs = append(inputs, skewedBytes(rng, n))
		}
	}
	mine, std := 0, 0
	for i, in := range inputs {
		z, ref := checkRoundTrip(t, fmt.Sprintf("input %d", i), in), stdlibZlib(t, in)
		mine += len(z)
		std += len(ref)
		if len(z) > len(ref)+2 {
			t.Errorf("input %d (%d bytes): %d bytes, compress/zlib %d", i, len(in), len(z), len(ref))
		}
	}
	t.Logf("%d inputs: %d bytes in all, compress/zlib BestCompression %d", len(inputs), mine, std)
}

// TestEncodeCompactSmallDeflate: the compact form of the vector's
// credential uses the small encoder's stream and parses back.
func TestEncodeCompactSmallDeflate(t *testing.T) {
	qr, err := EncodeCompact(signedVector(t), signing.NewKeySigner(vectorKey(t)), compactKeyID, compactIssuedAt)
	if err != nil {
		t.Fatal(err)
	}
	z, err := decodeBase45(strings.TrimPrefix(qr, CompactPrefix))
	if err != nil {
		t.Fatal(err)
	}
	// SM2 signatures are randomized: compare with the stream of what
	// the form carries.
	if want := compressSmall(inflateCompact(t, qr)); !bytes.Equal(z, want) {
		t.Errorf("zlib stream of EncodeCompact is not compressSmall's:\n got %x\nwant %x", z, want)
	}
	if _, err := ParseCompact(qr); err != nil {
		t.Fatal(err)
	}
}

// A small-encoder stream that does not inflate back to its input (a bug of
// the encoder) never reaches a compact form: EncodeCompact falls back to
// compress/zlib and its form parses and verifies.
func TestEncodeCompactBrokenSmallDeflate(t *testing.T) {
	saved := smallDeflate
	defer func() { smallDeflate = saved }()
	var broken int
	smallDeflate = func(data []byte) []byte {
		z := compressSmall(data)
		z[len(z)/2] ^= 0x10 // a flipped bit: a bad stream or other bytes
		broken++
		return z
	}
	key := vectorKey(t)
	qr, err := EncodeCompact(signedVector(t), signing.NewKeySigner(key), compactKeyID, compactIssuedAt)
	if err != nil {
		t.Fatal(err)
	}
	if broken == 0 {
		t.Fatal("the broken encoder was not called")
	}
	c, err := ParseCompact(qr)
	if err != nil {
		t.Fatalf("compact form from the fallback: %v", err)
	}
	if err := c.VerifySignature(&key.PublicKey); err != nil {
		t.Fatalf("compact form from the fallback: %v", err)
	}
	z, err := decodeBase45(strings.TrimPrefix(qr, CompactPrefix))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(z, stdlibZlib(t, inflateCompact(t, qr))) {
		t.Error("the compact form's stream is not compress/zlib's")
	}
}

func FuzzDeflate(f *testing.F) {
	f.Add([]byte{})
	f.Add(vectorCOSE(f))
	f.Add([]byte(strings.Repeat("ab", 300)))
	f.Add(bytes.Repeat([]byte{0}, 300))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > smallDeflateMax {
			if compressSmall(data) != nil {
				t.Fatal("compressSmall took an input over smallDeflateMax")
			}
			return
		}
		checkRoundTrip(t, "fuzz", data)
	})
}

// BenchmarkDeflate compresses the vector's COSE_Sign1 (335 bytes) with
// compress/zlib at BestCompression (pooled writers, as deflate did) and
// with compressSmall.
func BenchmarkDeflate(b *testing.B) {
	in := vectorCOSE(b)
	b.Run("stdlib", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		defer cputime.Report(b)()
		for b.Loop() {
			stdlibZlib(b, in)
		}
	})
	b.Run("small", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		defer cputime.Report(b)()
		for b.Loop() {
			compressSmall(in)
		}
	})
}
