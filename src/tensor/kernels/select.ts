/**
 * Which CPU kernel set the ops use: 'wasm' (WebAssembly SIMD, emitted by src/tensor/wasm), 'js' (the plain
 * JavaScript reference) or 'auto' (wasm when the runtime accepts a SIMD module, else js). The choice is
 * made when the tensor layer is first imported, from the ENGINE_KERNELS environment variable (default
 * 'auto'), and can be changed at any time with `useKernels`, as tests and benchmarks do.
 */
import { createWasmKernels } from '../wasm/wasm-kernels.ts';
import { type ActiveKernels, jsKernels, type KernelSet, setKernels } from './backend.ts';

export type KernelChoice = 'js' | 'wasm' | 'auto';
const CHOICES: readonly KernelChoice[] = ['js', 'wasm', 'auto'];

let wasmSet: KernelSet | null | undefined;
let wasmError = '';

/** The WebAssembly kernel set, built once; null where the runtime rejects SIMD modules. */
export function wasmKernels(): KernelSet | null {
  if (wasmSet === undefined) {
    try {
      // ENGINE_WASM_FMA=0 keeps the gemm on separate multiplies and adds even where relaxed SIMD is there.
      const env = typeof process === 'undefined' ? undefined : process.env.ENGINE_WASM_FMA;
      const options = env === '0' || env === 'off' ? { fma: false } : {};
      wasmSet = typeof WebAssembly === 'object' ? createWasmKernels(options) : null;
      if (!wasmSet) wasmError = 'this runtime has no WebAssembly';
    } catch (e) {
      wasmSet = null;
      wasmError = `this runtime rejects the SIMD kernel module (${(e as Error).message})`;
    }
  }
  return wasmSet;
}

/** Switches the kernel set the ops use and returns it. 'wasm' throws where WebAssembly SIMD is missing. */
export function useKernels(choice: KernelChoice): ActiveKernels {
  if (!CHOICES.includes(choice)) {
    throw new Error(`useKernels: unknown kernel set '${String(choice)}'; expected 'js', 'wasm' or 'auto'`);
  }
  let set: KernelSet = jsKernels;
  if (choice !== 'js') {
    const wasm = wasmKernels();
    if (wasm) set = wasm;
    else if (choice === 'wasm') throw new Error(`useKernels('wasm'): ${wasmError}`);
  }
  return setKernels(set);
}

function choiceFromEnv(): KernelChoice {
  const value = typeof process === 'undefined' ? undefined : process.env.ENGINE_KERNELS;
  if (value === undefined || value === '') return 'auto';
  if (!CHOICES.includes(value as KernelChoice)) {
    throw new Error(`ENGINE_KERNELS='${value}' is not a kernel set; expected 'js', 'wasm' or 'auto'`);
  }
  return value as KernelChoice;
}

useKernels(choiceFromEnv());
