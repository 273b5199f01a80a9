/**
 * An ensemble's inference on two threads: a batch's rows are split at a multiple of `SPLIT_ROWS`, the main
 * thread runs the whole body (every member) on the earlier rows while the helper thread of `FitThreads`
 * runs it on the later ones, and the main thread applies the Gaussian head to the whole. Each row's numbers
 * are computed as a one-thread forward computes them (the kernels work through rows in chunks of 128, and
 * no row's result depends on another's), so the split changes no number. A session holds the helper
 * between fits: the weights it was begun with are the ones it predicts with.
 */
import type { EnsembleMLP } from '../../nn/index.ts';
import { kernels, type PackedWeightsKey, type Tensor, trackedTensor } from '../../tensor/index.ts';
import { COMMAND_TIMEOUT_MS, type HelperChannel } from './helper-channel.ts';
import type { FitThreads } from './split-fit.ts';
import {
  PREDICT_CONTROL_SLOTS,
  PREDICT_ROWS,
  type PredictBegin,
  SLOT_ROWS,
  SPLIT_END,
  sharedFloat32,
} from './split-protocol.ts';

/** Rows are split at a multiple of this (the WebAssembly kernels' chunk of rows), so no chunk changes. */
export const SPLIT_ROWS = 128;

/** How many of `rows` the main thread takes: half of the chunks, rounded down; 0 when there is one chunk. */
export function mainThreadRows(rows: number): number {
  return Math.floor(Math.ceil(rows / SPLIT_ROWS) / 2) * SPLIT_ROWS;
}

/**
 * The most rows the helper takes of any batch of at most `maxRows`: of c chunks it takes the last ceil(c/2),
 * and this is not monotonic in the rows (385 rows give it 129, 300 give it 172).
 */
export function helperCapacity(maxRows: number): number {
  return Math.min(maxRows, Math.ceil(Math.ceil(maxRows / SPLIT_ROWS) / 2) * SPLIT_ROWS);
}

export class SplitPredict {
  private readonly channel: HelperChannel;
  private readonly begin: PredictBegin;
  private readonly rawWidth: number;

  /** Begins a session on `body`'s current weights, for batches of up to `maxRows` rows. */
  constructor(
    threads: FitThreads,
    private readonly body: EnsembleMLP,
    readonly maxRows: number,
  ) {
    const sizes = [...body.sizes];
    this.rawWidth = sizes[sizes.length - 1]!;
    const params = body.parameters();
    const weights = sharedFloat32(params.reduce((a, p) => a + p.size, 0));
    let offset = 0;
    for (const p of params) {
      weights.set(p.data, offset);
      offset += p.size;
    }
    const helperRows = helperCapacity(maxRows);
    const control = new Int32Array(new SharedArrayBuffer(PREDICT_CONTROL_SLOTS * 4));
    this.begin = {
      kind: 'predict',
      kernels: kernels().name,
      sizes,
      activation: body.layers[0]!.activation,
      members: body.members,
      weights,
      control,
      inputs: sharedFloat32(helperRows * sizes[0]!),
      raw: sharedFloat32(body.members * helperRows * this.rawWidth),
    };
    this.channel = threads.begin(this, this.begin, 'ensemble prediction thread');
  }

  /**
   * The body's raw output [E, rows, 2·out] on shared inputs x [rows, in] (rows <= maxRows), the earlier rows
   * computed here with `packed` (the model's weights key), the later ones by the helper.
   */
  forward(x: Tensor, packed: PackedWeightsKey | null): Tensor {
    const [rows, width] = x.shape as [number, number];
    if (rows > this.maxRows) {
      throw new Error(
        `SplitPredict.forward: ${rows} rows; the session was begun for at most ${this.maxRows}`,
      );
    }
    const E = this.body.members;
    const rw = this.rawWidth;
    const own = mainThreadRows(rows);
    const theirs = rows - own;
    this.begin.inputs.set(x.data.subarray(own * width, rows * width));
    Atomics.store(this.begin.control, SLOT_ROWS, theirs);
    this.channel.send(PREDICT_ROWS);
    // Freed by the caller's tidy, as a one-thread forward's tensors are.
    const mine = this.body.forward(trackedTensor(x.data.subarray(0, own * width), [own, width]), packed).data;
    this.channel.wait(COMMAND_TIMEOUT_MS, 'predict');
    const whole = new Float32Array(E * rows * rw);
    for (let e = 0; e < E; e++) {
      whole.set(mine.subarray(e * own * rw, (e + 1) * own * rw), e * rows * rw);
      whole.set(this.begin.raw.subarray(e * theirs * rw, (e + 1) * theirs * rw), (e * rows + own) * rw);
    }
    return trackedTensor(whole, [E, rows, rw]);
  }

  /** Whether the session is over (ended, or its helper failed). */
  get ended(): boolean {
    return this.channel.ended;
  }

  /** Lets the helper go (for a fit, or to close); a failed session is already let go. */
  end(): void {
    this.channel.finish(SPLIT_END);
  }
}
