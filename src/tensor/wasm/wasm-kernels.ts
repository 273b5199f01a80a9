/**
 * The WebAssembly SIMD kernel set: the same contract as the JavaScript kernels (kernels/*.ts), which stay
 * the reference and take every call this set does not cover (broadcast maps, pow, log, ...).
 * Each entry copies its operands into the module's arena, runs one or more kernels there and copies the
 * results out (see runtime.ts); a fused op (the linear layer) keeps its intermediates inside.
 */
import { type AdamKernel, adamJs } from '../kernels/adam.ts';
import type { KernelSet } from '../kernels/backend.ts';
import { type BoundLogVarKernel, boundLogVarJs } from '../kernels/bound-logvar.ts';
import {
  type BinaryOp,
  binaryBackward as binaryBackwardJs,
  binaryForward as binaryForwardJs,
  type UnaryOp,
  unaryBackward as unaryBackwardJs,
  unaryForward as unaryForwardJs,
} from '../kernels/elementwise.ts';
import { type GaussianNllKernel, gaussianNllJs } from '../kernels/gaussian-nll.ts';
import { type GruGatesKernel, type GruSequenceKernel, gruGatesJs } from '../kernels/gru.ts';
import type { BatchedLayer, FusedActivation, FusedLinear, FusedLinearBatched } from '../kernels/linear.ts';
import { type Gemm, type GemmBatched, gemmBatchedJs } from '../kernels/matmul.ts';
import { columnSumJs } from '../kernels/reduce.ts';
import { relaxedSimd } from './features.ts';
import { K_BLOCK, TILE_M, TILE_N } from './gemm-kernel.ts';
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
  'softplus',
]);
const BINARY_FORWARD: ReadonlySet<BinaryOp> = new Set(['add', 'sub', 'mul', 'div', 'minimum', 'maximum']);
const BINARY_BACKWARD: ReadonlySet<BinaryOp> = new Set(['add', 'sub', 'mul', 'div']);
/** Which of x (the input) and y (the output) each unary gradient reads; the other is not copied in. */
const GRAD_READS_X: ReadonlySet<string> = new Set(['abs', 'square', 'relu', 'softplus']);
const GRAD_READS_Y: ReadonlySet<string> = new Set(['sqrt', 'exp', 'tanh', 'sigmoid']);
const TILE_SCRATCH = TILE_M * TILE_N;
/** Rows per chunk of `forwardStack` (activations of 128 x 200 floats: 100 KiB). */
const STACK_CHUNK_ROWS = 128;

// The gemm packs at most K_BLOCK of the shared dimension at a time.
const packASize = (m: number, k: number): number => Math.ceil(m / TILE_M) * TILE_M * Math.min(k, K_BLOCK);
const packBSize = (n: number, k: number): number => Math.ceil(n / TILE_N) * TILE_N * Math.min(k, K_BLOCK);

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
  /**
   * Fused multiply-adds (relaxed SIMD's f32x4.relaxed_madd) in the gemm micro-kernel. Default: wherever the
   * runtime has relaxed SIMD (see features.ts).
   */
  readonly fma?: boolean;
}

const TRANSCENDENTAL: ReadonlySet<UnaryOp> = new Set(['exp', 'tanh', 'sigmoid', 'softplus']);

