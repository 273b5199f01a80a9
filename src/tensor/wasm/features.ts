/**
 * Optional WebAssembly features the kernels can use. Relaxed SIMD (standardised in 2023) gives
 * f32x4.relaxed_madd, a fused multiply-add where the CPU has one, which takes the gemm micro-kernel from
 * about 45 to about 51 GFLOP/s here (it issues half the instructions per multiply-add). V8 ships it from
 * 11.4 (Chrome 114, Node 22); Node 20's V8 11.3 has it complete but behind --experimental-wasm-relaxed-simd,
 * which `relaxedSimd` switches on through node:v8 when it is off (it only makes more modules validate).
 */
import { FunctionBuilder, SimdOp, ValType } from './function-builder.ts';
import { ModuleBuilder } from './module-builder.ts';

interface NodeProcess {
  getBuiltinModule?: (name: string) => { setFlagsFromString?: (flags: string) => void } | undefined;
}

let cached: boolean | undefined;

/** Whether this runtime validates relaxed-SIMD modules (switching the feature on in Node 20 if needed). */
export function relaxedSimd(): boolean {
  if (cached !== undefined) return cached;
  const m = new ModuleBuilder();
  const { v128 } = ValType;
  const f = new FunctionBuilder([v128, v128, v128], [v128]);
  f.get(0).get(1).get(2).simd(SimdOp.f32x4RelaxedMadd);
  m.add('madd', f);
  const bytes = m.encode() as Uint8Array<ArrayBuffer>;
  const validates = (): boolean => {
    try {
      return WebAssembly.validate(bytes);
    } catch {
      return false;
    }
  };
  cached = validates();
  if (!cached) {
    const proc = (globalThis as { process?: NodeProcess }).process;
    try {
      const v8 = proc?.getBuiltinModule?.('node:v8');
      if (v8?.setFlagsFromString) {
        v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
        cached = validates();
      }
    } catch {
      cached = false;
    }
  }
  return cached;
}
