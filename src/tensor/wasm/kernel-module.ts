/** The whole kernel module's bytes, assembled from the emitters in this folder. */
import { addAdam } from './adam-kernel.ts';
import { addGemm } from './gemm-kernel.ts';
import { addMaps } from './map-kernels.ts';
import { ModuleBuilder } from './module-builder.ts';

export function kernelModuleBytes(): Uint8Array {
  const module = new ModuleBuilder().importMemory('env', 'memory', 1);
  addGemm(module);
  addMaps(module);
  addAdam(module);
  return module.encode();
}
