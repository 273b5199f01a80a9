/**
 * Elementwise kernels on Float32Arrays. Each op's loop is written out once, with the op chosen outside the
 * loop, so V8 compiles a tight loop per op. Broadcasting comes in as index maps (`ia[i]` is the element of
 * `a` that output element `i` reads); a null map means "same index".
 */

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'minimum' | 'maximum';
export type UnaryOp =
  | 'neg'
  | 'sqrt'
  | 'square'
  | 'exp'
  | 'log'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'softplus'
  | 'abs';

export function binaryForward(
  op: BinaryOp,
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  ia: Int32Array | null,
  ib: Int32Array | null,
): void {
  const n = out.length;
  if (ia === null && ib === null) {
    switch (op) {
      case 'add':
        for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
        return;
      case 'sub':
        for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!;
        return;
      case 'mul':
        for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
        return;
      case 'div':
        for (let i = 0; i < n; i++) out[i] = a[i]! / b[i]!;
        return;
      case 'pow':
        for (let i = 0; i < n; i++) out[i] = a[i]! ** b[i]!;
        return;
      case 'minimum':
        for (let i = 0; i < n; i++) out[i] = Math.min(a[i]!, b[i]!);
        return;
      case 'maximum':
        for (let i = 0; i < n; i++) out[i] = Math.max(a[i]!, b[i]!);
        return;
    }
  }
  const ma = ia ?? identityMap(n);
  const mb = ib ?? identityMap(n);
  switch (op) {
    case 'add':
      for (let i = 0; i < n; i++) out[i] = a[ma[i]!]! + b[mb[i]!]!;
      return;
    case 'sub':
      for (let i = 0; i < n; i++) out[i] = a[ma[i]!]! - b[mb[i]!]!;
      return;
    case 'mul':
      for (let i = 0; i < n; i++) out[i] = a[ma[i]!]! * b[mb[i]!]!;
      return;
    case 'div':
      for (let i = 0; i < n; i++) out[i] = a[ma[i]!]! / b[mb[i]!]!;
      return;
    case 'pow':
      for (let i = 0; i < n; i++) out[i] = a[ma[i]!]! ** b[mb[i]!]!;
      return;
    case 'minimum':
      for (let i = 0; i < n; i++) out[i] = Math.min(a[ma[i]!]!, b[mb[i]!]!);
      return;
    case 'maximum':
      for (let i = 0; i < n; i++) out[i] = Math.max(a[ma[i]!]!, b[mb[i]!]!);
      return;
  }
}

/**
 * Adds the gradients of `out = a op b` into `ga` and `gb` (either may be null when that input needs no
 * gradient), summing over broadcast dimensions through the same index maps.
 */
export function binaryBackward(
  op: BinaryOp,
  g: Float32Array,
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  ga: Float32Array | null,
  gb: Float32Array | null,
  ia: Int32Array | null,
  ib: Int32Array | null,
): void {
  const n = g.length;
  const ma = ia ?? identityMap(n);
  const mb = ib ?? identityMap(n);
  switch (op) {
    case 'add':
      if (ga) for (let i = 0; i < n; i++) ga[ma[i]!]! += g[i]!;
      if (gb) for (let i = 0; i < n; i++) gb[mb[i]!]! += g[i]!;
      return;
    case 'sub':
      if (ga) for (let i = 0; i < n; i++) ga[ma[i]!]! += g[i]!;
      if (gb) for (let i = 0; i < n; i++) gb[mb[i]!]! -= g[i]!;
      return;
    case 'mul':
      if (ga) for (let i = 0; i < n; i++) ga[ma[i]!]! += g[i]! * b[mb[i]!]!;
      if (gb) for (let i = 0; i < n; i++) gb[mb[i]!]! += g[i]! * a[ma[i]!]!;
      return;
    case 'div':
      if (ga) for (let i = 0; i < n; i++) ga[ma[i]!]! += g[i]! / b[mb[i]!]!;
      if (gb) for (let i = 0; i < n; i++) gb[mb[i]!]! -= (g[i]! * out[i]!) / b[mb[i]!]!;
      return;
    case 'pow':
      if (ga) {
        for (let i = 0; i < n; i++) {
          const e = b[mb[i]!]!;
          ga[ma[i]!]! += e === 0 ? 0 : g[i]! * e * a[ma[i]!]! ** (e - 1);
        }
      }
      if (gb) {
        for (let i = 0; i < n; i++) {
          const base = a[ma[i]!]!;
          // d(a^b)/db = a^b ln a, defined for a > 0; 0 elsewhere as PyTorch does for a = 0.
          if (base > 0) gb[mb[i]!]! += g[i]! * out[i]! * Math.log(base);
        }
      }
      return;
    case 'minimum':
    case 'maximum':
      // The gradient goes to the chosen input; a tie splits it evenly, as PyTorch does.
      for (let i = 0; i < n; i++) {
        const x = a[ma[i]!]!;
        const y = b[mb[i]!]!;
        const aWins = op === 'minimum' ? x < y : x > y;
        const share = x === y ? 0.5 * g[i]! : g[i]!;
        if (ga && (aWins || x === y)) ga[ma[i]!]! += share;
        if (gb && (!aWins || x === y)) gb[mb[i]!]! += share;
      }
      return;
  }
}

