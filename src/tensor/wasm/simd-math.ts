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
    const c = coefficients[i]!;
    f.get(x).mulAdd(() => f.f32x4(c));
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
// Adding 1.5·2^23 rounds x·log2(e) (|.| < 2^22) to an integer n, kept in the low mantissa bits; with 127 more
// those bits are n + 127, which a shift by 23 moves into the exponent field: 2^n with no float->int convert.
const EXP_ROUND = 12582912 + 127;

/**
 * e^x on f32x4. With `finite`, x past the float32 range gives about 2.4e38 instead of +inf (three
 * instructions fewer), for callers where the difference cannot show, such as x / (1 + e^-x).
 */
export function emitExp(f: FunctionBuilder, x: number, finite = false): void {
  const [xc, k, n, r] = f.locals(ValType.v128, 4);
  f.get(x).f32x4(EXP_LO).simd(S.f32x4Pmax).f32x4(EXP_HI).simd(S.f32x4Pmin).set(xc);
  f.get(xc)
    .f32x4(Math.LOG2E)
    .mulAdd(() => f.f32x4(EXP_ROUND))
    .tee(k);
  f.f32x4(EXP_ROUND).simd(S.f32x4Sub).set(n);
  // r = x - n·ln2 in two steps (n·LN2_HI is exact, so fused or not gives the same first step)
  f.get(n)
    .f32x4(LN2_HI)
    .mulSub(() => f.get(xc))
    .set(r);
  f.get(n)
    .f32x4(LN2_LO)
    .mulSub(() => f.get(r))
    .set(r);
  // y = p(r)·r² + r + 1
  horner(f, r, EXP_POLY);
  f.get(r)
    .simd(S.f32x4Mul)
    .get(r)
    .mulAdd(() => f.get(r))
    .f32x4(1)
    .simd(S.f32x4Add);
  // · 2^n
  f.get(k).i32(23).simd(S.i32x4Shl);
  f.simd(S.f32x4Mul);
  if (finite) return;
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
  emitSigmoidTimes(f, x, () => f.f32x4(1));
}

/**
 * numerator / (1 + e^-x), where `numerator` pushes it: x·σ(x) (SiLU) in one division. `finite` as in
 * emitExp (for x below -88.7 the quotient is then numerator·4e-39 rather than 0).
 */
export function emitSigmoidTimes(f: FunctionBuilder, x: number, numerator: () => void, finite = false): void {
  const negX = f.local(ValType.v128);
  f.get(x).simd(S.f32x4Neg).set(negX);
  numerator();
  f.f32x4(1);
  emitExp(f, negX, finite);
  f.simd(S.f32x4Add).simd(S.f32x4Div);
}

// log on [1, 2): Cephes logf. Below sqrt(2), f = u - 1 and e = 0; above, f = u/2 - 1 and e = 1 (u = 2^e·(1 + f)
// with |f| < 0.42); log u = f - f²/2 + f³·P(f) + e·ln2, ln2 split in two parts.
const SQRT2 = Math.SQRT2;
const LOG_POLY = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
  2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
];

/**
 * log(1 + t) for t in [0, 1] (the range softplus needs): log of u = 1 + t as Cephes logf on [1, 2), plus
 * the correction (t - (u - 1)) / u for what rounding u lost, so tiny t keep full relative precision.
 */
export function emitLog1pUnit(f: FunctionBuilder, t: number): void {
  const [u, big, e, m, z] = f.locals(ValType.v128, 5);
  f.get(t).f32x4(1).simd(S.f32x4Add).set(u);
  f.get(u).f32x4(SQRT2).simd(S.f32x4Ge).set(big);
  // e = 1 where u >= sqrt 2 (the mask ANDed with 1.0), and m = f = u·(1 - e/2) - 1.
  f.get(big).f32x4(1).simd(S.v128And).set(e);
  f.get(u).f32x4(1).get(e).f32x4(0.5).simd(S.f32x4Mul).simd(S.f32x4Sub).simd(S.f32x4Mul);
  f.f32x4(1).simd(S.f32x4Sub).set(m);
  f.get(m).get(m).simd(S.f32x4Mul).set(z);
  // y = f³·P(f) - f²/2 + e·LN2_LO, then f + y + e·LN2_HI
  horner(f, m, LOG_POLY);
  f.get(m).simd(S.f32x4Mul).get(z).simd(S.f32x4Mul);
  f.get(z).f32x4(0.5).simd(S.f32x4Mul).simd(S.f32x4Sub);
  f.get(e).f32x4(LN2_LO).simd(S.f32x4Mul).simd(S.f32x4Add);
  f.get(m).simd(S.f32x4Add);
  f.get(e).f32x4(LN2_HI).simd(S.f32x4Mul).simd(S.f32x4Add);
  // + (t - (u - 1)) / u
  f.get(t).get(u).f32x4(1).simd(S.f32x4Sub).simd(S.f32x4Sub).get(u).simd(S.f32x4Div).simd(S.f32x4Add);
}

/**
 * softplus(x) = max(x, 0) + log(1 + e^-|x|), leaving it on the stack; also sets `sig` to σ(x), from the
 * same exponential: 1/(1 + e^-|x|) for x >= 0, e^-|x|/(1 + e^-|x|) below.
 */
export function emitSoftplus(f: FunctionBuilder, x: number, sig: number): void {
  const [negAbs, ex, pos] = f.locals(ValType.v128, 3);
  f.get(x).simd(S.f32x4Abs).simd(S.f32x4Neg).set(negAbs);
  emitExp(f, negAbs);
  f.set(ex);
  f.get(x).f32x4(0).simd(S.f32x4Ge).set(pos);
  // σ(x): numerator 1 or e, over 1 + e
  f.f32x4(1).get(ex).get(pos).simd(S.v128Bitselect);
  f.get(ex).f32x4(1).simd(S.f32x4Add).simd(S.f32x4Div).set(sig);
  f.get(x).f32x4(0).simd(S.f32x4Pmax);
  emitLog1pUnit(f, ex);
  f.simd(S.f32x4Add);
}
