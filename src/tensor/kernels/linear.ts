/**
 * The contract of a fused linear layer kernel, y = act(x·W + b), for kernel sets that can keep the whole
 * layer inside one call (the WebAssembly set: one copy in, gemm + bias + activation, one copy out). The
 * JavaScript reference is the layer's own code in src/nn/linear.ts, which is used when a set has none.
 */

export type FusedActivation = 'identity' | 'tanh' | 'relu' | 'sigmoid' | 'silu';

export interface FusedLinear {
  /**
   * out = act(x·W + bias) for x [rows, inF], W [inF, outF] and bias [outF] (or null); `pre`, when given,
   * receives x·W + bias (the backward pass of SiLU needs it).
   */
  forward(
    act: FusedActivation,
    rows: number,
    inF: number,
    outF: number,
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    pre: Float32Array | null,
  ): void;
  /**
   * From the output gradient g and the forward's output y (and `pre` for SiLU): gz = g·act'(·), then
   * gx += gz·Wᵀ, gw += xᵀ·gz and gb += column sums of gz, each only where its buffer is given.
   */
  backward(
    act: FusedActivation,
    rows: number,
    inF: number,
    outF: number,
    g: Float32Array,
    y: Float32Array,
    pre: Float32Array | null,
    x: Float32Array,
    w: Float32Array,
    gx: Float32Array | null,
    gw: Float32Array | null,
    gb: Float32Array | null,
  ): void;
}
