/**
 * The Adam / AdamW update (Kingma & Ba 2015, Algorithm 1; Loshchilov & Hutter 2019, Algorithm 2) as one
 * SIMD pass, the same arithmetic as the JavaScript kernel in kernels/adam.ts:
 *   w' = w·shrink; g' = g + l2·w'; m = β₁m + (1-β₁)g'; v = β₂v + (1-β₂)g'²;
 *   w = w' - stepSize·m / (sqrt(v)·invSqrtBc2 + ε).
 */
import { FunctionBuilder, Op, SimdOp, ValType } from './function-builder.ts';
import { MAP_UNROLL } from './map-kernels.ts';
import type { ModuleBuilder } from './module-builder.ts';

const S = SimdOp;
const { i32, f32, v128 } = ValType;

export const ADAM_SCALARS = ['b1', 'b2', 'stepSize', 'invSqrtBc2', 'eps', 'l2', 'shrink'] as const;

function emitAdam(): FunctionBuilder {
  // (n, w, g, m, v, b1, b2, stepSize, invSqrtBc2, eps, l2, shrink)
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, ...ADAM_SCALARS.map(() => f32)]);
  const [n, w, g, m, v] = [0, 1, 2, 3, 4];
  const [i, end] = f.locals(i32, 2);
  const splat = ADAM_SCALARS.map((_, k) => {
    const local = f.local(v128);
    f.get(5 + k)
      .simd(S.f32x4Splat)
      .set(local);
    return local;
  });
  const [b1, b2, stepSize, invSqrtBc2, eps, l2, shrink] = splat as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [oneMinusB1, oneMinusB2] = f.locals(v128, 2);
  f.f32x4(1).get(b1).simd(S.f32x4Sub).set(oneMinusB1);
  f.f32x4(1).get(b2).simd(S.f32x4Sub).set(oneMinusB2);
  const at = (base: number): void => {
    f.get(base).get(i).op(Op.i32Add);
  };
  f.get(n).i32(4).op(Op.i32Mul).set(end);
  // MAP_UNROLL vectors per iteration, as the elementwise maps (the arena pads regions to match).
  const lanes = Array.from({ length: MAP_UNROLL }, () => f.locals(v128, 4));
  f.forLoop(
    i,
    () => f.i32(0),
    end,
    16 * MAP_UNROLL,
    () => {
      lanes.forEach(([wv, gv, mv, vv], u) => {
        const o = 16 * u;
        at(w);
        f.v128Load(o).get(shrink).simd(S.f32x4Mul).set(wv!);
        at(g);
        f.v128Load(o).get(l2).get(wv!).simd(S.f32x4Mul).simd(S.f32x4Add).set(gv!);
        at(m);
        at(m);
        f.v128Load(o).get(b1).simd(S.f32x4Mul).get(oneMinusB1).get(gv!).simd(S.f32x4Mul).simd(S.f32x4Add);
        f.tee(mv!).v128Store(o);
        at(v);
        at(v);
        f.v128Load(o).get(b2).simd(S.f32x4Mul).get(oneMinusB2).get(gv!).simd(S.f32x4Mul).get(gv!);
        f.simd(S.f32x4Mul).simd(S.f32x4Add).tee(vv!).v128Store(o);
      });
      lanes.forEach(([wv, , mv, vv], u) => {
        at(w);
        f.get(wv!).get(stepSize).get(mv!).simd(S.f32x4Mul);
        f.get(vv!).simd(S.f32x4Sqrt).get(invSqrtBc2).simd(S.f32x4Mul).get(eps).simd(S.f32x4Add);
        f.simd(S.f32x4Div)
          .simd(S.f32x4Sub)
          .v128Store(16 * u);
      });
    },
  );
  return f;
}

export function addAdam(module: ModuleBuilder): void {
  module.add('adam', emitAdam());
}
