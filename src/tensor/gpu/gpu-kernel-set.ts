/** The kernel set the gpu backend installs: a CPU set, wrapped, remembered so it can be restored. */
import type { ActiveKernels, KernelSet } from '../kernels/backend.ts';

export interface GpuKernelSet extends ActiveKernels {
  /** The CPU kernel set that runs every call below the threshold, and that 'cpu' restores. */
  readonly cpu: ActiveKernels;
  readonly gpuThreshold: number;
}

export function isGpuKernelSet(set: KernelSet): set is GpuKernelSet {
  return 'gpuThreshold' in set && 'cpu' in set;
}

/** The CPU kernel set under a gpu set, or the set itself when it is already a CPU one. */
export function innerKernels(set: ActiveKernels): ActiveKernels {
  return isGpuKernelSet(set) ? set.cpu : set;
}
