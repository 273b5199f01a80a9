/** The whole kernel module's bytes, assembled from the emitters in this folder. */
import { addAdam } from './adam-kernel.ts';
import { addGemm } from './gemm-kernel.ts';
import { addGruKernels } from './gru-kernels.ts';
import { addMaps } from './map-kernels.ts';
import { ModuleBuilder } from './module-builder.ts';

export interface KernelModuleOptions {
  /** Fused multiply-adds in gemm and the polynomials (needs relaxed SIMD; see features.ts). Default false. */
  readonly fma?: boolean;
}

export function kernelModuleBytes(options: KernelModuleOptions = {}): Uint8Array {
  const module = new ModuleBuilder().importMemory('env', 'memory', 1);
  addGemm(module, options.fma ?? false);
  addMaps(module, options.fma ?? false);
  addAdam(module);
  addGruKernels(module, options.fma ?? false);
  return module.encode();
}
