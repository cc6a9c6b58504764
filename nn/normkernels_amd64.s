//go:build amd64

#include "textflag.h"

// AVX2+FMA inner loops of the instance norm (see normkernels.go). Each
// handles n elements, n a multiple of 8; the Go callers do the tails.
// Only commutative vector operations take two register sources, so the
// operand order of the Go assembler cannot swap a subtraction.

// func affineLeakyAVX2(ys, xs *float32, n int, a, b, slope float32, fused bool)
TEXT ·affineLeakyAVX2(SB), NOSPLIT, $0-37
	MOVQ ys+0(FP), DI
	MOVQ xs+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y0
	VBROADCASTSS b+28(FP), Y1
	VBROADCASTSS slope+32(FP), Y2
	MOVBLZX fused+36(FP), AX
	TESTQ AX, AX
	JZ plain32

leaky32:
	CMPQ CX, $32
	JLT leaky8
	VMOVAPS Y1, Y3
	VMOVAPS Y1, Y4
	VMOVAPS Y1, Y5
	VMOVAPS Y1, Y6
	VFMADD231PS (SI), Y0, Y3
	VFMADD231PS 32(SI), Y0, Y4
	VFMADD231PS 64(SI), Y0, Y5
	VFMADD231PS 96(SI), Y0, Y6
	VMULPS Y2, Y3, Y7
	VMULPS Y2, Y4, Y8
	VMULPS Y2, Y5, Y9
	VMULPS Y2, Y6, Y10
	VMAXPS Y7, Y3, Y3
	VMAXPS Y8, Y4, Y4
	VMAXPS Y9, Y5, Y5
	VMAXPS Y10, Y6, Y6
	VMOVUPS Y3, (DI)
	VMOVUPS Y4, 32(DI)
	VMOVUPS Y5, 64(DI)
	VMOVUPS Y6, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP leaky32

leaky8:
	CMPQ CX, $8
	JLT done
	VMOVAPS Y1, Y3
	VFMADD231PS (SI), Y0, Y3
	VMULPS Y2, Y3, Y7
	VMAXPS Y7, Y3, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP leaky8

plain32:
	CMPQ CX, $32
	JLT plain8
	VMOVAPS Y1, Y3
	VMOVAPS Y1, Y4
	VMOVAPS Y1, Y5
	VMOVAPS Y1, Y6
	VFMADD231PS (SI), Y0, Y3
	VFMADD231PS 32(SI), Y0, Y4
	VFMADD231PS 64(SI), Y0, Y5
	VFMADD231PS 96(SI), Y0, Y6
	VMOVUPS Y3, (DI)
	VMOVUPS Y4, 32(DI)
	VMOVUPS Y5, 64(DI)
	VMOVUPS Y6, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP plain32

plain8:
	CMPQ CX, $8
	JLT done
	VMOVAPS Y1, Y3
	VFMADD231PS (SI), Y0, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP plain8

done:
	VZEROUPPER
	RET

// func sumSqDevAVX2(xs *float32, n int, m float32, square bool) float32
// Returns sum(x) when !square, sum((x-m)^2) when square.
TEXT ·sumSqDevAVX2(SB), NOSPLIT, $0-28
	MOVQ xs+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Y8
	// Negate m once so x - m is an addition: Y8 = -m.
	VXORPS Y9, Y9, Y9
	VSUBPS Y8, Y9, Y8
	MOVBLZX square+20(FP), AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ AX, AX
	JZ sum32

sq32:
	CMPQ CX, $32
	JLT sq8
	VADDPS (SI), Y8, Y4
	VADDPS 32(SI), Y8, Y5
	VADDPS 64(SI), Y8, Y6
	VADDPS 96(SI), Y8, Y7
	VFMADD231PS Y4, Y4, Y0
	VFMADD231PS Y5, Y5, Y1
	VFMADD231PS Y6, Y6, Y2
	VFMADD231PS Y7, Y7, Y3
	ADDQ $128, SI
	SUBQ $32, CX
	JMP sq32

sq8:
	CMPQ CX, $8
	JLT reduce
	VADDPS (SI), Y8, Y4
	VFMADD231PS Y4, Y4, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP sq8

sum32:
	CMPQ CX, $32
	JLT sum8
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	ADDQ $128, SI
	SUBQ $32, CX
	JMP sum32

