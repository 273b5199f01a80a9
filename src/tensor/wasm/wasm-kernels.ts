/**
 * The WebAssembly SIMD kernel set: the same contract as the JavaScript kernels (kernels/*.ts), which stay
 * the reference and take every call this set does not cover (broadcast maps, pow, log, softplus, ...).
 * Each entry copies its operands into the module's arena, runs one or more kernels there and copies the
 * results out (see runtime.ts); a fused op (the linear layer) keeps its intermediates inside.
 */
import { type AdamKernel, adamJs } from '../kernels/adam.ts';
import type { KernelSet } from '../kernels/backend.ts';
import {
  type BinaryOp,
  binaryBackward as binaryBackwardJs,
  binaryForward as binaryForwardJs,
  type UnaryOp,
  unaryBackward as unaryBackwardJs,
  unaryForward as unaryForwardJs,
} from '../kernels/elementwise.ts';
import type { FusedActivation, FusedLinear } from '../kernels/linear.ts';
import { type Gemm, type GemmBatched, gemmBatchedJs } from '../kernels/matmul.ts';
import { columnSumJs } from '../kernels/reduce.ts';
import { TILE_M, TILE_N } from './gemm-kernel.ts';
import { kernelModuleBytes } from './kernel-module.ts';
import { mapName, UNARY_GRAD_OPS } from './map-kernels.ts';
import { type Kernel, WasmRuntime } from './runtime.ts';

const UNARY_FORWARD: ReadonlySet<UnaryOp> = new Set([
  'neg',
  'abs',
  'sqrt',
  'square',
  'exp',
  'tanh',
  'sigmoid',
  'relu',
]);
const BINARY_FORWARD: ReadonlySet<BinaryOp> = new Set(['add', 'sub', 'mul', 'div', 'minimum', 'maximum']);
const BINARY_BACKWARD: ReadonlySet<BinaryOp> = new Set(['add', 'sub', 'mul', 'div']);
/** Which of x (the input) and y (the output) each unary gradient reads; the other is not copied in. */
const GRAD_READS_X: ReadonlySet<string> = new Set(['abs', 'square', 'relu']);
const GRAD_READS_Y: ReadonlySet<string> = new Set(['sqrt', 'exp', 'tanh', 'sigmoid']);
const TILE_SCRATCH = TILE_M * TILE_N;

const packASize = (m: number, k: number): number => Math.ceil(m / TILE_M) * TILE_M * k;
const packBSize = (n: number, k: number): number => Math.ceil(n / TILE_N) * TILE_N * k;

export interface WasmKernelOptions {
  /**
   * The smallest gemm, in multiply-adds (m·n·k), that goes to WebAssembly; smaller ones run the JS kernel,
   * which wins below the fixed cost of a call and its copies (about 0.3 µs here). Default 512.
   */
  readonly minGemmWork?: number;
  /**
   * The smallest cheap elementwise call (add, mul, their gradients, column sums, the Adam update), in
   * elements, that goes to WebAssembly; exp, tanh and sigmoid always go (they win from 16 elements on).
   * Default 128. Measured crossovers here: about 512 multiply-adds and 128-256 elements.
   */
  readonly minMapElements?: number;
}

const TRANSCENDENTAL: ReadonlySet<UnaryOp> = new Set(['exp', 'tanh', 'sigmoid']);

