package credential

import "math/bits"

// base58Alphabet is the base58btc (Bitcoin) alphabet.
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58Chunk is 58^10, the most digits a 64-bit limb division yields at
// once.
const base58Chunk = 430804206899405824

// encodeBase58Sig writes the 64-byte r‖s in base58btc: one '1' for each
// leading zero byte, then the rest as a number without leading zero digits
// — what github.com/mr-tron/base58 writes (the tests compare the two), on
// eight 64-bit limbs, ten digits a division pass, instead of its quadratic
// byte loop.
func encodeBase58Sig(sig []byte) string {
	zeros := 0
	for zeros < len(sig) && sig[zeros] == 0 {
		zeros++
	}
	// n is the number, most significant limb first.
	var n [signatureSize / 8]uint64
	for k := range n {
		for b := range 8 {
			n[k] = n[k]<<8 | uint64(sig[k*8+b])
		}
	}
	// 64 bytes need at most 88 digits; written from the end.
	var buf [90]byte
	end := len(buf)
	top := 0
	for top < len(n) && n[top] == 0 {
		top++
	}
	for top < len(n) {
		// n, rem = n / 58^10, n % 58^10
		var rem uint64
		for k := top; k < len(n); k++ {
			n[k], rem = bits.Div64(rem, n[k], base58Chunk)
		}
		for top < len(n) && n[top] == 0 {
			top++
		}
		// Ten digits of rem; the most significant chunk without its
		// leading zeros.
		for j := 0; j < 10 && (rem != 0 || top < len(n)); j++ {
			end--
			buf[end] = base58Alphabet[rem%58]
			rem /= 58
		}
	}
	for range zeros {
		end--
		buf[end] = '1'
	}
	return string(buf[end:])
}