sum8:
	CMPQ CX, $8
	JLT reduce
	VADDPS (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP sum8

reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func normGradAVX2(dxs, xs, ds *float32, n int, p *normGradParams) (s1, s2 float32)
// With apply == 0 it returns s1 = sum(d) and s2 = sum(d*xhat); otherwise it
// writes dx = k*d + c + m2*xhat (c = -k*m1 and m2 = -k*mean(d*xhat) folded
// by the caller). xhat = (x-mean)*rstd, z = g*xhat + b, d = dy * (z > 0 ? 1 : slope).
TEXT ·normGradAVX2(SB), NOSPLIT, $0-48
	MOVQ dxs+0(FP), DI
	MOVQ xs+8(FP), SI
	MOVQ ds+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ p+32(FP), AX
	VBROADCASTSS 0(AX), Y8   // -mean
	VBROADCASTSS 4(AX), Y9   // rstd
	VBROADCASTSS 8(AX), Y10  // g
	VBROADCASTSS 12(AX), Y11 // b
	VBROADCASTSS 16(AX), Y12 // slope
	VBROADCASTSS 20(AX), Y13 // 1 - slope
	VBROADCASTSS 24(AX), Y14 // k
	VBROADCASTSS 28(AX), Y15 // c
	MOVL 36(AX), BX          // apply
	VXORPS Y4, Y4, Y4        // s1
	VXORPS Y5, Y5, Y5        // s2
	VXORPS Y6, Y6, Y6        // s1'
	VXORPS Y7, Y7, Y7        // s2'
	TESTL BX, BX
	JNZ apply

sums16:
	CMPQ CX, $16
	JLT sums8
	// lane block 0
	VADDPS (SI), Y8, Y0
	VMULPS Y9, Y0, Y0        // xhat
	VMOVAPS Y11, Y1
	VFMADD231PS Y0, Y10, Y1  // z = g*xhat + b
	VXORPS Y2, Y2, Y2
	VCMPPS $0x1e, Y2, Y1, Y2 // z > 0
	VANDPS Y13, Y2, Y2
	VADDPS Y12, Y2, Y2       // factor
	VMULPS (DX), Y2, Y2      // d
	VADDPS Y2, Y4, Y4
	VFMADD231PS Y2, Y0, Y5
	// lane block 1
	VADDPS 32(SI), Y8, Y0
	VMULPS Y9, Y0, Y0
	VMOVAPS Y11, Y1
	VFMADD231PS Y0, Y10, Y1
	VXORPS Y3, Y3, Y3
	VCMPPS $0x1e, Y3, Y1, Y3
	VANDPS Y13, Y3, Y3
	VADDPS Y12, Y3, Y3
	VMULPS 32(DX), Y3, Y3
	VADDPS Y3, Y6, Y6
	VFMADD231PS Y3, Y0, Y7
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP sums16

sums8:
	CMPQ CX, $8
	JLT sumsdone
	VADDPS (SI), Y8, Y0
	VMULPS Y9, Y0, Y0
	VMOVAPS Y11, Y1
	VFMADD231PS Y0, Y10, Y1
	VXORPS Y2, Y2, Y2
	VCMPPS $0x1e, Y2, Y1, Y2
	VANDPS Y13, Y2, Y2
	VADDPS Y12, Y2, Y2
	VMULPS (DX), Y2, Y2
	VADDPS Y2, Y4, Y4
	VFMADD231PS Y2, Y0, Y5
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JMP sums8

sumsdone:
	VADDPS Y6, Y4, Y4
	VADDPS Y7, Y5, Y5
	VEXTRACTF128 $1, Y4, X0
	VADDPS X0, X4, X4
	VHADDPS X4, X4, X4
	VHADDPS X4, X4, X4
	VEXTRACTF128 $1, Y5, X0
	VADDPS X0, X5, X5
	VHADDPS X5, X5, X5
	VHADDPS X5, X5, X5
	VZEROUPPER
	MOVSS X4, s1+40(FP)
	MOVSS X5, s2+44(FP)
	RET

apply:
	VBROADCASTSS 32(AX), Y7  // m2 (already -k*mean(d*xhat))
apply8:
	CMPQ CX, $8
	JLT applydone
	VADDPS (SI), Y8, Y0
	VMULPS Y9, Y0, Y0
	VMOVAPS Y11, Y1
	VFMADD231PS Y0, Y10, Y1
	VXORPS Y2, Y2, Y2
	VCMPPS $0x1e, Y2, Y1, Y2
	VANDPS Y13, Y2, Y2
	VADDPS Y12, Y2, Y2
	VMULPS (DX), Y2, Y2      // d
	VMOVAPS Y15, Y3          // c
	VFMADD231PS Y0, Y7, Y3   // + m2*xhat
	VFMADD231PS Y2, Y14, Y3  // + k*d
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP apply8

applydone:
	VXORPS X4, X4, X4
	VZEROUPPER
	MOVSS X4, s1+40(FP)
	MOVSS X4, s2+44(FP)
	RET