export function unaryForward(op: UnaryOp, x: Float32Array, out: Float32Array): void {
  const n = x.length;
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) out[i] = -x[i]!;
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!);
      return;
    case 'square':
      for (let i = 0; i < n; i++) out[i] = x[i]! * x[i]!;
      return;
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!);
      return;
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!);
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!);
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) out[i] = sigmoid(x[i]!);
      return;
    case 'relu':
      for (let i = 0; i < n; i++) out[i] = x[i]! > 0 ? x[i]! : 0;
      return;
    case 'softplus':
      for (let i = 0; i < n; i++) out[i] = softplus(x[i]!);
      return;
    case 'abs':
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]!);
      return;
  }
}

/** Adds the gradient of `y = op(x)` into `gx`, using whichever of `x` and `y` is cheaper. */
export function unaryBackward(
  op: UnaryOp,
  g: Float32Array,
  x: Float32Array,
  y: Float32Array,
  gx: Float32Array,
): void {
  const n = g.length;
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) gx[i]! -= g[i]!;
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) gx[i]! += (0.5 * g[i]!) / y[i]!;
      return;
    case 'square':
      for (let i = 0; i < n; i++) gx[i]! += 2 * g[i]! * x[i]!;
      return;
    case 'exp':
      for (let i = 0; i < n; i++) gx[i]! += g[i]! * y[i]!;
      return;
    case 'log':
      for (let i = 0; i < n; i++) gx[i]! += g[i]! / x[i]!;
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) gx[i]! += g[i]! * (1 - y[i]! * y[i]!);
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) gx[i]! += g[i]! * y[i]! * (1 - y[i]!);
      return;
    case 'relu':
      for (let i = 0; i < n; i++) if (x[i]! > 0) gx[i]! += g[i]!;
      return;
    case 'softplus':
      for (let i = 0; i < n; i++) gx[i]! += g[i]! * sigmoid(x[i]!);
      return;
    case 'abs':
      for (let i = 0; i < n; i++) gx[i]! += x[i]! > 0 ? g[i]! : x[i]! < 0 ? -g[i]! : 0;
      return;
  }
}

export function sigmoid(x: number): number {
  // Two branches so that exp never overflows.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * tanh to float32 precision as a rational function, x·P(x²)/Q(x²) on x clamped to ±7.9053 (Eigen's
 * `generic_fast_tanh_float`, the approximation TensorFlow's CPU kernels use): within 2.4e-7 of the exact
 * value everywhere, about four float32 ulps at the saturated ends, and about four times as fast as Math.tanh
 * in V8 because it is plain arithmetic the compiler inlines.
 */
export function fastTanh(x: number): number {
  const c = 7.905311107635498;
  const v = x > c ? c : x < -c ? -c : x;
  const v2 = v * v;
  const p =
    v *
    (4.89352455891786e-3 +
      v2 *
        (6.37261928875436e-4 +
          v2 *
            (1.48572235717979e-5 +
              v2 *
                (5.12229709037114e-8 +
                  v2 * (-8.60467152213735e-11 + v2 * (2.00018790482477e-13 + v2 * -2.76076847742355e-16))))));
  const q =
    4.89352518554385e-3 + v2 * (2.268434632439e-3 + v2 * (1.18534705686654e-4 + v2 * 1.19825839466702e-6));
  return p / q;
}

export function softplus(x: number): number {
  // log(1 + e^x) without overflow: x + log(1 + e^-x) for positive x.
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

let identity = new Int32Array(0);
function identityMap(n: number): Int32Array {
  if (identity.length < n) {
    identity = new Int32Array(Math.max(n, 2 * identity.length));
    for (let i = 0; i < identity.length; i++) identity[i] = i;
  }
  return identity;
}
