/**
 * Elementwise kernels as SIMD loops over flat arrays: `out[i] = f(in0[i], in1[i], ...)` or, for gradients,
 * `out[i] += f(...)`. Regions in the arena are padded to whole loop steps (MAP_UNROLL vectors), so loops may
 * run past n and need no scalar tail; lanes past n are scratch and never copied out.
 */
import { FunctionBuilder as Fn, type FunctionBuilder, Op, SimdOp, ValType } from './function-builder.ts';
import type { ModuleBuilder } from './module-builder.ts';
import { emitExp, emitSigmoid, emitSigmoidTimes, emitSoftplus, emitTanh } from './simd-math.ts';

const S = SimdOp;
const { i32, v128 } = ValType;
/** Vectors per loop iteration (independent chains overlap); arena regions are padded to match (runtime.ts). */
export const MAP_UNROLL = 4;

/** Pushes f(inputs) given the loaded input vectors. */
type Body = (f: FunctionBuilder, x: readonly number[]) => void;

interface MapSpec {
  readonly inputs: number;
  /** out += f(...) instead of out = f(...). */
  readonly accumulate: boolean;
  readonly body: Body;
}

const binaryOp =
  (op: number): Body =>
  (f, [a, b]) =>
    f.get(a!).get(b!).simd(op);
const mask = (f: FunctionBuilder, value: number, cmp: number, x: number): void => {
  // value where cmp(x, 0) holds, else +0 (a lane mask ANDed with the value).
  f.get(value).get(x).f32x4(0).simd(cmp).simd(S.v128And);
};

/** Forward maps, out = f(x) or f(a, b); also the fused activations applied in place. */
const FORWARD: Record<string, MapSpec> = {
  add: { inputs: 2, accumulate: false, body: binaryOp(S.f32x4Add) },
  sub: { inputs: 2, accumulate: false, body: binaryOp(S.f32x4Sub) },
  mul: { inputs: 2, accumulate: false, body: binaryOp(S.f32x4Mul) },
  div: { inputs: 2, accumulate: false, body: binaryOp(S.f32x4Div) },
  minimum: { inputs: 2, accumulate: false, body: binaryOp(S.f32x4Min) },
  maximum: { inputs: 2, accumulate: false, body: binaryOp(S.f32x4Max) },
  neg: { inputs: 1, accumulate: false, body: (f, [x]) => f.get(x!).simd(S.f32x4Neg) },
  abs: { inputs: 1, accumulate: false, body: (f, [x]) => f.get(x!).simd(S.f32x4Abs) },
  sqrt: { inputs: 1, accumulate: false, body: (f, [x]) => f.get(x!).simd(S.f32x4Sqrt) },
  square: { inputs: 1, accumulate: false, body: (f, [x]) => f.get(x!).get(x!).simd(S.f32x4Mul) },
  exp: { inputs: 1, accumulate: false, body: (f, [x]) => emitExp(f, x!) },
  tanh: { inputs: 1, accumulate: false, body: (f, [x]) => emitTanh(f, x!) },
  sigmoid: { inputs: 1, accumulate: false, body: (f, [x]) => emitSigmoid(f, x!) },
  relu: { inputs: 1, accumulate: false, body: (f, [x]) => mask(f, x!, S.f32x4Gt, x!) },
  // x / (1 + e^-x): one division.
  silu: { inputs: 1, accumulate: false, body: (f, [x]) => emitSigmoidTimes(f, x!, () => f.get(x!), true) },
  softplus: { inputs: 1, accumulate: false, body: (f, [x]) => emitSoftplus(f, x!, f.local(v128)) },
};

