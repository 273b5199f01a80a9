/**
 * The contract of a fused linear layer kernel, y = act(x·W + b), for kernel sets that can keep the whole
 * layer inside one call (the WebAssembly set: one copy in, gemm + bias + activation, one copy out). The
 * JavaScript reference is the layer's own code in src/nn/linear.ts, which is used when a set has none.
 */

export type FusedActivation = 'identity' | 'tanh' | 'relu' | 'sigmoid' | 'silu';

export interface FusedLinear {
  /**
   * out = act(x·W + bias) for x [rows, inF], W [inF, outF] and bias [outF] (or null); `pre`, given for
   * SiLU only, receives σ(x·W + bias), which the backward pass needs (d/dz z·σ(z) = σ + y·(1 - σ)).
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
   * gx += gz·Wᵀ, gw += xᵀ·gz and gb += column sums of gz, each only where its buffer is given. With
   * `gxZero`, gx is known to hold zeros (a fresh gradient buffer) and may be written instead of added to.
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
    gxZero?: boolean,
  ): void;
}

/** One layer of a stack for `FusedLinearBatched.forwardStack`: W [batch, inF, outF], bias [batch, outF]. */
export interface BatchedLayer {
  readonly inF: number;
  readonly outF: number;
  readonly w: Float32Array;
  readonly bias: Float32Array | null;
  readonly act: FusedActivation;
}

/**
 * Names the weights of an inference call (no `saved`) so a kernel may keep them packed between calls:
 * `owner` holds them and `version` changes whenever they may have (a refit, a load). Calls with the same
 * owner and version must pass the same weights.
 */
export interface PackedWeightsKey {
  readonly owner: object;
  readonly version: number;
}

/**
 * What a stack that trains keeps for its backward pass: hidden[l], the output of layer l < L - 1
 * ([batch, rows, outF]; the last layer's is `out` itself), and pre[l], σ of layer l's pre-activation for
 * SiLU layers (null for the others).
 */
export interface StackSaved {
  readonly hidden: readonly Float32Array[];
  readonly pre: readonly (Float32Array | null)[];
}

/**
 * `batch` linear layers side by side (an ensemble's members): out_e = act(x_e·W_e + b_e) for e < batch,
 * with W [batch, inF, outF], bias [batch, outF] (or null) and out (and `pre`) [batch, rows, outF]. Member
 * e's input starts at e·xStride in x; an xStride of 0 feeds every member the same rows (and the backward
 * pass then sums every member's share into one gx).
 */
export interface FusedLinearBatched {
  forward(
    act: FusedActivation,
    batch: number,
    rows: number,
    inF: number,
    outF: number,
    x: Float32Array,
    xStride: number,
    w: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    pre: Float32Array | null,
  ): void;
  /**
   * A stack of such layers at once (an ensemble MLP's forward pass): layer l maps [batch, rows,
   * layers[l].inF] to [batch, rows, layers[l].outF], the first reading x as `forward` does and the last
   * writing `out`. Without `saved` (no gradients) nothing in between leaves the kernel; with it, what the
   * backward pass needs is copied out (see `StackSaved`). Without `saved` and with `packed`, the weights may
   * stay packed for the next call of the same owner and version; without `saved` and with `memberRows`,
   * member e computes only its first memberRows[e] rows and the rest of its output is 0. Optional; returns false, having done
   * nothing, for sizes it does not take (the caller then runs `forward` layer by layer).
   */
  forwardStack?(
    batch: number,
    rows: number,
    x: Float32Array,
    xStride: number,
    layers: readonly BatchedLayer[],
    out: Float32Array,
    saved?: StackSaved | null,
    packed?: PackedWeightsKey | null,
    memberRows?: Int32Array | null,
  ): boolean;
  /**
   * The backward pass of a stack that `forwardStack` ran with `saved`: from g, the gradient of `out`, adds
   * the gradients of x (gx, with gxZero as in `backward`) and of every layer's weights and biases (gw[l],
   * gb[l]), each only where given. Present wherever `forwardStack` is.
   */
  backwardStack?(
    batch: number,
    rows: number,
    x: Float32Array,
    xStride: number,
    layers: readonly BatchedLayer[],
    out: Float32Array,
    saved: StackSaved,
    g: Float32Array,
    gx: Float32Array | null,
    gxZero: boolean,
    gw: readonly (Float32Array | null)[],
    gb: readonly (Float32Array | null)[],
  ): void;
  /**
   * As `FusedLinear.backward` (gxZero included), member by member; gx, gw and gb are laid out as x, w and
   * bias.
   */
  backward(
    act: FusedActivation,
    batch: number,
    rows: number,
    inF: number,
    outF: number,
    g: Float32Array,
    y: Float32Array,
    pre: Float32Array | null,
    x: Float32Array,
    xStride: number,
    w: Float32Array,
    gx: Float32Array | null,
    gw: Float32Array | null,
    gb: Float32Array | null,
    gxZero?: boolean,
  ): void;
}
