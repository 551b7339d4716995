package dlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// scannerSeeds are inputs that reach every branch of the run scanners:
// runs at 64-byte word edges, delimited hex, padding, UUIDs, card numbers,
// IBANs, seed phrases, assignments.
func scannerSeeds() []string {
	long := strings.Repeat("A", 63) + "-" + strings.Repeat("b", 70)
	return []string{
		"", "a", "ab", "de:ad:be:ef:de:ad:be:ef:00", "0x41,0x42,0x43,0x44,0x45,0x46,0x47,0x48",
		"de-ad-be-ef-00-11-22-33-44", "aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQ=", "68656c6c6f20776f726c642068657820",
		"db7ae50a-cf2a-4fc8-af41-7293e3d11c1e", long, strings.Repeat("x", 64), strings.Repeat("x", 128) + "!",
		"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "4111 1111 1111 1111", "4111-1111-1111-1111", "+1 (415) 555-2671",
		"GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
		"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
		"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
		"1. legal 2. winner 3. thank 4. year 5. wave 6. sausage 7. worth 8. useful 9. legal 10. winner 11. thank 12. yellow",
		`api_key = "Zk3PqL9xVb2TnR8wYc4M"`, `{"password": "hX9$kL2pQ7zR4mN8vB3c"}`, "export SECRET_TOKEN=aB3dE6gH9jK2mN5pQ8sT",
		"auth: Q2xhdWRlQm90dGxlVGVzdA==", "nextPageToken=aB3dE6gH9jK2mN5pQ8sT", "a@b.co x@y.org",
	}
}

// dataInspectors run checkData with every class on and with each of its
// classes off (each class gates a branch of the token walk).
var dataInspectors = []*Inspector{{}, {off: Classes{Financial: true}}, {off: Classes{Crypto: true}}, {off: Classes{PII: true}}}

// FuzzFastScanners: the bitmap scanners find exactly what the byte loops
// they replace found.
func FuzzFastScanners(f *testing.F) {
	for _, s := range scannerSeeds() {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
		f.Add([]byte(strings.Repeat("·", 21)+s), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, cut bool) {
		checkScannersAgree(t, b, cut)
	})
}

func checkScannersAgree(t *testing.T, b []byte, cut bool) {
	t.Helper()
	text, bin := decodeRuns(b, cut)
	rtext, rbin := decodeRunsRef(b, cut)
	if !bytes.Equal(text, rtext) || !reflect.DeepEqual(bin, rbin) {
		t.Fatalf("decodeRuns(%q, %v) = %q %q, reference %q %q", b, cut, text, bin, rtext, rbin)
	}
	for _, in := range dataInspectors {
		if v, r := in.checkData(b, "body"), in.checkDataRef(b, "body"); !reflect.DeepEqual(v, r) {
			t.Fatalf("checkData(%q) with %+v off = %v, reference %v", b, in.off, v, r)
		}
	}
	if v, r := checkAssignments(b), checkAssignmentsRef(b); !reflect.DeepEqual(v, r) {
		t.Fatalf("checkAssignments(%q) = %v, reference %v", b, v, r)
	}
}

// TestFastScannersRandom runs the comparison over generated text with the
// shapes the scanners look for spliced in at random offsets (so they fall
// across the bitmap's 64-byte words).
func TestFastScannersRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	seeds := scannerSeeds()
	pieces := []string{" ", "\n", ",", ":", "-", ".", "=", "+", "/", "_", "\"", "'", "(", ")", "@", "%41", `\u0041`, "0x", "\x00", "é"}
	for n := 0; n < 3000; n++ {
		var sb strings.Builder
		for sb.Len() < r.IntN(600) {
			switch r.IntN(7) {
			case 0:
				sb.WriteString(seeds[r.IntN(len(seeds))])
			case 1:
				raw := make([]byte, r.IntN(40))
				for i := range raw {
					raw[i] = byte(r.Uint32())
				}
				if r.IntN(2) == 0 {
					sb.WriteString(base64.StdEncoding.EncodeToString(raw))
				} else {
					sb.WriteString(hex.EncodeToString(raw))
				}
			case 3:
				// delimited hex, with or without 0x, any separator
				seps := []string{":", "-", " ", ",", ";", ".", "|", ", ", ": ", "::"}
				sep := seps[r.IntN(len(seps))]
				pfx := []string{"", "", "0x", "0X", "x"}[r.IntN(5)]
				for k := range 4 + r.IntN(12) {
					if k > 0 {
						sb.WriteString(sep)
					}
					sb.WriteString(pfx)
					fmt.Fprintf(&sb, "%02x", r.IntN(256))
				}
			case 2:
				for range r.IntN(30) {
					sb.WriteByte("abcdefABCDEF0123456789xyzXYZ"[r.IntN(28)])
				}
			default:
				sb.WriteString(pieces[r.IntN(len(pieces))])
			}
		}
		checkScannersAgree(t, []byte(sb.String()), r.IntN(4) == 0)
	}
}

