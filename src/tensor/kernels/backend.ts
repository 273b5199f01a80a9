/**
 * The kernel set the ops call. Plain JavaScript is always there and is the reference; faster sets
 * (WebAssembly SIMD, gpu.js) implement the same contract and are switched in here.
 */
import { type AdamKernel, adamJs } from './adam.ts';
import { type BoundLogVarKernel, boundLogVarJs } from './bound-logvar.ts';
import { binaryBackward, binaryForward, unaryBackward, unaryForward } from './elementwise.ts';
import { type GaussianNllKernel, gaussianNllJs } from './gaussian-nll.ts';
import { type GruGatesKernel, type GruSequenceKernel, gruGatesJs } from './gru.ts';
import type { FusedLinear, FusedLinearBatched } from './linear.ts';
import { type Gemm, type GemmBatched, gemmBatchedJs, gemmJs } from './matmul.ts';
import { columnSumJs, maxAxis, softmaxAxis, sumAxis } from './reduce.ts';

/** A kernel set as it is written: gemm, plus whichever other kernels it replaces. */
export interface KernelSet {
  readonly name: string;
  /**
   * Calls of the cheap elementwise kernels, and of the bounds' kernel, with fewer elements than this run the
   * plain JS kernel instead, so below it a row's numbers depend on how many rows share its call. Default 0.
   */
  readonly minMapElements?: number;
  readonly gemm: Gemm;
  /** Optional replacements for the elementwise and reduction kernels (the gpu backend sets them); where a
   *  set leaves one out, `setKernels` fills in the plain JS kernel of the same name. */
  readonly unary?: typeof unaryForward;
  readonly binary?: typeof binaryForward;
  readonly sumAxis?: typeof sumAxis;
  readonly maxAxis?: typeof maxAxis;
  readonly softmaxAxis?: typeof softmaxAxis;
  /** Further optional entries (the WebAssembly set has them); the JS defaults are `unaryBackward`,
   *  `binaryBackward`, `gemmBatchedJs`, `columnSumJs` and `adamJs`. */
  readonly unaryBackward?: typeof unaryBackward;
  readonly binaryBackward?: typeof binaryBackward;
  readonly gemmBatched?: GemmBatched;
  readonly columnSum?: typeof columnSumJs;
  readonly adam?: AdamKernel;
  /** PETS' soft log-variance bounds (JS default `boundLogVarJs`). */
  readonly boundLogVar?: BoundLogVarKernel;
  /** The Gaussian NLL's elementwise pass (JS default `gaussianNllJs`). */
  readonly gaussianNll?: GaussianNllKernel;
  /** One GRU step's gate arithmetic (JS default `gruGatesJs`). */
  readonly gruGates?: GruGatesKernel;
  /** A whole linear layer in one call; without it the layer runs gemm plus its own JS bias/activation. */
  readonly linear?: FusedLinear;
  /** An ensemble's layers in one call; without it the ensemble layer runs gemmBatched plus its own JS. */
  readonly linearBatched?: FusedLinearBatched;
  /** A GRU layer over a whole sequence; without it the layer runs step by step. */
  readonly gru?: GruSequenceKernel;
}

/**
 * The set the ops call: every kernel present, the JS one wherever the set has none. The fused layer
 * kernels stay optional, since their absence is what tells a layer to run unfused.
 */
export type ActiveKernels = Required<Omit<KernelSet, FusedKernelName>> & Pick<KernelSet, FusedKernelName>;

/** Kernels that run a whole layer (gemm included) in one call; optional in every set. */
export type FusedKernelName = 'linear' | 'linearBatched' | 'gru';

/** `set` with the JS kernel filled in for each kernel it leaves out; its other properties are kept. */
function withJsDefaults(set: KernelSet): ActiveKernels {
  return {
    ...set,
    minMapElements: set.minMapElements ?? 0,
    unary: set.unary ?? unaryForward,
    binary: set.binary ?? binaryForward,
    sumAxis: set.sumAxis ?? sumAxis,
    maxAxis: set.maxAxis ?? maxAxis,
    softmaxAxis: set.softmaxAxis ?? softmaxAxis,
    unaryBackward: set.unaryBackward ?? unaryBackward,
    binaryBackward: set.binaryBackward ?? binaryBackward,
    gemmBatched: set.gemmBatched ?? gemmBatchedJs,
    columnSum: set.columnSum ?? columnSumJs,
    adam: set.adam ?? adamJs,
    boundLogVar: set.boundLogVar ?? boundLogVarJs,
    gruGates: set.gruGates ?? gruGatesJs,
    gaussianNll: set.gaussianNll ?? gaussianNllJs,
  };
}

export const jsKernels: ActiveKernels = withJsDefaults({ name: 'js', gemm: gemmJs });

let active: ActiveKernels = jsKernels;

export function kernels(): ActiveKernels {
  return active;
}

/** Makes `set`, completed with the JS defaults, the one the ops call, and returns the completed set. */
export function setKernels(set: KernelSet): ActiveKernels {
  active = withJsDefaults(set);
  return active;
}
