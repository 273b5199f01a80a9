/**
 * Transcendental functions on f32x4, emitted inline. Each takes a v128 local holding x and leaves f(x) on
 * the stack; temporaries are fresh locals of the function being built.
 */
import { type FunctionBuilder, SimdOp, ValType } from './function-builder.ts';

const S = SimdOp;
// Clamps use pmin/pmax (one x86 instruction each, vs several for min/max's NaN rules) with x first, so
// a NaN input passes through: pmax(x, lo) = x < lo ? lo : x.

/** p(x) by Horner's rule for coefficients from the highest degree down; leaves p on the stack. */
function horner(f: FunctionBuilder, x: number, coefficients: readonly number[]): void {
  f.f32x4(coefficients[0]!);
  for (let i = 1; i < coefficients.length; i++) {
    f.get(x).simd(S.f32x4Mul).f32x4(coefficients[i]!).simd(S.f32x4Add);
  }
}

// exp: Cephes expf (Moshier 1992, "Methods and Programs for Mathematical Functions"): x = n·ln2 + r with
// |r| <= ln2/2, ln2 split in two parts so r is exact, a degree-5 polynomial for (e^r - 1 - r)/r², and 2^n
// built in the exponent bits. Relative error about 1 ulp over the normal range.
const EXP_HI = 88.3762626647949; // largest x with n <= 127
const EXP_LO = -87.3365478515625; // ln(2^-126): smallest x with a normal result
const EXP_OVERFLOW = 88.72283935546875; // above this e^x is +inf in float32
const LN2_HI = 0.693359375;
const LN2_LO = -2.1219444e-4;
const EXP_POLY = [
  1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
];

export function emitExp(f: FunctionBuilder, x: number): void {
  const [xc, n, r] = f.locals(ValType.v128, 3);
  f.get(x).f32x4(EXP_LO).simd(S.f32x4Pmax).f32x4(EXP_HI).simd(S.f32x4Pmin).set(xc);
  f.get(xc).f32x4(Math.LOG2E).simd(S.f32x4Mul).simd(S.f32x4Nearest).set(n);
  f.get(xc).get(n).f32x4(LN2_HI).simd(S.f32x4Mul).simd(S.f32x4Sub);
  f.get(n).f32x4(LN2_LO).simd(S.f32x4Mul).simd(S.f32x4Sub).set(r);
  // y = p(r)·r² + r + 1
  horner(f, r, EXP_POLY);
  f.get(r).simd(S.f32x4Mul).get(r).simd(S.f32x4Mul).get(r).simd(S.f32x4Add).f32x4(1).simd(S.f32x4Add);
  // · 2^n: (n + 127) << 23 is the bit pattern of 2^n.
  f.get(n).simd(S.i32x4TruncSatF32x4S).i32x4(127).simd(S.i32x4Add).i32(23).simd(S.i32x4Shl);
  f.simd(S.f32x4Mul);
  // Past the float32 range the answer is +inf; NaN stays NaN through the arithmetic above.
  f.f32x4(Number.POSITIVE_INFINITY).get(x).f32x4(EXP_OVERFLOW).simd(S.f32x4Gt);
  emitSelectTrue(f);
}

/**
 * Stack: [y, other, mask] -> mask ? other : y (lane-wise). v128.bitselect takes (a, b, mask) and picks a
 * where the mask is set, so the operands are reordered through locals.
 */
function emitSelectTrue(f: FunctionBuilder): void {
  const [y, other, mask] = f.locals(ValType.v128, 3);
  f.set(mask).set(other).set(y);
  f.get(other).get(y).get(mask).simd(S.v128Bitselect);
}

// tanh: Eigen's rational approximation (generic_fast_tanh_float, Eigen 3.4): an odd degree-13 numerator
// over an even degree-6 denominator on x clamped to ±7.9053, where tanh is 1 to float32 precision. Error
// within a few ulp. Eigen returns x itself for |x| < 4e-4; the quotient there is x·(1 - 1.3e-7), within an
// ulp, so that select is left out.
const TANH_CLAMP = 7.905311107635498;
const TANH_NUM = [
  -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-8,
  1.48572235717979e-5, 6.37261928875436e-4, 4.89352455891786e-3,
];
const TANH_DEN = [1.19825839466702e-6, 1.18534705686654e-4, 2.268434632439e-3, 4.89352518554385e-3];

export function emitTanh(f: FunctionBuilder, x: number): void {
  const [xc, x2] = f.locals(ValType.v128, 2);
  f.get(x).f32x4(-TANH_CLAMP).simd(S.f32x4Pmax).f32x4(TANH_CLAMP).simd(S.f32x4Pmin).set(xc);
  f.get(xc).get(xc).simd(S.f32x4Mul).set(x2);
  horner(f, x2, TANH_NUM);
  f.get(xc).simd(S.f32x4Mul);
  horner(f, x2, TANH_DEN);
  f.simd(S.f32x4Div);
}

/** 1 / (1 + e^-x). */
export function emitSigmoid(f: FunctionBuilder, x: number): void {
  const negX = f.local(ValType.v128);
  f.get(x).simd(S.f32x4Neg).set(negX);
  f.f32x4(1);
  f.f32x4(1);
  emitExp(f, negX);
  f.simd(S.f32x4Add).simd(S.f32x4Div);
}
