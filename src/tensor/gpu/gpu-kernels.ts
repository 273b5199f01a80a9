/**
 * The heavy tensor kernels written for gpu.js: matrix multiply in its transposed forms, elementwise maps
 * and row reductions. Each takes and fills Float32Arrays exactly as its CPU twin does (see
 * kernels/matmul.ts, kernels/elementwise.ts, kernels/reduce.ts), so the backend can swap one for the other.
 *
 * Sizes and strides are baked into each shader as constants (GLSL ES 1.0 loops need constant bounds),
 * so a kernel is compiled once per shape and cached; a training loop meets only a handful of shapes.
 * Accumulation into C and the final scaling are done on the CPU after the read-back: they are cheap, and
 * they keep the shaders free of a second output.
 */
import type { BinaryOp, UnaryOp } from '../kernels/elementwise.ts';
import type { Gemm } from '../kernels/matmul.ts';
import type { GpuJs, GpuKernel } from './gpu-types.ts';

/** Each unary op as a shader body on `v`, in forms that neither overflow nor cancel. */
const UNARY_BODY: Record<UnaryOp, string> = {
  neg: 'return -v;',
  sqrt: 'return Math.sqrt(v);',
  square: 'return v * v;',
  exp: 'return Math.exp(v);',
  log: 'return Math.log(v);',
  tanh: 'return Math.tanh(v);',
  // Two branches so that exp never overflows, as kernels/elementwise.ts does.
  sigmoid: 'if (v >= 0) { return 1 / (1 + Math.exp(-v)); } const e = Math.exp(v); return e / (1 + e);',
  relu: 'return Math.max(v, 0);',
  // max(x, 0) + log1p(e^-|x|). GLSL has no log1p and log(1 + e) loses e's digits when e is small, so
  // log1p(e) = e·log(u)/(u - 1) with u = 1 + e (Goldberg 1991, "What every computer scientist should know
  // about floating-point arithmetic", Theorem 4).
  softplus:
    'const e = Math.exp(-Math.abs(v)); const u = 1 + e; ' +
    'if (u == 1) { return Math.max(v, 0) + e; } return Math.max(v, 0) + (e * Math.log(u)) / (u - 1);',
  abs: 'return Math.abs(v);',
};

/** Binary ops the GPU takes; `pow` stays on the CPU (GLSL's pow is undefined for a negative base). */
const BINARY_EXPR: Partial<Record<BinaryOp, string>> = {
  add: 'x + y',
  sub: 'x - y',
  mul: 'x * y',
  div: 'x / y',
  minimum: 'Math.min(x, y)',
  maximum: 'Math.max(x, y)',
};

export function gpuSupportsBinary(op: BinaryOp): boolean {
  return BINARY_EXPR[op] !== undefined;
}

export class GpuKernels {
  private readonly cache = new Map<string, GpuKernel>();

  constructor(private readonly gpu: GpuJs) {}

  /** How many shaders have been compiled so far (one per op and shape). */
  get compiled(): number {
    return this.cache.size;
  }

  /** c (+)= op(A)·op(B), the contract of `Gemm` in kernels/matmul.ts. */
  readonly gemm: Gemm = (transA, transB, m, n, k, a, aOffset, b, bOffset, c, cOffset, accumulate) => {
    // A(i, p) = a[i*aRow + p*aCol]; B(p, j) = b[p*bRow + j*bCol], as in gemmJs.
    const constants = {
      k,
      aRow: transA ? 1 : k,
      aCol: transA ? m : 1,
      bRow: transB ? 1 : n,
      bCol: transB ? k : 1,
    };
    const kernel = this.kernel(
      `gemm ${transA} ${transB} ${m} ${n} ${k}`,
      `function (a, b) {
        let sum = 0;
        for (let p = 0; p < this.constants.k; p++) {
          sum += a[this.thread.y * this.constants.aRow + p * this.constants.aCol] *
            b[p * this.constants.bRow + this.thread.x * this.constants.bCol];
        }
        return sum;
      }`,
      [n, m],
      constants,
    );
    const rows = kernel(a.subarray(aOffset, aOffset + m * k), b.subarray(bOffset, bOffset + k * n));
    writeRows(rows as Float32Array[], n, c, cOffset, accumulate);
  };

  /** out = op(x), elementwise. */
  unary(op: UnaryOp, x: Float32Array, out: Float32Array): void {
    const size = out.length;
    const kernel = this.kernel(
      `unary ${op} ${size}`,
      `function (x) { const v = x[this.thread.x]; ${UNARY_BODY[op]} }`,
      [size],
    );
    out.set(kernel(x.subarray(0, size)) as Float32Array);
  }