/** gx += g · f'(x, y) for y = f(x), inputs (g, x, y), as the tensor ops' backward passes need. */
const UNARY_GRAD: Record<string, MapSpec> = {
  neg: { inputs: 3, accumulate: true, body: (f, [g]) => f.get(g!).simd(S.f32x4Neg) },
  abs: {
    inputs: 3,
    accumulate: true,
    body: (f, [g, x]) => {
      mask(f, g!, S.f32x4Gt, x!);
      mask(f, g!, S.f32x4Lt, x!);
      f.simd(S.f32x4Sub);
    },
  },
  sqrt: {
    inputs: 3,
    accumulate: true,
    body: (f, [g, , y]) => f.f32x4(0.5).get(g!).simd(S.f32x4Mul).get(y!).simd(S.f32x4Div),
  },
  square: {
    inputs: 3,
    accumulate: true,
    body: (f, [g, x]) => f.f32x4(2).get(g!).simd(S.f32x4Mul).get(x!).simd(S.f32x4Mul),
  },
  exp: { inputs: 3, accumulate: true, body: (f, [g, , y]) => f.get(g!).get(y!).simd(S.f32x4Mul) },
  tanh: { inputs: 3, accumulate: true, body: (f, [g, , y]) => tanhGrad(f, g!, y!) },
  sigmoid: { inputs: 3, accumulate: true, body: (f, [g, , y]) => sigmoidGrad(f, g!, y!) },
  relu: { inputs: 3, accumulate: true, body: (f, [g, x]) => mask(f, g!, S.f32x4Gt, x!) },
  softplus: {
    inputs: 3,
    accumulate: true,
    body: (f, [g, x]) => {
      f.get(g!);
      emitSigmoid(f, x!);
      f.simd(S.f32x4Mul);
    },
  },
};

function tanhGrad(f: FunctionBuilder, g: number, y: number): void {
  f.get(g).f32x4(1).get(y).get(y).simd(S.f32x4Mul).simd(S.f32x4Sub).simd(S.f32x4Mul);
}

function sigmoidGrad(f: FunctionBuilder, g: number, y: number): void {
  f.get(g).get(y).simd(S.f32x4Mul).f32x4(1).get(y).simd(S.f32x4Sub).simd(S.f32x4Mul);
}

/** gz = g · act'(·) for the fused activations, inputs (g, y), or (g, y, σ(pre)) for SiLU. */
const ACTIVATION_GRAD: Record<string, MapSpec> = {
  tanh: { inputs: 2, accumulate: false, body: (f, [g, y]) => tanhGrad(f, g!, y!) },
  sigmoid: { inputs: 2, accumulate: false, body: (f, [g, y]) => sigmoidGrad(f, g!, y!) },
  relu: { inputs: 2, accumulate: false, body: (f, [g, y]) => mask(f, g!, S.f32x4Gt, y!) },
  silu: {
    inputs: 3,
    accumulate: false,
    // d/dz z·σ(z) = σ + y·(1 - σ)
    body: (f, [g, y, s]) => {
      f.get(g!).get(s!).get(y!).f32x4(1).get(s!).simd(S.f32x4Sub).simd(S.f32x4Mul);
      f.simd(S.f32x4Add).simd(S.f32x4Mul);
    },
  },
};

/** `silu_keep` (n, z, s, y): s = σ(z), y = z·s, the forward pass of a layer that trains (y may be z). */
function emitSiluKeep(fma: boolean): FunctionBuilder {
  const f = new Fn([i32, i32, i32, i32], [], { fma });
  const [n, z, sOut, yOut] = [0, 1, 2, 3];
  const [i, end] = f.locals(i32, 2);
  const zs = f.locals(v128, MAP_UNROLL);
  const ss = f.locals(v128, MAP_UNROLL);
  f.get(n).i32(4).op(Op.i32Mul).set(end);
  f.forLoop(
    i,
    () => f.i32(0),
    end,
    16 * MAP_UNROLL,
    () => {
      zs.forEach((x, u) => {
        f.get(z)
          .get(i)
          .op(Op.i32Add)
          .v128Load(16 * u)
          .set(x);
      });
      zs.forEach((x, u) => {
        emitSigmoid(f, x);
        f.set(ss[u]!);
      });
      zs.forEach((x, u) => {
        f.get(sOut)
          .get(i)
          .op(Op.i32Add)
          .get(ss[u]!)
          .v128Store(16 * u);
        f.get(yOut)
          .get(i)
          .op(Op.i32Add)
          .get(x)
          .get(ss[u]!)
          .simd(S.f32x4Mul)
          .v128Store(16 * u);
      });
    },
  );
  return f;
}

/** Accumulating maps for the binary ops' gradients: out += g, out -= g, out += g·x, out += g/x, out -= g·y/x. */
const ACCUMULATE: Record<string, MapSpec> = {
  plus: { inputs: 1, accumulate: true, body: (f, [g]) => f.get(g!) },
  minus: { inputs: 1, accumulate: true, body: (f, [g]) => f.get(g!).simd(S.f32x4Neg) },
  times: { inputs: 2, accumulate: true, body: binaryOp(S.f32x4Mul) },
  over: { inputs: 2, accumulate: true, body: binaryOp(S.f32x4Div) },
  minus_times_over: {
    inputs: 3,
    accumulate: true,
    body: (f, [g, y, x]) => f.get(g!).get(y!).simd(S.f32x4Mul).get(x!).simd(S.f32x4Div).simd(S.f32x4Neg),
  },
};