// TestNextLongRun compares nextLongRun with a walk of every byte, for every
// start and run length around the probe stride.
func TestNextLongRun(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		b := make([]byte, r.IntN(200))
		for i := range b {
			b[i] = "aaaAb -9+"[r.IntN(9)]
		}
		for _, n := range []int{1, 2, 3, 14, 16, 23} {
			for from := 0; from <= len(b); from++ {
				if from > 0 && valClass[b[from-1]] != 0 {
					continue // not a valid start (see nextLongRun)
				}
				ws, we, wacc := len(b), len(b), uint8(0)
				for i := from; i < len(b); {
					if valClass[b[i]] == 0 {
						i++
						continue
					}
					j := i
					for j < len(b) && valClass[b[j]] != 0 {
						j++
					}
					if j-i >= n {
						ws, we = i, j
						for _, c := range b[i:j] {
							wacc |= valClass[c]
						}
						break
					}
					i = j
				}
				if s, e, acc := nextLongRun(b, &valClass, n, from); s != ws || e != we || acc != wacc {
					t.Fatalf("nextLongRun(%q, n=%d, from=%d) = %d, %d, %b; want %d, %d, %b", b, n, from, s, e, acc, ws, we, wacc)
				}
			}
		}
	}
}

// TestBIP39Index: every word of the list is found at its index, in any
// letter case and at the end of the text (the short load path), and
// words one letter off are not.
func TestBIP39Index(t *testing.T) {
	for i, w := range bip39Words {
		for _, s := range []string{w, strings.ToUpper(w), w + " tail text"} {
			b := []byte(s)
			if got := bip39Index(lowerWord(b, 0, len(w))); got != i {
				t.Fatalf("bip39Index(%q) = %d, want %d", s, got, i)
			}
		}
		for _, s := range []string{w + "q", w[:len(w)-1] + "#", "q" + w} {
			if len(s) > 8 {
				continue
			}
			want := -1
			for k, x := range bip39Words {
				if x == strings.ReplaceAll(s, "#", "") && !strings.Contains(s, "#") {
					want = k
				}
			}
			if got := bip39Index(lowerWord([]byte(s), 0, len(s))); got != want {
				t.Fatalf("bip39Index(%q) = %d, want %d", s, got, want)
			}
		}
	}
}

// TestFindWithCredsMatchesReference: findWithCreds, stepping two bytes
// where no match can start, finds what the walk of every position found,
// on text made of pieces of known-secret variants, credential prefixes
// (with and without valid tails) and prose.
func TestFindWithCredsMatchesReference(t *testing.T) {
	ks := []KnownSecret{NewKnownSecret("A", "Zebra-Quartz-7731-Mango"), NewKnownSecret("B", "kx9Q2mW7pL4vT8bN")}
	s := newKnownSet(ks)
	var pieces []string
	for _, k := range ks {
		for _, v := range k.variants {
			pieces = append(pieces, string(v.s), strings.ToUpper(string(v.s)), string(v.s[:len(v.s)/2]))
		}
	}
	for _, r := range credRules {
		pieces = append(pieces, r.prefix, r.prefix+strings.Repeat("aB3dE6gH9j", 4), r.prefix+strings.Repeat("0123456789abcdef", 2))
	}
	pieces = append(pieces, " ", "the ", "refactor ", "\n", "-", "_", ".", "x", "K", "SK")
	r := rand.New(rand.NewPCG(7, 8))
	known, creds := 0, 0
	for range 5000 {
		var sb strings.Builder
		for n := r.IntN(12); n > 0; n-- {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		b := []byte(sb.String())
		for _, wantCreds := range []bool{true, false} {
			i, enc, ok, cr := s.findWithCreds(b, wantCreds)
			ri, renc, rok, rcr := s.findWithCredsRef(b, wantCreds)
			if i != ri || enc != renc || ok != rok || cr != rcr {
				t.Fatalf("findWithCreds(%q, %v) = %d %q %v %v; reference %d %q %v %v", b, wantCreds, i, enc, ok, cr, ri, renc, rok, rcr)
			}
			if ok {
				known++
			}
			if cr != nil {
				creds++
			}
		}
	}
	if known < 100 || creds < 100 {
		t.Fatalf("only %d known-secret and %d credential matches: the test text misses its shapes", known, creds)
	}
}