  /** out = a op b for same-shape a and b (broadcast calls stay on the CPU). */
  binary(op: BinaryOp, a: Float32Array, b: Float32Array, out: Float32Array): void {
    const expr = BINARY_EXPR[op];
    if (expr === undefined) throw new Error(`gpu binary: op '${op}' is not supported on the GPU`);
    const size = out.length;
    const kernel = this.kernel(
      `binary ${op} ${size}`,
      `function (a, b) { const x = a[this.thread.x]; const y = b[this.thread.x]; return ${expr}; }`,
      [size],
    );
    out.set(kernel(a.subarray(0, size), b.subarray(0, size)) as Float32Array);
  }

  /** out[o] = scale * sum_k x[o, k] over rows of length `len` (sumAxis with inner = 1). */
  sumRows(x: Float32Array, rows: number, len: number, scale: number, out: Float32Array): void {
    const kernel = this.kernel(
      `sumRows ${rows} ${len}`,
      `function (x) {
        let acc = 0;
        for (let k = 0; k < this.constants.len; k++) acc += x[this.thread.x * this.constants.len + k];
        return acc;
      }`,
      [rows],
      { len },
    );
    const sums = kernel(x.subarray(0, rows * len)) as Float32Array;
    for (let o = 0; o < rows; o++) out[o] = sums[o]! * scale;
  }

  /**
   * out[o] = max_k x[o, k] and argmax[o] = the first k attaining it. The shader returns the index (exact
   * in float32 below 2^24) and the value is read from x on the CPU, so `out` holds x's own numbers.
   * Unlike the CPU kernel, a NaN does not win: GLSL leaves comparisons with NaN undefined.
   */
  maxRows(x: Float32Array, rows: number, len: number, out: Float32Array, argmax: Int32Array): void {
    const kernel = this.kernel(
      `maxRows ${rows} ${len}`,
      `function (x) {
        const base = this.thread.x * this.constants.len;
        let best = x[base];
        let bestK = 0;
        for (let k = 1; k < this.constants.len; k++) {
          const v = x[base + k];
          if (v > best) { best = v; bestK = k; }
        }
        return bestK;
      }`,
      [rows],
      { len },
    );
    const index = kernel(x.subarray(0, rows * len)) as Float32Array;
    for (let o = 0; o < rows; o++) {
      const k = index[o]!;
      argmax[o] = k;
      out[o] = x[o * len + k]!;
    }
  }

  /**
   * Softmax or log-softmax along rows: a first pass finds each row's log-sum-exp, shifted by the row
   * maximum so exp never overflows (lse = m + log sum exp(x - m)); a second maps x - lse or exp(x - lse).
   */
  softmaxRows(x: Float32Array, rows: number, len: number, out: Float32Array, log: boolean): void {
    const lseKernel = this.kernel(
      `logSumExpRows ${rows} ${len}`,
      `function (x) {
        const base = this.thread.x * this.constants.len;
        let m = x[base];
        for (let k = 1; k < this.constants.len; k++) m = Math.max(m, x[base + k]);
        let total = 0;
        for (let k = 0; k < this.constants.len; k++) total += Math.exp(x[base + k] - m);
        return m + Math.log(total);
      }`,
      [rows],
      { len },
    );
    const mapKernel = this.kernel(
      `softmaxMap ${log} ${rows} ${len}`,
      `function (x, lse) {
        const d = x[this.thread.y * this.constants.len + this.thread.x] - lse[this.thread.y];
        return ${log ? 'd' : 'Math.exp(d)'};
      }`,
      [len, rows],
      { len },
    );
    const input = x.subarray(0, rows * len);
    const lse = lseKernel(input) as Float32Array;
    writeRows(mapKernel(input, lse) as Float32Array[], len, out, 0, false);
  }

  private kernel(
    key: string,
    source: string,
    output: number[],
    constants?: Record<string, number>,
  ): GpuKernel {
    let kernel = this.cache.get(key);
    if (kernel === undefined) {
      kernel = this.gpu.createKernel(source, {
        output,
        precision: 'single',
        tactic: 'precision',
        ...(constants ? { constants } : {}),
      });
      this.cache.set(key, kernel);
    }
    return kernel;
  }
}

/** Copies (or adds) gpu.js's per-row output into a row-major array. */
function writeRows(
  rows: Float32Array[],
  n: number,
  c: Float32Array,
  cOffset: number,
  accumulate: boolean,
): void {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const base = cOffset + i * n;
    if (accumulate) for (let j = 0; j < n; j++) c[base + j]! += row[j]!;
    else c.set(row.subarray(0, n), base);
  }
}
