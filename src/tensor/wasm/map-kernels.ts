/**
 * Elementwise kernels as SIMD loops over flat arrays: `out[i] = f(in0[i], in1[i], ...)` or, for gradients,
 * `out[i] += f(...)`. Regions in the arena are padded to whole loop steps (MAP_UNROLL vectors), so loops may
 * run past n and need no scalar tail; lanes past n are scratch and never copied out.
 */
import { FunctionBuilder as Fn, type FunctionBuilder, Op, SimdOp, ValType } from './function-builder.ts';
import type { ModuleBuilder } from './module-builder.ts';
import { emitExp, emitSigmoid, emitTanh } from './simd-math.ts';

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
  silu: {
    inputs: 1,
    accumulate: false,
    body: (f, [x]) => {
      f.get(x!);
      emitSigmoid(f, x!);
      f.simd(S.f32x4Mul);
    },
  },
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
};

function tanhGrad(f: FunctionBuilder, g: number, y: number): void {
  f.get(g).f32x4(1).get(y).get(y).simd(S.f32x4Mul).simd(S.f32x4Sub).simd(S.f32x4Mul);
}

function sigmoidGrad(f: FunctionBuilder, g: number, y: number): void {
  f.get(g).get(y).simd(S.f32x4Mul).f32x4(1).get(y).simd(S.f32x4Sub).simd(S.f32x4Mul);
}

/** gz = g · act'(·) for the fused activations, inputs (g, y) or (g, pre) for SiLU. */
const ACTIVATION_GRAD: Record<string, MapSpec> = {
  tanh: { inputs: 2, accumulate: false, body: (f, [g, y]) => tanhGrad(f, g!, y!) },
  sigmoid: { inputs: 2, accumulate: false, body: (f, [g, y]) => sigmoidGrad(f, g!, y!) },
  relu: { inputs: 2, accumulate: false, body: (f, [g, y]) => mask(f, g!, S.f32x4Gt, y!) },
  silu: {
    inputs: 2,
    accumulate: false,
    body: (f, [g, z]) => {
      // d/dz z·s(z) = s + z·s·(1 - s)
      const s = f.local(v128);
      emitSigmoid(f, z!);
      f.set(s);
      f.get(g!).get(s).get(z!).get(s).simd(S.f32x4Mul).f32x4(1).get(s).simd(S.f32x4Sub).simd(S.f32x4Mul);
      f.simd(S.f32x4Add).simd(S.f32x4Mul);
    },
  },
};

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

function emitMap(spec: MapSpec): FunctionBuilder {
  // (n, in0, ..., out): addresses in bytes. MAP_UNROLL vectors per iteration, each with its own locals,
  // so the long dependency chains of exp and tanh overlap.
  const f = new Fn(new Array(spec.inputs + 2).fill(i32));
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

export function addMaps(module: ModuleBuilder): void {
  const families: [Record<string, MapSpec>, (op: string) => string][] = [
    [FORWARD, mapName.forward],
    [UNARY_GRAD, mapName.unaryGrad],
    [ACTIVATION_GRAD, mapName.activationGrad],
    [ACCUMULATE, mapName.accumulate],
  ];
  for (const [specs, name] of families) {
    for (const [op, spec] of Object.entries(specs)) module.add(name(op), emitMap(spec));
  }
  module.add('column_sum', emitColumnSum());
}
