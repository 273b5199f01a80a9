/**
 * The kernel set the ops call. Plain JavaScript is always there and is the reference; faster sets
 * (WebAssembly SIMD, gpu.js) implement the same contract and are switched in here.
 */
import { type Gemm, gemmJs } from './matmul.ts';

export interface KernelSet {
  readonly name: string;
  readonly gemm: Gemm;
}

export const jsKernels: KernelSet = { name: 'js', gemm: gemmJs };

let active: KernelSet = jsKernels;

export function kernels(): KernelSet {
  return active;
}

export function setKernels(set: KernelSet): void {
  active = set;
}