function emitMap(spec: MapSpec, fma: boolean): FunctionBuilder {
  // (n, in0, ..., out): addresses in bytes. MAP_UNROLL vectors per iteration, each with its own locals,
  // so the long dependency chains of exp and tanh overlap.
  const f = new Fn(new Array(spec.inputs + 2).fill(i32), [], { fma });
  const n = 0;
  const out = spec.inputs + 1;
  const [i, end, o] = f.locals(i32, 3);
  const xs = Array.from({ length: MAP_UNROLL }, () => f.locals(v128, spec.inputs));
  f.get(n).i32(4).op(Op.i32Mul).set(end);
  f.forLoop(
    i,
    () => f.i32(0),
    end,
    16 * MAP_UNROLL,
    () => {
      f.get(out).get(i).op(Op.i32Add).set(o);
      for (let u = 0; u < MAP_UNROLL; u++) {
        xs[u]!.forEach((x, k) => {
          f.get(k + 1)
            .get(i)
            .op(Op.i32Add)
            .v128Load(16 * u)
            .set(x);
        });
      }
      for (let u = 0; u < MAP_UNROLL; u++) {
        f.get(o);
        spec.body(f, xs[u]!);
        if (spec.accumulate)
          f.get(o)
            .v128Load(16 * u)
            .simd(S.f32x4Add);
        f.v128Store(16 * u);
      }
    },
  );
  return f;
}

/**
 * `column_sum`: vec[j] += sum_r mat[r, j] over a rows x cols matrix (the bias gradient). Whole vectors
 * first, then a scalar tail, since rows are not padded.
 */
function emitColumnSum(): FunctionBuilder {
  // (rows, cols, mat, vec)
  const f = new Fn([i32, i32, i32, i32]);
  const [rows, cols, mat, vec] = [0, 1, 2, 3];
  const [r, j, cols4, row] = f.locals(i32, 4);
  f.get(cols).i32(-4).op(Op.i32And).set(cols4);
  const addInto = (vector: boolean): void => {
    // vec[j] += row[j] at byte offset 4j, vector or scalar.
    const at = (base: number): void => {
      f.get(base).get(j).i32(4).op(Op.i32Mul).op(Op.i32Add);
    };
    at(vec);
    at(vec);
    if (vector) f.v128Load();
    else f.f32Load();
    at(row);
    if (vector) f.v128Load().simd(S.f32x4Add).v128Store();
    else f.f32Load().op(Op.f32Add).f32Store();
  };
  f.forLoop(
    r,
    () => f.i32(0),
    rows,
    1,
    () => {
      f.get(mat).get(r).get(cols).op(Op.i32Mul).i32(4).op(Op.i32Mul).op(Op.i32Add).set(row);
      f.forLoop(
        j,
        () => f.i32(0),
        cols4,
        4,
        () => addInto(true),
      );
      f.forLoop(
        j,
        () => f.get(cols4),
        cols,
        1,
        () => addInto(false),
      );
    },
  );
  return f;
}

/** Export names of the maps, by family. */
export const mapName = {
  forward: (op: string): string => `map_${op}`,
  unaryGrad: (op: string): string => `unary_grad_${op}`,
  activationGrad: (op: string): string => `act_grad_${op}`,
  accumulate: (op: string): string => `acc_${op}`,
};

export const UNARY_GRAD_OPS: ReadonlySet<string> = new Set(Object.keys(UNARY_GRAD));

/**
 * `bound_logvar`: PETS' soft bounds on a raw log-variance (Chua et al. 2018, Appendix A.1), per row r and
 * column j < cols: u = max_j - raw, upper = max_j - softplus(u), v = upper - min_j, out = min_j + softplus(v);
 * σ(u) and σ(v) go to su and sv (unless their address is 0) for the backward pass. raw rows are rawStride
 * floats apart; out, su and sv are dense rows × cols. Rows are not padded: a row's last vector spills up
 * to three lanes into the next row, which then overwrites them (the last row's go into the region padding).
 */
