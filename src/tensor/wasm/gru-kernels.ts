/**
 * The GRU's gate arithmetic as SIMD loops (see ../kernels/gru.ts for the formulas and the JS reference).
 * Rows are [3H] (the projections and the gates, r | z | n side by side) or [H] (states); H must be a whole
 * number of vectors (H % 4 = 0), which wasm-kernels.ts checks before it calls them.
 *
 * - gru_gates_fwd (rows, hidden, a, b, h, out, gates, bn): one step forward; bn, when not 0, receives b's
 *   n-part [rows, H] (the sequence kernel keeps it for the backward pass instead of all of b).
 * - gru_gates_bwd_set / gru_gates_bwd_acc (rows, hidden, g, h, gates, bn, bnStride, da, db, dh): one step
 *   backward, writing (set) or adding to (acc) da, db [rows, 3H] and dh [rows, H]; bn is the address of b's
 *   n-part in the first row, rows bnStride floats apart. In the set form dh may be g itself (each vector of
 *   g is read before dh's is written).
 */
import { FunctionBuilder, Op, SimdOp, ValType } from './function-builder.ts';
import type { ModuleBuilder } from './module-builder.ts';
import { emitTanh } from './simd-math.ts';

const S = SimdOp;
const { i32, v128 } = ValType;

/** for (r < rows) for (j < hidden, one vector at a time): body, with o3 / o1 the row's byte offsets. */
function rowLoop(
  f: FunctionBuilder,
  rows: number,
  hidden: number,
  body: (o3: number, o1: number, j: number, h4: number, r: number) => void,
): void {
  const [r, j, h4, o3, o1] = f.locals(i32, 5);
  f.get(hidden).i32(4).op(Op.i32Mul).set(h4);
  f.forLoop(
    r,
    () => f.i32(0),
    rows,
    1,
    () => {
      f.get(r).get(h4).op(Op.i32Mul).tee(o1).i32(3).op(Op.i32Mul).set(o3);
      f.forLoop(
        j,
        () => f.i32(0),
        h4,
        16,
        () => body(o3, o1, j, h4, r),
      );
    },
  );
}

/** Pushes the address base + offset + j (+ gate·h4 for gate > 0). */
function address(f: FunctionBuilder, base: number, offset: number, j: number, h4 = 0, gate = 0): void {
  f.get(base).get(offset).op(Op.i32Add).get(j).op(Op.i32Add);
  if (gate > 0) f.get(h4).i32(gate).op(Op.i32Mul).op(Op.i32Add);
}

function emitForward(fma: boolean): FunctionBuilder {
  const f = new FunctionBuilder(new Array(8).fill(i32), [], { fma });
  const [rows, hidden, a, b, h, out, gates, bnOut] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [u, rv, zv, nv, bn] = f.locals(v128, 5);
  rowLoop(f, rows, hidden, (o3, o1, j, h4) => {
    const sum = (gate: number): void => {
      address(f, a, o3, j, h4, gate);
      f.v128Load();
      address(f, b, o3, j, h4, gate);
      f.v128Load().simd(S.f32x4Add).set(u);
    };
    // σ(u) = ½ + ½·tanh(u/2), as the JS reference computes it (one rational function, no exp).
    const sigmoid = (into: number): void => {
      f.get(u).f32x4(0.5).simd(S.f32x4Mul).set(u);
      emitTanh(f, u);
      f.f32x4(0.5).simd(S.f32x4Mul).f32x4(0.5).simd(S.f32x4Add).set(into);
    };
    sum(0);
    sigmoid(rv);
    sum(1);
    sigmoid(zv);
    address(f, b, o3, j, h4, 2);
    f.v128Load().set(bn);
    address(f, a, o3, j, h4, 2);
    f.v128Load().get(rv).get(bn).simd(S.f32x4Mul).simd(S.f32x4Add).set(u);
    emitTanh(f, u);
    f.set(nv);
    [rv, zv, nv].forEach((v, gate) => {
      address(f, gates, o3, j, h4, gate);
      f.get(v).v128Store();
    });
    // h' = n + z·(h - n)
    address(f, out, o1, j);
    address(f, h, o1, j);
    f.v128Load().get(nv).simd(S.f32x4Sub).get(zv).simd(S.f32x4Mul).get(nv).simd(S.f32x4Add).v128Store();
    f.get(bnOut).ifThen(() => {
      address(f, bnOut, o1, j);
      f.get(bn).v128Store();
    });
  });
  return f;
}

function emitBackward(accumulate: boolean): FunctionBuilder {
  const f = new FunctionBuilder(new Array(10).fill(i32));
  const [rows, hidden, g, h, gates, bnBase, bnStride, da, db, dh] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [d, rv, zv, nv, dan, dzPre, drPre, one] = f.locals(v128, 8);
  const [bnRow] = f.locals(i32, 1);
  f.f32x4(1).set(one);
  // dst (+)= the value on the stack
  const store = (
    base: number,
    offset: number,
    j: number,
    h4: number,
    gate: number,
    push: () => void,
  ): void => {
    address(f, base, offset, j, h4, gate);
    push();
    if (accumulate) {
      address(f, base, offset, j, h4, gate);
      f.v128Load().simd(S.f32x4Add);
    }
    f.v128Store();
  };
  rowLoop(f, rows, hidden, (o3, o1, j, h4, r) => {
    f.get(bnBase).get(r).get(bnStride).op(Op.i32Mul).i32(4).op(Op.i32Mul).op(Op.i32Add).set(bnRow);
    address(f, g, o1, j);
    f.v128Load().set(d);
    [rv, zv, nv].forEach((v, gate) => {
      address(f, gates, o3, j, h4, gate);
      f.v128Load().set(v);
    });
    // dn = d(1 - z); dan = dn(1 - n²)
    f.get(d).get(one).get(zv).simd(S.f32x4Sub).simd(S.f32x4Mul);
    f.get(one).get(nv).get(nv).simd(S.f32x4Mul).simd(S.f32x4Sub).simd(S.f32x4Mul).set(dan);
    // dz = d(h - n); dzPre = dz·z(1 - z)
    address(f, h, o1, j);
    f.v128Load().get(nv).simd(S.f32x4Sub).get(d).simd(S.f32x4Mul);
    f.get(zv).simd(S.f32x4Mul).get(one).get(zv).simd(S.f32x4Sub).simd(S.f32x4Mul).set(dzPre);
    // dr = dan·b_n; drPre = dr·r(1 - r)
    f.get(dan).get(bnRow).get(j).op(Op.i32Add).v128Load().simd(S.f32x4Mul);
    f.get(rv).simd(S.f32x4Mul).get(one).get(rv).simd(S.f32x4Sub).simd(S.f32x4Mul).set(drPre);
    // dh = d·z (written last: in the set form dh may be g).
    store(da, o3, j, h4, 0, () => f.get(drPre));
    store(da, o3, j, h4, 1, () => f.get(dzPre));
    store(da, o3, j, h4, 2, () => f.get(dan));
    store(db, o3, j, h4, 0, () => f.get(drPre));
    store(db, o3, j, h4, 1, () => f.get(dzPre));
    store(db, o3, j, h4, 2, () => f.get(dan).get(rv).simd(S.f32x4Mul));
    store(dh, o1, j, h4, 0, () => f.get(d).get(zv).simd(S.f32x4Mul));
  });
  return f;
}

export function addGruKernels(module: ModuleBuilder, fma = false): void {
  module.add('gru_gates_fwd', emitForward(fma));
  module.add('gru_gates_bwd_set', emitBackward(false));
  module.add('gru_gates_bwd_acc', emitBackward(true));
}
