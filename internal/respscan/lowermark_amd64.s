//go:build amd64 && !purego

#include "textflag.h"

// Y0..Y5: lo0 hi0 lo1 hi1 lo2 hi2 (each 16-byte table in both lanes)
// Y6: 0x0f  Y7: 'A'  Y8: 25  Y9: 0x20  Y10: OR of the raw bytes
// Y15: zero

// LOWER lowers the ASCII letters of x in place: (x-'A') <=u 25 is where
// min(x-'A', 25) == x-'A'; those bytes get 0x20.
#define LOWER(x, t1, t2) \
	VPSUBB   Y7, x, t1  \
	VPMINUB  Y8, t1, t2 \
	VPCMPEQB t1, t2, t2 \
	VPAND    Y9, t2, t2 \
	VPOR     t2, x, x

// MASK sets m to the bucket mask of the lowered bytes x at one offset:
// lo[x&15] & hi[x>>4]. x is clobbered.
#define MASK(x, lo, hi, m, t) \
	VPSRLW   $4, x, t  \
	VPAND    Y6, x, x  \
	VPAND    Y6, t, t  \
	VPSHUFB  x, lo, x  \
	VPSHUFB  t, hi, t  \
	VPAND    x, t, m

// func lowerMarkAVX2(dst, src *byte, marks *uint64, nblk int, tab *[6][16]uint8) (nonASCII bool)
TEXT ·lowerMarkAVX2(SB), NOSPLIT, $0-41
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ marks+16(FP), R8
	MOVQ nblk+24(FP), CX
	MOVQ tab+32(FP), AX

	VBROADCASTI128 0(AX), Y0
	VBROADCASTI128 16(AX), Y1
	VBROADCASTI128 32(AX), Y2
	VBROADCASTI128 48(AX), Y3
	VBROADCASTI128 64(AX), Y4
	VBROADCASTI128 80(AX), Y5
	MOVL $0x0f, AX
	MOVQ AX, X6
	VPBROADCASTB X6, Y6
	MOVL $0x41, AX
	MOVQ AX, X7
	VPBROADCASTB X7, Y7
	MOVL $25, AX
	MOVQ AX, X8
	VPBROADCASTB X8, Y8
	MOVL $0x20, AX
	MOVQ AX, X9
	VPBROADCASTB X9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y15, Y15, Y15

	TESTQ CX, CX
	JZ    done
	TESTQ DI, DI
	JZ    markonly

loop:
	VMOVDQU (SI), Y11
	VPOR    Y11, Y10, Y10
	LOWER(Y11, Y12, Y13)
	VMOVDQU Y11, (DI)
	MASK(Y11, Y0, Y1, Y14, Y12)
	VMOVDQU 1(SI), Y11
	LOWER(Y11, Y12, Y13)
	MASK(Y11, Y2, Y3, Y13, Y12)
	VPAND   Y13, Y14, Y14
	VMOVDQU 2(SI), Y11
	LOWER(Y11, Y12, Y13)
	MASK(Y11, Y4, Y5, Y13, Y12)
	VPAND   Y13, Y14, Y14
	VPCMPEQB  Y15, Y14, Y14
	VPMOVMSKB Y14, AX
	NOTL    AX
	MOVL    AX, (R8)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $4, R8
	DECQ    CX
	JNZ     loop
	JMP     done

// markonly: src is lower-cased already; nothing is stored but the marks.
markonly:
	VMOVDQU (SI), Y11
	VPOR    Y11, Y10, Y10
	MASK(Y11, Y0, Y1, Y14, Y12)
	VMOVDQU 1(SI), Y11
	MASK(Y11, Y2, Y3, Y13, Y12)
	VPAND   Y13, Y14, Y14
	VMOVDQU 2(SI), Y11
	MASK(Y11, Y4, Y5, Y13, Y12)
	VPAND   Y13, Y14, Y14
	VPCMPEQB  Y15, Y14, Y14
	VPMOVMSKB Y14, AX
	NOTL    AX
	MOVL    AX, (R8)
	ADDQ    $32, SI
	ADDQ    $4, R8
	DECQ    CX
	JNZ     markonly

done:
	VPMOVMSKB Y10, AX
	TESTL   AX, AX
	SETNE   nonASCII+40(FP)
	VZEROUPPER
	RET
