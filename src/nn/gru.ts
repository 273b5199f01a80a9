/**
 * Gated recurrent unit (Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder for
 * Statistical Machine Translation"), in PyTorch's formulation and gate order (r, z, n):
 *
 *   r  = σ(x·W_ir + b_ir + h·W_hr + b_hr)
 *   z  = σ(x·W_iz + b_iz + h·W_hz + b_hz)
 *   n  = tanh(x·W_in + b_in + r ⊙ (h·W_hn + b_hn))
 *   h' = (1 - z) ⊙ n + z ⊙ h
 *
 * The input and hidden projections are two fused linear ops onto [.., 3H]; the gate arithmetic above is one
 * fused op with its own backward, so a step is three graph nodes instead of a dozen. Where the kernel set
 * has a GRU kernel (WebAssembly), `GRU` runs the whole sequence as one op: the projections, every step and
 * the backward pass stay inside one kernel call each way, and the weight gradients are one product over
 * all steps instead of one per step.
 */
import {
  concat,
  gradBuffer,
  kernels,
  needsGrad,
  type Rng,
  recordGraph,
  resultTensor,
  shapeString,
  type Tensor,
  zeros,
} from '../tensor/index.ts';
import { checkInt } from './errors.ts';
import { uniformFanIn } from './init.ts';
import { linear } from './linear.ts';
import { Module, parameter } from './module.ts';

/**
 * The GRU's gate arithmetic: from the input projection `gi` [N, 3H], the hidden projection `gh` [N, 3H]
 * (both bias included, gates in order r, z, n) and the previous state `h` [N, H], the next state [N, H].
 */
export function gruGates(gi: Tensor, gh: Tensor, h: Tensor): Tensor {
  for (const t of [gi, gh, h]) t.assertAlive('gruGates');
  const hidden = h.shape[h.ndim - 1]!;
  const rows = hidden === 0 ? 0 : h.size / hidden;
  if (gi.size !== rows * 3 * hidden || gh.size !== rows * 3 * hidden) {
    throw new Error(
      `gruGates: gi ${shapeString(gi.shape)} and gh ${shapeString(gh.shape)} must both be [N, 3H] for ` +
        `h ${shapeString(h.shape)}`,
    );
  }
  const out = resultTensor(h.shape);
  // r, z, n per row, kept for the backward pass.
  const gates = resultTensor([rows, 3 * hidden]);
  const kernel = kernels().gruGates;
  kernel.forward(rows, hidden, gi.data, gh.data, h.data, out.data, gates.data);
  if (needsGrad([gi, gh, h])) {
    recordGraph(
      out,
      [gi, gh, h],
      (g) => {
        // Read the buffers now, not at forward time: a tidy() scope may have reclaimed them since.
        kernel.backward(
          rows,
          hidden,
          g,
          h.data,
          gates.data,
          gh.data,
          gradBuffer(gi),
          gradBuffer(gh),
          gradBuffer(h),
        );
      },
      'gruGates',
      [gates],
    );
  }
  return out;
}

/**
 * The whole layer over a sequence as one op, where the kernel set has a GRU kernel that takes these sizes
 * (the WebAssembly set, for H % 4 = 0): x [T, N, in], h0 [N, H] -> every step's state [T, N, H]. Returns
 * null where there is no such kernel; the layer then runs step by step.
 */
function gruSequence(cell: GRUCell, x: Tensor, h0: Tensor): Tensor | null {
  const kernel = kernels().gru;
  const { inputSize: inF, hiddenSize: hidden } = cell;
  if (!kernel?.supports(inF, hidden)) return null;
  const [steps, rows] = x.shape as [number, number, number];
  const { weightIh: wIh, biasIh: bIh, weightHh: wHh, biasHh: bHh } = cell;
  const inputs = [x, h0, wIh, bIh, wHh, bHh];
  for (const t of inputs) t.assertAlive('GRU');
  const out = resultTensor([steps, rows, hidden]);
  const grad = needsGrad(inputs);
  const gates = grad ? resultTensor([steps, rows, 3 * hidden]) : null;
  const bn = grad ? resultTensor([steps, rows, hidden]) : null;
  kernel.forward(
    steps,
    rows,
    inF,
    hidden,
    x.data,
    h0.data,
    wIh.data,
    bIh.data,
    wHh.data,
    bHh.data,
    out.data,
    gates?.data ?? null,
    bn?.data ?? null,
  );
  if (gates && bn) {
    recordGraph(
      out,
      inputs,
      (g) => {
        kernel.backward(
          steps,
          rows,
          inF,
          hidden,
          g,
          x.data,
          h0.data,
          out.data,
          gates.data,
          bn.data,
          wIh.data,
          wHh.data,
          gradBuffer(x),
          gradBuffer(h0),
          gradBuffer(wIh),
          gradBuffer(bIh),
          gradBuffer(wHh),
          gradBuffer(bHh),
        );
      },
      'GRU',
      [gates, bn],
    );
  }
  return out;
}