export function createWasmKernels(options: WasmKernelOptions = {}): KernelSet {
  const minGemmWork = options.minGemmWork ?? 512;
  const minMapElements = options.minMapElements ?? 128;
  const fma = options.fma ?? relaxedSimd();
  const rt = new WasmRuntime(kernelModuleBytes({ fma }));
  const k = {
    gemm: rt.kernel('gemm'),
    packB: rt.kernel('pack_b'),
    columnSum: rt.kernel('column_sum'),
    adam: rt.kernel('adam'),
    boundLogVar: rt.kernel('bound_logvar'),
    gaussianNll: rt.kernel('gaussian_nll'),
    siluKeep: rt.kernel('silu_keep'),
    gruForward: rt.kernel('gru_gates_fwd'),
    gruBackwardSet: rt.kernel('gru_gates_bwd_set'),
    gruBackwardAcc: rt.kernel('gru_gates_bwd_acc'),
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
  const at = new Int32Array(32);

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
    biasStride = 0,
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
      biasStride,
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
    if ((s.wholeLength ?? n) < minMapElements) {
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

  /** The activation in place over OUT; for a SiLU layer that trains, σ(pre) also goes to PRE and out to `pre`. */
  const activate = (
    act: FusedActivation,
    n: number,
    OUT: number,
    pre: Float32Array | null,
    PRE: number,
  ): void => {
    if (pre) {
      k.siluKeep(n, OUT, PRE, OUT);
      rt.take(PRE, pre, 0, n);
    } else if (act !== 'identity') forwardMap(act)(n, OUT, OUT);
  };

  /** The pre-activation gradient of G into GZ (returned), or G itself for the identity. */
  const activationGrad = (
    act: FusedActivation,
    n: number,
    G: number,
    y: Float32Array,
    Y: number,
    pre: Float32Array | null,
    S: number,
    GZ: number,
  ): number => {
    if (act === 'identity') return G;
    rt.put(Y, y, 0, n);
    if (act === 'silu') {
      rt.put(S, pre!, 0, n);
      activationGradMap(act)(n, G, Y, S, GZ);
    } else activationGradMap(act)(n, G, Y, GZ);
    return GZ;
  };

  const linear: FusedLinear = {
    forward(act: FusedActivation, rows, inF, outF, x, w, bias, out, pre) {
      const n = rows * outF;
      const [X, W, BIAS, OUT, PA, PB, T, PRE] = rt.layout(
        [
          rows * inF,
          inF * outF,
          outF,
          n,
          packASize(rows, inF),
          packBSize(outF, inF),
          TILE_SCRATCH,
          pre ? n : 0,
        ],
        at,
      );
      rt.put(X!, x, 0, rows * inF);
      rt.put(W!, w, 0, inF * outF);
      if (bias) rt.put(BIAS!, bias, 0, outF);
      // The bias joins each tile in the gemm's epilogue while it is in registers; the activation is a
      // separate 4-way unrolled pass (in the epilogue, tanh measured 10% slower: one tile at a time leaves
      // too little independent work to hide its latency).
      gemmAt(1, false, false, rows, outF, inF, X!, 0, W!, 0, OUT!, 0, false, PA!, PB!, T!, bias ? BIAS! : 0);
      activate(act, n, OUT!, pre, PRE!);
      rt.take(OUT!, out, 0, n);
    },

    backward(act: FusedActivation, rows, inF, outF, g, y, pre, x, w, gx, gw, gb, gxZero = false) {
      const n = rows * outF;
      const [G, Y, GZ, X, W, GX, GW, GB, PA, PB, T, S] = rt.layout(
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
          act === 'silu' ? n : 0,
        ],
        at,
      );
      rt.put(G!, g, 0, n);
      const gz = activationGrad(act, n, G!, y, Y!, pre, S!, GZ!);
      if (gx && outF > 0) {
        rt.put(W!, w, 0, inF * outF);
        if (!gxZero) rt.put(GX!, gx, 0, rows * inF);
        gemmAt(1, false, true, rows, inF, outF, gz, 0, W!, 0, GX!, 0, !gxZero, PA!, PB!, T!);
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

  const boundLogVar: BoundLogVarKernel = (
    rows,
    cols,
    raw,
    rawOffset,
    rawStride,
    maxLv,
    minLv,
    out,
    su,
    sv,
  ) => {
    const n = rows * cols;
    if (n < minMapElements) {
      boundLogVarJs(rows, cols, raw, rawOffset, rawStride, maxLv, minLv, out, su, sv);
      return;
    }
    const rawSpan = (rows - 1) * rawStride + cols;
    // The kernel's last vector of a row may run up to 3 lanes past it (see map-kernels.ts): every
    // region gets that much room beyond its end.
    const [RAW, MAX, MIN, OUT, SU, SV] = rt.layout(
      [rawSpan + 3, cols + 3, cols + 3, n + 3, n + 3, n + 3],
      at,
    );
    rt.put(RAW!, raw, rawOffset, rawSpan);
    rt.put(MAX!, maxLv, 0, cols);
    rt.put(MIN!, minLv, 0, cols);
    const keep = su !== null && sv !== null;
    k.boundLogVar(rows, cols, RAW!, rawStride, MAX!, MIN!, OUT!, keep ? SU! : 0, keep ? SV! : 0);
    rt.take(OUT!, out, 0, n);
    if (keep) {
      rt.take(SU!, su, 0, n);
      rt.take(SV!, sv, 0, n);
    }
  };

  const gaussianNll: GaussianNllKernel = (n, mean, logVar, target, values, dMean, dLogVar) => {
    if (n < minMapElements || (dMean === null) !== (dLogVar === null)) {
      gaussianNllJs(n, mean, logVar, target, values, dMean, dLogVar);
      return;
    }
    const [M, L, T, V, DM, DL] = rt.layout([n, n, n, n, n, n], at);
    rt.put(M!, mean, 0, n);
    rt.put(L!, logVar, 0, n);
    rt.put(T!, target, 0, n);
    k.gaussianNll(n, M!, L!, T!, V!, dMean ? DM! : 0, DL!);
    rt.take(V!, values, 0, n);
    if (dMean && dLogVar) {
      rt.take(DM!, dMean, 0, n);
      rt.take(DL!, dLogVar, 0, n);
    }
  };

  const allZero = (a: Float32Array, n: number): boolean => {
    for (let i = 0; i < n; i++) if (a[i] !== 0) return false;
    return true;
  };

  // The GRU kernels work a vector at a time along the hidden axis, so they take H % 4 = 0 only.
  const gruGates: GruGatesKernel = {
    forward(rows, hidden, a, b, h, out, gates) {
      const nh = rows * hidden;
      if (hidden % 4 !== 0 || nh < minMapElements) {
        gruGatesJs.forward(rows, hidden, a, b, h, out, gates);
        return;
      }
      const [A, B, H, OUT, GATES] = rt.layout([3 * nh, 3 * nh, nh, nh, 3 * nh], at);
      rt.put(A!, a, 0, 3 * nh);
      rt.put(B!, b, 0, 3 * nh);
      rt.put(H!, h, 0, nh);
      k.gruForward(rows, hidden, A!, B!, H!, OUT!, GATES!, 0);
      rt.take(OUT!, out, 0, nh);
      rt.take(GATES!, gates, 0, 3 * nh);
    },

    backward(rows, hidden, g, h, gates, b, da, db, dh) {
      const nh = rows * hidden;
      if (hidden % 4 !== 0 || nh < minMapElements) {
        gruGatesJs.backward(rows, hidden, g, h, gates, b, da, db, dh);
        return;
      }
      // Gradients not wanted still get a region (written, never copied out).
      const [G, H, GATES, B, DA, DB, DH] = rt.layout([nh, nh, 3 * nh, 3 * nh, 3 * nh, 3 * nh, nh], at);
      rt.put(G!, g, 0, nh);
      rt.put(H!, h, 0, nh);
      rt.put(GATES!, gates, 0, 3 * nh);
      rt.put(B!, b, 0, 3 * nh);
      if (da) rt.put(DA!, da, 0, 3 * nh);
      if (db) rt.put(DB!, db, 0, 3 * nh);
      if (dh) rt.put(DH!, dh, 0, nh);
      k.gruBackwardAcc(rows, hidden, G!, H!, GATES!, B! + 8 * hidden, 3 * hidden, DA!, DB!, DH!);
      if (da) rt.take(DA!, da, 0, 3 * nh);
      if (db) rt.take(DB!, db, 0, 3 * nh);
      if (dh) rt.take(DH!, dh, 0, nh);
    },
  };

  const gru: GruSequenceKernel = {
    supports: (_inF, hidden) => hidden % 4 === 0,

    forward(steps, rows, inF, hidden, x, h0, wIh, bIh, wHh, bHh, out, gates, bn) {
      const h3 = 3 * hidden;
      const nh = rows * hidden;
      const tn = steps * rows;
      const keep = gates !== null && bn !== null;
      const [X, WIH, BIH, WHH, BHH, GI, ST, GATES, BN, GH, PA, PB, T, PW] = rt.layout(
        [
          tn * inF,
          inF * h3,
          h3,
          hidden * h3,
          h3,
          tn * h3,
          (steps + 1) * nh,
          (keep ? steps : 1) * 3 * nh,
          (keep ? steps : 1) * nh,
          3 * nh,
          Math.max(packASize(tn, inF), packASize(rows, hidden)),
          Math.max(packBSize(h3, inF), packBSize(h3, hidden)),
          TILE_SCRATCH,
          packBSize(h3, hidden),
        ],
        at,
      );
      rt.put(X!, x, 0, tn * inF);
      rt.put(WIH!, wIh, 0, inF * h3);
      rt.put(BIH!, bIh, 0, h3);
      rt.put(WHH!, wHh, 0, hidden * h3);
      rt.put(BHH!, bHh, 0, h3);
      rt.put(ST!, h0, 0, nh);
      // Every step's input projection in one product, then step by step: the hidden projection of the last
      // state, and the gates, which write the next state beside it. Nothing leaves the arena until the end.
      gemmAt(1, false, false, tn, h3, inF, X!, 0, WIH!, 0, GI!, 0, false, PA!, PB!, T!, BIH!);
      // W_hh is packed once for all steps (B = 0 tells gemm it is packed at PW) where one block holds it.
      const packed = hidden <= K_BLOCK;
      if (packed) k.packB(WHH!, h3, 1, h3, hidden, PW!);
      const [w, pw] = packed ? [0, PW!] : [WHH!, PB!];
      // From a zero state (the usual start) the first hidden projection is the bias alone: k = 0.
      const zeroStart = allZero(h0, nh);
      for (let t = 0; t < steps; t++) {
        const st = ST! + 4 * t * nh;
        const kk = t === 0 && zeroStart ? 0 : hidden;
        gemmAt(1, false, false, rows, h3, kk, st, 0, w, 0, GH!, 0, false, PA!, pw, T!, BHH!);
        const g = keep ? GATES! + 12 * t * nh : GATES!;
        k.gruForward(rows, hidden, GI! + 12 * t * nh, GH!, st, st + 4 * nh, g, keep ? BN! + 4 * t * nh : 0);
      }
      rt.take(ST! + 4 * nh, out, 0, steps * nh);
      if (keep) {
        rt.take(GATES!, gates, 0, 3 * steps * nh);
        rt.take(BN!, bn, 0, steps * nh);
      }
    },

    backward(
      steps,
      rows,
      inF,
      hidden,
      gOut,
      x,
      h0,
      out,
      gates,
      bn,
      wIh,
      wHh,
      dx,
      dh0,
      dwIh,
      dbIh,
      dwHh,
      dbHh,
    ) {
      const h3 = 3 * hidden;
      const nh = rows * hidden;
      const tn = steps * rows;
      const [GOUT, X, ST, GATES, BN, WIH, WHH, DGI, DGH, DH, DH0, DX, DWIH, DBIH, DWHH, DBHH, PA, PB, T, PW] =
        rt.layout(
          [
            steps * nh,
            tn * inF,
            (steps + 1) * nh,
            3 * steps * nh,
            steps * nh,
            inF * h3,
            hidden * h3,
            3 * steps * nh,
            3 * steps * nh,
            nh,
            nh,
            tn * inF,
            inF * h3,
            h3,
            hidden * h3,
            h3,
            Math.max(packASize(rows, h3), packASize(hidden, tn), packASize(inF, tn), packASize(tn, h3)),
            Math.max(packBSize(hidden, h3), packBSize(h3, tn), packBSize(inF, h3)),
            TILE_SCRATCH,
            packBSize(hidden, h3),
          ],
          at,
        );
      rt.put(GOUT!, gOut, 0, steps * nh);
      rt.put(ST!, h0, 0, nh);
      rt.put(ST! + 4 * nh, out, 0, steps * nh);
      rt.put(GATES!, gates, 0, 3 * steps * nh);
      rt.put(BN!, bn, 0, steps * nh);
      rt.put(WHH!, wHh, 0, hidden * h3);
      rt.heap().fill(0, DH! >> 2, (DH! >> 2) + nh);
      // Back through the steps: DH carries the gradient of the state; each step's projection gradients go
      // to DGI and DGH (all steps kept), and DH becomes the gradient of the step's input state.
      const plus = accumulateMap('plus');
      // W_hhᵀ packed once for every step's dH += dGH·W_hhᵀ, where one block holds it.
      const packed = h3 <= K_BLOCK;
      if (packed) k.packB(WHH!, 1, h3, hidden, h3, PW!);
      const [w, pw] = packed ? [0, PW!] : [WHH!, PB!];
      for (let t = steps - 1; t >= 0; t--) {
        plus(nh, GOUT! + 4 * t * nh, DH!);
        const dgh = DGH! + 12 * t * nh;
        k.gruBackwardSet(
          rows,
          hidden,
          DH!,
          ST! + 4 * t * nh,
          GATES! + 12 * t * nh,
          BN! + 4 * t * nh,
          hidden,
          DGI! + 12 * t * nh,
          dgh,
          DH!,
        );
        if (t > 0 || dh0) gemmAt(1, false, true, rows, hidden, h3, dgh, 0, w, 0, DH!, 0, true, PA!, pw, T!);
      }
      // The weight gradients over every step at once: the states before each step are ST's first T blocks.
      if (dwHh) {
        rt.put(DWHH!, dwHh, 0, hidden * h3);
        // A zero first state adds nothing: start the product at the second step.
        const skip = allZero(h0, nh) ? 1 : 0;
        const [st, dgh] = [ST! + 4 * skip * nh, DGH! + 12 * skip * nh];
        gemmAt(1, true, false, hidden, h3, tn - skip * rows, st, 0, dgh, 0, DWHH!, 0, true, PA!, PB!, T!);
        rt.take(DWHH!, dwHh, 0, hidden * h3);
      }
      if (dbHh) {
        rt.put(DBHH!, dbHh, 0, h3);
        k.columnSum(tn, h3, DGH!, DBHH!);
        rt.take(DBHH!, dbHh, 0, h3);
      }
      if ((dwIh || dx) && inF > 0) rt.put(X!, x, 0, tn * inF);
      if (dwIh && inF > 0) {
        rt.put(DWIH!, dwIh, 0, inF * h3);
        gemmAt(1, true, false, inF, h3, tn, X!, 0, DGI!, 0, DWIH!, 0, true, PA!, PB!, T!);
        rt.take(DWIH!, dwIh, 0, inF * h3);
      }
      if (dbIh) {
        rt.put(DBIH!, dbIh, 0, h3);
        k.columnSum(tn, h3, DGI!, DBIH!);
        rt.take(DBIH!, dbIh, 0, h3);
      }
      if (dx && inF > 0) {
        rt.put(WIH!, wIh, 0, inF * h3);
        rt.put(DX!, dx, 0, tn * inF);
        gemmAt(1, false, true, tn, inF, h3, DGI!, 0, WIH!, 0, DX!, 0, true, PA!, PB!, T!);
        rt.take(DX!, dx, 0, tn * inF);
      }
      if (dh0) {
        rt.put(DH0!, dh0, 0, nh);
        plus(nh, DH!, DH0!);
        rt.take(DH0!, dh0, 0, nh);
      }
    },
  };

  let stackRegions = new Int32Array(0);
  const stackAt = (count: number): Int32Array => {
    if (stackRegions.length < count) stackRegions = new Int32Array(count);
    return stackRegions;
  };

  const linearBatched: FusedLinearBatched = {
    forward(act, batch, rows, inF, outF, x, xStride, w, bias, out, pre) {
      const n = batch * rows * outF;
      if (n === 0) return;
      const xSpan = (batch - 1) * xStride + rows * inF;
      const wSize = batch * inF * outF;
      const [X, W, BIAS, OUT, PA, PB, T, PRE] = rt.layout(
        [
          xSpan,
          wSize,
          batch * outF,
          n,
          packASize(rows, inF),
          packBSize(outF, inF),
          TILE_SCRATCH,
          pre ? n : 0,
        ],
        at,
      );
      rt.put(X!, x, 0, xSpan);
      rt.put(W!, w, 0, wSize);
      if (bias) rt.put(BIAS!, bias, 0, batch * outF);
      // Every member in one call; each member's bias joins its tiles in the epilogue.
      const b = bias ? BIAS! : 0;
      gemmAt(
        batch,
        false,
        false,
        rows,
        outF,
        inF,
        X!,
        xStride,
        W!,
        inF * outF,
        OUT!,
        rows * outF,
        false,
        PA!,
        PB!,
        T!,
        b,
        outF,
      );
      activate(act, n, OUT!, pre, PRE!);
      rt.take(OUT!, out, 0, n);
    },

    forwardStack(batch, rows, x, xStride, layers, out, saved = null, packed = null, memberRows = null) {
      const last = layers[layers.length - 1];
      if (!last || layers.some((l) => l.inF > K_BLOCK || l.inF === 0)) return false;
      const inF = layers[0]!.inF;
      const outF = last.outF;
      if (batch * rows * outF === 0) return true;
      // Rows go in chunks small enough that a chunk's activations, its packed copy and one member's packed
      // weights stay in L2 from layer to layer; every weight is packed once, up front (gemm's B = 0).
      let widest = 0;
      let widestIn = 0;
      let largest = 0;
      for (const l of layers) {
        widest = Math.max(widest, l.outF);
        widestIn = Math.max(widestIn, l.inF);
        largest = Math.max(largest, l.inF * l.outF);
      }
      // Each layer's packed weights [batch] then its biases [batch, outF], in the pinned region when the
      // caller names the weights' version (inference: packed once, reused until the version changes), else
      // in this call's scratch.
      const weightSizes: number[] = [];
      for (const l of layers) weightSizes.push(batch * packBSize(l.outF, l.inF), batch * l.outF);
      const pinned = packed && !saved ? rt.pin(packed.owner, packed.version, weightSizes) : null;
      const chunk = Math.max(TILE_M, Math.min(rows, STACK_CHUNK_ROWS));
      const xSpan = (batch - 1) * xStride + rows * inF;
      // OUT has room for the last map's run past its rows (whole 16-float steps from where they start).
      const sizes = [
        xSpan,
        batch * rows * outF + 16,
        chunk * widest,
        chunk * widest,
        packASize(chunk, widestIn),
      ];
      sizes.push(TILE_SCRATCH, pinned && !pinned.fresh ? 0 : largest, saved ? chunk * widest : 0);
      if (!pinned) sizes.push(...weightSizes);
      const regions = rt.layout(sizes, stackAt(sizes.length));
      const [X, OUT, H0, H1, PA, T, RAW, S] = regions;
      const weightAt = pinned ? pinned.addrs : regions.subarray(8);
      const packedW = (i: number, e: number, l: BatchedLayer): number =>
        weightAt[2 * i]! + 4 * e * packBSize(l.outF, l.inF);
      const biasAt = (i: number): number => weightAt[2 * i + 1]!;
      rt.put(X!, x, 0, xSpan);
      if (!pinned || pinned.fresh) {
        layers.forEach((l: BatchedLayer, i) => {
          for (let e = 0; e < batch; e++) {
            rt.put(RAW!, l.w, e * l.inF * l.outF, l.inF * l.outF);
            k.packB(RAW!, l.outF, 1, l.outF, l.inF, packedW(i, e, l));
          }
          if (l.bias) rt.put(biasAt(i), l.bias, 0, batch * l.outF);
        });
        if (pinned && packed) rt.pinned(packed.owner, packed.version);
      }
      // Without gradients a member may need only its first rows (memberRows[e]); the rest are not computed.
      const rowsOf = (e: number): number => (memberRows && !saved ? Math.min(rows, memberRows[e]!) : rows);
      for (let e = 0; e < batch; e++) {
        const used = rowsOf(e);
        for (let r0 = 0; r0 < used; r0 += chunk) {
          const m = Math.min(chunk, used - r0);
          let src = X! + 4 * (e * xStride + r0 * inF);
          layers.forEach((l: BatchedLayer, i) => {
            // The last layer writes its rows of OUT; a map's overrun past them lands on rows written later.
            const dst = i === layers.length - 1 ? OUT! + 4 * (e * rows + r0) * outF : i % 2 === 0 ? H0! : H1!;
            const bias = l.bias ? biasAt(i) + 4 * e * l.outF : 0;
            gemmAt(
              1,
              false,
              false,
              m,
              l.outF,
              l.inF,
              src,
              0,
              0,
              0,
              dst,
              0,
              false,
              PA!,
              packedW(i, e, l),
              T!,
              bias,
            );
            const len = m * l.outF;
            const at = (e * rows + r0) * l.outF;
            const pre = saved?.pre[i];
            if (pre) {
              k.siluKeep(len, dst, S!, dst);
              rt.take(S!, pre, at, len);
            } else if (l.act !== 'identity') forwardMap(l.act)(len, dst, dst);
            if (saved && i < layers.length - 1) rt.take(dst, saved.hidden[i]!, at, len);
            src = dst;
          });
        }
      }
      rt.take(OUT!, out, 0, batch * rows * outF);
      for (let e = 0; e < batch; e++) {
        const used = rowsOf(e);
        if (used < rows) out.fill(0, (e * rows + used) * outF, (e + 1) * rows * outF);
      }
      return true;
    },

    backwardStack(batch, rows, x, xStride, layers, out, saved, g, gx, gxZero, gw, gb) {
      const count = layers.length;
      const inF = layers[0]!.inF;
      if (batch * rows === 0) return;
      let widest = 0;
      let largest = 0;
      let packA = 0;
      let packB = 0;
      for (const l of layers) {
        widest = Math.max(widest, l.outF, l.inF);
        largest = Math.max(largest, l.inF * l.outF);
        packA = Math.max(packA, packASize(rows, l.outF), packASize(l.inF, rows));
        packB = Math.max(packB, packBSize(l.inF, l.outF), packBSize(l.outF, rows));
      }
      const xSpan = (batch - 1) * xStride + rows * inF;
      const wide = batch * rows * widest;
      // X, G (two, in turn), GZ, GX, GW, GB, PA, PB, T, then per layer W, Y (its output) and S (σ, SiLU).
      const sizes = [
        xSpan,
        wide,
        wide,
        wide,
        xSpan,
        batch * largest,
        batch * widest,
        packA,
        packB,
        TILE_SCRATCH,
      ];
      for (const l of layers)
        sizes.push(
          batch * l.inF * l.outF,
          batch * rows * l.outF,
          l.act === 'silu' ? batch * rows * l.outF : 0,
        );
      const regions = rt.layout(sizes, stackAt(sizes.length));
      const [X, GA, GB2, GZ, GX, GW, GBIAS, PA, PB, T] = regions;
      const W = (i: number): number => regions[10 + 3 * i]!;
      const Y = (i: number): number => regions[11 + 3 * i]!;
      const S = (i: number): number => regions[12 + 3 * i]!;
      rt.put(X!, x, 0, xSpan);
      layers.forEach((l: BatchedLayer, i) => {
        const n = batch * rows * l.outF;
        // Every layer's output is the next one's input (for its weight gradient) and its own activation's.
        rt.put(Y(i), i === count - 1 ? out : saved.hidden[i]!, 0, n);
        if (l.act === 'silu') rt.put(S(i), saved.pre[i]!, 0, n);
        if (i > 0 || gx) rt.put(W(i), l.w, 0, batch * l.inF * l.outF);
      });
      let cur = GA!;
      let other = GB2!;
      rt.put(cur, g, 0, batch * rows * layers[count - 1]!.outF);
      for (let i = count - 1; i >= 0; i--) {
        const l = layers[i]!;
        const n = batch * rows * l.outF;
        const zStride = rows * l.outF;
        let gz = cur;
        if (l.act !== 'identity') {
          if (l.act === 'silu') activationGradMap(l.act)(n, cur, Y(i), S(i), GZ!);
          else activationGradMap(l.act)(n, cur, Y(i), GZ!);
          gz = GZ!;
        }
        const [xi, xs] = i === 0 ? [X!, xStride] : [Y(i - 1), rows * l.inF];
        const wSize = batch * l.inF * l.outF;
        const gwi = gw[i];
        if (gwi) {
          rt.put(GW!, gwi, 0, wSize);
          gemmAt(
            batch,
            true,
            false,
            l.inF,
            l.outF,
            rows,
            xi,
            xs,
            gz,
            zStride,
            GW!,
            l.inF * l.outF,
            true,
            PA!,
            PB!,
            T!,
          );
          rt.take(GW!, gwi, 0, wSize);
        }
        const gbi = gb[i];
        if (gbi) {
          rt.put(GBIAS!, gbi, 0, batch * l.outF);
          for (let e = 0; e < batch; e++)
            k.columnSum(rows, l.outF, gz + 4 * e * zStride, GBIAS! + 4 * e * l.outF);
          rt.take(GBIAS!, gbi, 0, batch * l.outF);
        }
        if (i > 0) {
          // The gradient of the layer below's output, written (not added) into the other G region.
          gemmAt(
            batch,
            false,
            true,
            rows,
            l.inF,
            l.outF,
            gz,
            zStride,
            W(i),
            l.inF * l.outF,
            other,
            rows * l.inF,
            false,
            PA!,
            PB!,
            T!,
          );
          [cur, other] = [other, cur];
        } else if (gx) {
          const add = !gxZero || xStride === 0;
          if (!gxZero) rt.put(GX!, gx, 0, xSpan);
          else if (add) rt.heap().fill(0, GX! >> 2, (GX! >> 2) + xSpan);
          gemmAt(
            batch,
            false,
            true,
            rows,
            inF,
            l.outF,
            gz,
            zStride,
            W(0),
            inF * l.outF,
            GX!,
            xStride,
            add,
            PA!,
            PB!,
            T!,
          );
          rt.take(GX!, gx, 0, xSpan);
        }
      }
    },

    backward(act, batch, rows, inF, outF, g, y, pre, x, xStride, w, gx, gw, gb, gxZero = false) {
      const n = batch * rows * outF;
      if (n === 0) return;
      const xSpan = (batch - 1) * xStride + rows * inF;
      const wSize = batch * inF * outF;
      const [G, Y, GZ, X, W, GX, GW, GB, PA, PB, T, S] = rt.layout(
        [
          n,
          n,
          n,
          xSpan,
          wSize,
          xSpan,
          wSize,
          batch * outF,
          Math.max(packASize(rows, outF), packASize(inF, rows)),
          Math.max(packBSize(inF, outF), packBSize(outF, rows)),
          TILE_SCRATCH,
          act === 'silu' ? n : 0,
        ],
        at,
      );
      rt.put(G!, g, 0, n);
      const gz = activationGrad(act, n, G!, y, Y!, pre, S!, GZ!);
      const zStride = rows * outF;
      if (gx && inF > 0) {
        rt.put(W!, w, 0, wSize);
        // A fresh (zero) gx need not be copied in: members with their own rows write theirs; a shared
        // input still sums every member's share, from zeros.
        const add = !gxZero || xStride === 0;
        if (!gxZero) rt.put(GX!, gx, 0, xSpan);
        else if (add) rt.heap().fill(0, GX! >> 2, (GX! >> 2) + xSpan);
        // A shared input (xStride 0) gathers every member's dX into the same block.
        gemmAt(
          batch,
          false,
          true,
          rows,
          inF,
          outF,
          gz,
          zStride,
          W!,
          inF * outF,
          GX!,
          xStride,
          add,
          PA!,
          PB!,
          T!,
        );
        rt.take(GX!, gx, 0, xSpan);
      }
      if (gw && inF > 0) {
        rt.put(X!, x, 0, xSpan);
        rt.put(GW!, gw, 0, wSize);
        gemmAt(
          batch,
          true,
          false,
          inF,
          outF,
          rows,
          X!,
          xStride,
          gz,
          zStride,
          GW!,
          inF * outF,
          true,
          PA!,
          PB!,
          T!,
        );
        rt.take(GW!, gw, 0, wSize);
      }
      if (gb) {
        rt.put(GB!, gb, 0, batch * outF);
        for (let e = 0; e < batch; e++) k.columnSum(rows, outF, gz + 4 * e * zStride, GB! + 4 * e * outF);
        rt.take(GB!, gb, 0, batch * outF);
      }
    },
  };

  return {
    name: 'wasm',
    minMapElements,
    gemm,
    gemmBatched,
    unary,
    unaryBackward,
    binary,
    binaryBackward,
    columnSum,
    adam,
    boundLogVar,
    gaussianNll,
    gruGates,
    linear,
    linearBatched,
    gru,
  };
}