function emitBoundLogVar(fma: boolean): FunctionBuilder {
  // (rows, cols, raw, rawStride, max, min, out, su, sv)
  const f = new Fn(new Array(9).fill(i32), [], { fma });
  const [rows, cols, raw, rawStride, maxv, minv, out, su, sv] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [r, j, end, rp, op] = f.locals(i32, 5);
  const [x, mx, mn, u, v, s1, s2] = f.locals(v128, 7);
  const at = (base: number): void => {
    f.get(base).get(j).op(Op.i32Add);
  };
  f.get(cols).i32(4).op(Op.i32Mul).set(end);
  f.forLoop(
    r,
    () => f.i32(0),
    rows,
    1,
    () => {
      f.get(raw).get(r).get(rawStride).op(Op.i32Mul).i32(4).op(Op.i32Mul).op(Op.i32Add).set(rp);
      f.get(r).get(cols).op(Op.i32Mul).i32(4).op(Op.i32Mul).set(op);
      f.forLoop(
        j,
        () => f.i32(0),
        end,
        16,
        () => {
          at(rp);
          f.v128Load().set(x);
          at(maxv);
          f.v128Load().set(mx);
          at(minv);
          f.v128Load().set(mn);
          f.get(mx).get(x).simd(S.f32x4Sub).set(u);
          f.get(mx);
          emitSoftplus(f, u, s1);
          f.simd(S.f32x4Sub).get(mn).simd(S.f32x4Sub).set(v);
          f.get(out).get(op).op(Op.i32Add).get(j).op(Op.i32Add);
          f.get(mn);
          emitSoftplus(f, v, s2);
          f.simd(S.f32x4Add).v128Store();
          f.get(su).ifThen(() => {
            f.get(su).get(op).op(Op.i32Add).get(j).op(Op.i32Add).get(s1).v128Store();
            f.get(sv).get(op).op(Op.i32Add).get(j).op(Op.i32Add).get(s2).v128Store();
          });
        },
      );
    },
  );
  return f;
}

/** `gaussian_nll` (n, mean, logVar, target, values, dMean, dLogVar): see kernels/gaussian-nll.ts; dMean = 0 skips both derivatives. */
function emitGaussianNll(fma: boolean): FunctionBuilder {
  const f = new Fn(new Array(7).fill(i32), [], { fma });
  const [n, mean, logVar, target, values, dMean, dLogVar] = [0, 1, 2, 3, 4, 5, 6];
  const [i, end] = f.locals(i32, 2);
  const [d, lv, neg, iv, q] = f.locals(v128, 5);
  const at = (base: number): void => {
    f.get(base).get(i).op(Op.i32Add);
  };
  f.get(n).i32(4).op(Op.i32Mul).set(end);
  f.forLoop(
    i,
    () => f.i32(0),
    end,
    16,
    () => {
      at(mean);
      f.v128Load();
      at(target);
      f.v128Load().simd(S.f32x4Sub).set(d);
      at(logVar);
      f.v128Load().tee(lv).simd(S.f32x4Neg).set(neg);
      emitExp(f, neg);
      f.set(iv);
      f.get(d).get(d).simd(S.f32x4Mul).get(iv).simd(S.f32x4Mul).set(q);
      at(values);
      f.get(q).get(lv).simd(S.f32x4Add).f32x4(0.5).simd(S.f32x4Mul).v128Store();
      f.get(dMean).ifThen(() => {
        at(dMean);
        f.get(d).get(iv).simd(S.f32x4Mul).v128Store();
        at(dLogVar);
        f.f32x4(0.5).get(q).f32x4(0.5).simd(S.f32x4Mul).simd(S.f32x4Sub).v128Store();
      });
    },
  );
  return f;
}

export function addMaps(module: ModuleBuilder, fma = false): void {
  const families: [Record<string, MapSpec>, (op: string) => string][] = [
    [FORWARD, mapName.forward],
    [UNARY_GRAD, mapName.unaryGrad],
    [ACTIVATION_GRAD, mapName.activationGrad],
    [ACCUMULATE, mapName.accumulate],
  ];
  for (const [specs, name] of families) {
    for (const [op, spec] of Object.entries(specs)) module.add(name(op), emitMap(spec, fma));
  }
  module.add('column_sum', emitColumnSum());
  module.add('bound_logvar', emitBoundLogVar(fma));
  module.add('gaussian_nll', emitGaussianNll(fma));
  module.add('silu_keep', emitSiluKeep(fma));
}