export interface GRUOptions {
  /** Seeded generator for the initial weights (required). */
  rng: Rng;
}

/**
 * One GRU step. Weights are stored [in, 3H] and [H, 3H] with the gates side by side (r, z, n), initialised
 * as PyTorch does: U(±1/sqrt(H)) everywhere.
 */
export class GRUCell extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly weightIh: Tensor;
  readonly weightHh: Tensor;
  readonly biasIh: Tensor;
  readonly biasHh: Tensor;

  constructor(inputSize: number, hiddenSize: number, options: GRUOptions) {
    super();
    checkInt('GRUCell: inputSize', inputSize);
    checkInt('GRUCell: hiddenSize', hiddenSize);
    if (!options?.rng) throw new Error('GRUCell: options.rng (a seeded Rng) is required');
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    const h3 = 3 * hiddenSize;
    const u = (n: number): Float32Array => uniformFanIn(new Float32Array(n), hiddenSize, options.rng);
    this.weightIh = this.registerParameter('weight_ih', parameter(u(inputSize * h3), [inputSize, h3]));
    this.weightHh = this.registerParameter('weight_hh', parameter(u(hiddenSize * h3), [hiddenSize, h3]));
    this.biasIh = this.registerParameter('bias_ih', parameter(u(h3), [h3]));
    this.biasHh = this.registerParameter('bias_hh', parameter(u(h3), [h3]));
  }

  /** x [N, in], h [N, H] -> h' [N, H]. */
  forward(x: Tensor, h: Tensor): Tensor {
    this.checkInputs(x, h);
    return gruGates(linear(x, this.weightIh, this.biasIh), linear(h, this.weightHh, this.biasHh), h);
  }

  /** One step from a precomputed input projection `gi` = x·W_ih + b_ih of shape [N, 3H]. */
  forwardProjected(gi: Tensor, h: Tensor): Tensor {
    return gruGates(gi, linear(h, this.weightHh, this.biasHh), h);
  }

  private checkInputs(x: Tensor, h: Tensor): void {
    if (x.ndim !== 2 || x.shape[1] !== this.inputSize || h.ndim !== 2 || h.shape[1] !== this.hiddenSize) {
      throw new Error(
        `GRUCell: x ${shapeString(x.shape)} and h ${shapeString(h.shape)} do not fit; expected ` +
          `[N, ${this.inputSize}] and [N, ${this.hiddenSize}]`,
      );
    }
    if (x.shape[0] !== h.shape[0]) {
      throw new Error(`GRUCell: x has ${x.shape[0]} rows but h has ${h.shape[0]}`);
    }
  }
}

export interface GRUResult {
  /** Hidden state after every step, [T, N, H]. */
  output: Tensor;
  /** The last hidden state, [N, H]. */
  hidden: Tensor;
}

/** A single-layer GRU over a time-major sequence [T, N, in]. */
export class GRU extends Module {
  readonly cell: GRUCell;

  constructor(inputSize: number, hiddenSize: number, options: GRUOptions) {
    super();
    this.cell = this.registerModule('cell', new GRUCell(inputSize, hiddenSize, options));
  }

  get hiddenSize(): number {
    return this.cell.hiddenSize;
  }

  /** x [T, N, in], optional h0 [N, H] (zeros when omitted). */
  forward(x: Tensor, h0?: Tensor): GRUResult {
    const { inputSize, hiddenSize } = this.cell;
    if (x.ndim !== 3 || x.shape[2] !== inputSize || x.shape[0]! < 1) {
      throw new Error(
        `GRU: input of shape ${shapeString(x.shape)} does not fit; expected [T >= 1, N, ${inputSize}]`,
      );
    }
    const steps = x.shape[0]!;
    const n = x.shape[1]!;
    let h = h0 ?? zeros([n, hiddenSize]);
    if (h.ndim !== 2 || h.shape[0] !== n || h.shape[1] !== hiddenSize) {
      throw new Error(
        `GRU: h0 of shape ${shapeString(h.shape)} does not fit; expected [${n}, ${hiddenSize}]`,
      );
    }
    const fused = gruSequence(this.cell, x, h);
    if (fused) return { output: fused, hidden: fused.slice(0, steps - 1).reshape(n, hiddenSize) };
    // Step by step: every step's input projection in one matmul, [T, N, 3H], then one cell step at a time.
    const gi = linear(x, this.cell.weightIh, this.cell.biasIh);
    const outputs: Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      const git = gi.slice(0, t, t + 1).reshape(n, 3 * hiddenSize);
      h = this.cell.forwardProjected(git, h);
      outputs.push(h.reshape(1, n, hiddenSize));
    }
    return { output: concat(outputs, 0), hidden: h };
  }
}
