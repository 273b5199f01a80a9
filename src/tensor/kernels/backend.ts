/**
 * The kernel set the ops call. Plain JavaScript is always there and is the reference; faster sets
 * (WebAssembly SIMD, gpu.js) implement the same contract and are switched in here.
 */
import type { AdamKernel } from './adam.ts';
import type { binaryBackward, binaryForward, unaryBackward, unaryForward } from './elementwise.ts';
import type { FusedLinear } from './linear.ts';
import { type Gemm, type GemmBatched, gemmJs } from './matmul.ts';
import type { columnSumJs, maxAxis, softmaxAxis, sumAxis } from './reduce.ts';

export interface KernelSet {
  readonly name: string;
  readonly gemm: Gemm;
  /** Optional replacements for the elementwise and reduction kernels (the gpu backend sets them); the ops
   *  call the plain JS kernels of the same name when a set leaves them out. */
  readonly unary?: typeof unaryForward;
  readonly binary?: typeof binaryForward;
  readonly sumAxis?: typeof sumAxis;
  readonly maxAxis?: typeof maxAxis;
  readonly softmaxAxis?: typeof softmaxAxis;
  /** Further optional entries (the WebAssembly set has them); callers fall back to the JS kernels
   *  (`unaryBackward`, `binaryBackward`, `gemmBatchedJs`, `columnSumJs`, `adamJs`) when a set leaves them out. */
  readonly unaryBackward?: typeof unaryBackward;
  readonly binaryBackward?: typeof binaryBackward;
  readonly gemmBatched?: GemmBatched;
  readonly columnSum?: typeof columnSumJs;
  readonly adam?: AdamKernel;
  /** A whole linear layer in one call; without it the layer runs gemm plus its own JS bias/activation. */
  readonly linear?: FusedLinear;
}

export const jsKernels: KernelSet = { name: 'js', gemm: gemmJs };

let active: KernelSet = jsKernels;

export function kernels(): KernelSet {
  return active;
}

export function setKernels(set: KernelSet): void {
  active = set;
}
