// The ceiling for our WebAssembly kernels on this machine: f32x4 multiply-adds with nothing else in the
// loop (no loads, no stores), `chains` independent accumulators so the adds' latency is hidden. WebAssembly
// SIMD is 128 bits wide, so this is 4 lanes x 2 flops x the CPU's multiply-add issue rate; a gemm cannot
// beat it (PyTorch's OpenBLAS uses 256- and 512-bit registers, which WebAssembly cannot express).
import { relaxedSimd } from '../src/tensor/wasm/features.ts';
import { FunctionBuilder, SimdOp, ValType } from '../src/tensor/wasm/function-builder.ts';
import { ModuleBuilder } from '../src/tensor/wasm/module-builder.ts';

export interface FmaPeak {
  /** Whether the loop uses f32x4.relaxed_madd (else f32x4.mul and f32x4.add). */
  fma: boolean;
  /** GFLOP/s, the best of five runs of about 8 ms. */
  measure(): number;
}

/** The loop with `chains` accumulators of f32x4.relaxed_madd (mul + add where relaxed SIMD is missing). */
export function fmaPeak(chains = 12): FmaPeak {
  const fma = relaxedSimd();
  const { i32, v128 } = ValType;
  const f = new FunctionBuilder([i32]);
  const [iterations] = [0];
  const [i] = f.locals(i32, 1);
  const accs = f.locals(v128, chains);
  const [x, y] = f.locals(v128, 2);
  f.f32x4(1.0000001).set(x);
  f.f32x4(0.9999999).set(y);
  for (const a of accs) f.f32x4(0).set(a);
  f.forLoop(
    i,
    () => f.i32(0),
    iterations,
    1,
    () => {
      for (const a of accs) {
        if (fma) f.get(x).get(y).get(a).simd(SimdOp.f32x4RelaxedMadd);
        else f.get(a).get(x).get(y).simd(SimdOp.f32x4Mul).simd(SimdOp.f32x4Add);
        f.set(a);
      }
    },
  );
  // Stored, so the sums are live.
  accs.forEach((a, j) => {
    f.i32(0)
      .get(a)
      .v128Store(16 * j);
  });
  const module = new ModuleBuilder().importMemory('env', 'memory', 1);
  module.add('peak', f);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const bytes = module.encode() as Uint8Array<ArrayBuffer>;
  const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.peak as (
    iterations: number,
  ) => void;
  peak(1000);
  const count = 3e6;
  return {
    fma,
    measure() {
      // The best of five short runs: a run the scheduler cut into says nothing about the ceiling.
      let best = 0;
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        peak(count);
        best = Math.max(best, (count * chains * 8) / ((performance.now() - start) * 1e6));
      }
      return best;
    },
  };
}