export function createWasmKernels(options: WasmKernelOptions = {}): KernelSet {
  const minGemmWork = options.minGemmWork ?? 512;
  const minMapElements = options.minMapElements ?? 128;
  const rt = new WasmRuntime(kernelModuleBytes());
  const k = {
    gemm: rt.kernel('gemm'),
    columnSum: rt.kernel('column_sum'),
    adam: rt.kernel('adam'),
  };
  /** One family of map kernels (see `mapName`) by op, each export looked up once rather than per call. */
  const family = (name: (op: string) => string): ((op: string) => Kernel) => {
    const fns = new Map<string, Kernel>();
    return (op) => {
      let fn = fns.get(op);
      if (!fn) {
        fn = rt.kernel(name(op));
        fns.set(op, fn);
      }
      return fn;
    };
  };
  const forwardMap = family(mapName.forward);
  const unaryGradMap = family(mapName.unaryGrad);
  const activationGradMap = family(mapName.activationGrad);
  const accumulateMap = family(mapName.accumulate);
  const at = new Int32Array(16);

  /** gemm on operands already in the arena (byte addresses; strides in floats). */
  const gemmAt = (
    batch: number,
    tA: boolean,
    tB: boolean,
    m: number,
    n: number,
    kk: number,
    a: number,
    aStride: number,
    b: number,
    bStride: number,
    c: number,
    cStride: number,
    accumulate: boolean,
    packA: number,
    packB: number,
    tile: number,
    bias = 0,
  ): void => {
    k.gemm(
      batch,
      m,
      n,
      kk,
      a,
      tA ? 1 : kk,
      tA ? m : 1,
      aStride,
      b,
      tB ? 1 : n,
      tB ? kk : 1,
      bStride,
      c,
      cStride,
      accumulate ? 1 : 0,
      packA,
      packB,
      tile,
      bias,
    );
  };

  const gemmBatched: GemmBatched = (batch, tA, tB, m, n, kk, a, aOff, aS, b, bOff, bS, c, cOff, cS, acc) => {
    if (batch === 0 || m === 0 || n === 0) return;
    if (m * n * kk < minGemmWork) {
      gemmBatchedJs(batch, tA, tB, m, n, kk, a, aOff, aS, b, bOff, bS, c, cOff, cS, acc);
      return;
    }
    const block = m * n;
    if (kk === 0) {
      if (!acc) for (let i = 0; i < batch; i++) c.fill(0, cOff + i * cS, cOff + i * cS + block);
      return;
    }
    const aSpan = (batch - 1) * aS + m * kk;
    const bSpan = (batch - 1) * bS + kk * n;
    const cSpan = (batch - 1) * cS + block;
    const [A, B, C, PA, PB, T] = rt.layout(
      [aSpan, bSpan, cSpan, packASize(m, kk), packBSize(n, kk), TILE_SCRATCH],
      at,
    );
    rt.put(A!, a, aOff, aSpan);
    rt.put(B!, b, bOff, bSpan);
    // Without accumulation C is only written, so it need not be copied in; gaps between blocks of a
    // strided C are then left alone by copying the blocks out one by one.
    if (acc) rt.put(C!, c, cOff, cSpan);
    gemmAt(batch, tA, tB, m, n, kk, A!, aS, B!, bS, C!, cS, acc, PA!, PB!, T!);
    if (acc || cS <= block) rt.take(C!, c, cOff, cSpan);
    else for (let i = 0; i < batch; i++) rt.take(C! + 4 * i * cS, c, cOff + i * cS, block);
  };

  const gemm: Gemm = (tA, tB, m, n, kk, a, aOff, b, bOff, c, cOff, acc) =>
    gemmBatched(1, tA, tB, m, n, kk, a, aOff, 0, b, bOff, 0, c, cOff, 0, acc);

  const unary: typeof unaryForwardJs = (op, x, out) => {
    if (!UNARY_FORWARD.has(op) || (out.length < minMapElements && !TRANSCENDENTAL.has(op))) {
      unaryForwardJs(op, x, out);
      return;
    }
    const n = out.length;
    const [X] = rt.layout([n], at);
    rt.put(X!, x, 0, n);
    forwardMap(op)(n, X!, X!);
    rt.take(X!, out, 0, n);
  };

  const unaryBackward: typeof unaryBackwardJs = (op, g, x, y, gx) => {
    if (!UNARY_GRAD_OPS.has(op) || g.length < minMapElements) {
      unaryBackwardJs(op, g, x, y, gx);
      return;
    }
    const n = g.length;
    const [G, X, Y, GX] = rt.layout([n, n, n, n], at);
    rt.put(G!, g, 0, n);
    if (GRAD_READS_X.has(op)) rt.put(X!, x, 0, n);
    if (GRAD_READS_Y.has(op)) rt.put(Y!, y, 0, n);
    rt.put(GX!, gx, 0, n);
    unaryGradMap(op)(n, G!, X!, Y!, GX!);
    rt.take(GX!, gx, 0, n);
  };

  const binary: typeof binaryForwardJs = (op, a, b, out, ia, ib) => {
    if (ia !== null || ib !== null || !BINARY_FORWARD.has(op) || out.length < minMapElements) {
      binaryForwardJs(op, a, b, out, ia, ib);
      return;
    }
    const n = out.length;
    const [A, B] = rt.layout([n, n], at);
    rt.put(A!, a, 0, n);
    rt.put(B!, b, 0, n);
    forwardMap(op)(n, A!, B!, A!);
    rt.take(A!, out, 0, n);
  };

  const binaryBackward: typeof binaryBackwardJs = (op, g, a, b, out, ga, gb, ia, ib) => {
    if (ia !== null || ib !== null || !BINARY_BACKWARD.has(op) || g.length < minMapElements) {
      binaryBackwardJs(op, g, a, b, out, ga, gb, ia, ib);
      return;
    }
    const n = g.length;
    const [G, A, B, O, GA, GB] = rt.layout([n, n, n, n, n, n], at);
    rt.put(G!, g, 0, n);
    if (op === 'mul' && gb) rt.put(A!, a, 0, n);
    if ((op === 'mul' || op === 'div') && (ga || (gb && op === 'div'))) rt.put(B!, b, 0, n);
    if (op === 'div' && gb) rt.put(O!, out, 0, n);
    if (ga) {
      rt.put(GA!, ga, 0, n);
      if (op === 'add' || op === 'sub') accumulateMap('plus')(n, G!, GA!);
      else accumulateMap(op === 'mul' ? 'times' : 'over')(n, G!, B!, GA!);
      rt.take(GA!, ga, 0, n);
    }
    if (gb) {
      rt.put(GB!, gb, 0, n);
      if (op === 'add') accumulateMap('plus')(n, G!, GB!);
      else if (op === 'sub') accumulateMap('minus')(n, G!, GB!);
      else if (op === 'mul') accumulateMap('times')(n, G!, A!, GB!);
      else accumulateMap('minus_times_over')(n, G!, O!, B!, GB!);
      rt.take(GB!, gb, 0, n);
    }
  };

  const columnSum: typeof columnSumJs = (rows, cols, src, dst) => {
    if (rows * cols < minMapElements) {
      columnSumJs(rows, cols, src, dst);
      return;
    }
    const [S, D] = rt.layout([rows * cols, cols], at);
    rt.put(S!, src, 0, rows * cols);
    rt.put(D!, dst, 0, cols);
    k.columnSum(rows, cols, S!, D!);
    rt.take(D!, dst, 0, cols);
  };

  const adam: AdamKernel = (w, g, m, v, s) => {
    const n = w.length;
    if (n < minMapElements) {
      adamJs(w, g, m, v, s);
      return;
    }
    const [W, G, M, V] = rt.layout([n, n, n, n], at);
    rt.put(W!, w, 0, n);
    rt.put(G!, g, 0, n);
    rt.put(M!, m, 0, n);
    rt.put(V!, v, 0, n);
    k.adam(n, W!, G!, M!, V!, s.b1, s.b2, s.stepSize, s.invSqrtBc2, s.eps, s.l2, s.shrink);
    rt.take(W!, w, 0, n);
    rt.take(M!, m, 0, n);
    rt.take(V!, v, 0, n);
  };

  const linear: FusedLinear = {
    forward(act: FusedActivation, rows, inF, outF, x, w, bias, out, pre) {
      const n = rows * outF;
      const [X, W, BIAS, OUT, PA, PB, T] = rt.layout(
        [rows * inF, inF * outF, outF, n, packASize(rows, inF), packBSize(outF, inF), TILE_SCRATCH],
        at,
      );
      rt.put(X!, x, 0, rows * inF);
      rt.put(W!, w, 0, inF * outF);
      if (bias) rt.put(BIAS!, bias, 0, outF);
      // The bias joins each tile in the gemm's epilogue while it is in registers; the activation is a
      // separate 4-way unrolled pass (in the epilogue, tanh measured 10% slower: one tile at a time leaves
      // too little independent work to hide its latency).
      gemmAt(1, false, false, rows, outF, inF, X!, 0, W!, 0, OUT!, 0, false, PA!, PB!, T!, bias ? BIAS! : 0);
      if (pre) rt.take(OUT!, pre, 0, n);
      if (act !== 'identity') forwardMap(act)(n, OUT!, OUT!);
      rt.take(OUT!, out, 0, n);
    },

    backward(act: FusedActivation, rows, inF, outF, g, y, pre, x, w, gx, gw, gb) {
      const n = rows * outF;
      const [G, Y, GZ, X, W, GX, GW, GB, PA, PB, T] = rt.layout(
        [
          n,
          n,
          n,
          rows * inF,
          inF * outF,
          rows * inF,
          inF * outF,
          outF,
          Math.max(packASize(rows, outF), packASize(inF, rows)),
          Math.max(packBSize(inF, outF), packBSize(outF, rows)),
          TILE_SCRATCH,
        ],
        at,
      );
      rt.put(G!, g, 0, n);
      let gz = G!;
      if (act !== 'identity') {
        rt.put(Y!, act === 'silu' ? pre! : y, 0, n);
        activationGradMap(act)(n, G!, Y!, GZ!);
        gz = GZ!;
      }
      if (gx && outF > 0) {
        rt.put(W!, w, 0, inF * outF);
        rt.put(GX!, gx, 0, rows * inF);
        gemmAt(1, false, true, rows, inF, outF, gz, 0, W!, 0, GX!, 0, true, PA!, PB!, T!);
        rt.take(GX!, gx, 0, rows * inF);
      }
      if (gw && rows > 0) {
        rt.put(X!, x, 0, rows * inF);
        rt.put(GW!, gw, 0, inF * outF);
        gemmAt(1, true, false, inF, outF, rows, X!, 0, gz, 0, GW!, 0, true, PA!, PB!, T!);
        rt.take(GW!, gw, 0, inF * outF);
      }
      if (gb) {
        rt.put(GB!, gb, 0, outF);
        k.columnSum(rows, outF, gz, GB!);
        rt.take(GB!, gb, 0, outF);
      }
    },
  };

  return {
    name: 'wasm',
    gemm,
    gemmBatched,
    unary,
    unaryBackward,
    binary,
    binaryBackward,
    columnSum,
    adam,
    linear,
  };
}
