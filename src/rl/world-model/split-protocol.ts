/**
 * The shared-memory protocol of an ensemble fit split across two threads (split-fit.ts on the main thread,
 * split-fit-worker.ts in the helper). The main thread trains members [0, k) and the helper members [k, E)
 * of the ensemble's body; the Gaussian head, the loss, the gradient norm and the shared log-variance bounds
 * stay on the main thread, so every number is the one a one-thread fit computes. A command: the main thread
 * writes it, bumps the request counter and notifies; the helper runs it, writing straight into shared arrays,
 * then sets its done counter to the request and notifies back. No message is sent per step; one message
 * starts each fit (`SplitBegin`).
 *
 * A gradient step is two commands, FORWARD and STEP. Within FORWARD the two threads pass members along, so
 * that neither waits for the other's whole share: the helper runs its members' forward passes one at a time,
 * counting each in `SLOT_FORWARDED`; the main thread applies the head and the loss to each member as it
 * arrives and counts its raw-output gradient in `SLOT_GRADS_READY`; the helper runs each member's backward
 * pass as its gradient arrives, and is done with FORWARD after the last.
 */

/** The forward and backward passes of a gradient step, member by member (see above). */
export const SPLIT_FORWARD = 1;
export const SPLIT_STEP = 2;
export const SPLIT_VALIDATE = 3;
export const SPLIT_SNAPSHOT = 4;
export const SPLIT_RESTORE = 5;
export const SPLIT_FINISH = 6;
export const SPLIT_END = 7;
/** A prediction session's command: the whole body on the `SLOT_ROWS` rows of `PredictBegin.inputs`. */
export const PREDICT_ROWS = 8;

/** Int32 slots of the control array. */
export const SLOT_COMMAND = 0;
export const SLOT_REQUEST = 1;
export const SLOT_DONE = 2;
/** Set to 1 by a helper whose command threw; the message follows on its error port. */
export const SLOT_FAILED = 3;
/** A fit's count, from 0 in each FORWARD, of the helper's members whose forward pass is done. */
export const SLOT_FORWARDED = 4;
/** A fit's count, from 0 in each FORWARD, of the helper's members whose raw-output gradient is written. */
export const SLOT_GRADS_READY = 5;
export const FIT_CONTROL_SLOTS = 6;
/** A prediction session's extra slot (its own control array): how many rows the next PREDICT_ROWS computes. */
export const SLOT_ROWS = 4;
export const PREDICT_CONTROL_SLOTS = 5;

/** What the helper needs for one fit: its members, the shapes, the optimiser, and the shared arrays. */
export interface SplitBegin {
  /** The kernel set the main thread computes with (the helper must use the same for equal numbers). */
  kernels: string;
  /** The body's layer sizes [in, hidden..., 2·out] and hidden activation. */
  sizes: number[];
  activation: string;
  /** The helper's members: [first, first + count) of `members`. */
  members: number;
  first: number;
  count: number;
  /** Rows per member per gradient step, and validation rows per forward pass. */
  batchSize: number;
  validationRows: number;
  validationChunk: number;
  learningRate: number;
  weightDecay: number;
  /** Each body parameter's whole length, so that AdamW steps each share with the whole one's code. */
  wholeLengths: number[];
  clipValue: number | null;
  control: Int32Array;
  /** [0]: the gradient's clipping factor for a step (NaN: skip the step). */
  scalars: Float64Array;
  /** [members, batchSize, in]: the whole minibatch (the helper reads its members' rows). */
  inputs: Float32Array;
  /** [count, batchSize, 2·out]: the helper's raw outputs, and the gradients the main thread sends back. */
  raw: Float32Array;
  rawGrad: Float32Array;
  /** [validationRows, in], and the helper's raw outputs on them chunk by chunk ([count, rows, 2·out] each). */
  validationInputs: Float32Array;
  validationRaw: Float32Array;
  /** The helper's parameters, in the body's order, each its members' slice: weights in and out, gradients out. */
  weights: Float32Array;
  grads: Float32Array;
}

/**
 * What the helper needs for a prediction session (split-predict.ts): the whole body (every member) at its
 * current weights, which it runs on the later rows of each batch while the main thread runs the earlier ones.
 */
export interface PredictBegin {
  kind: 'predict';
  kernels: string;
  /** The body's layer sizes [in, hidden..., 2·out], hidden activation and members. */
  sizes: number[];
  activation: string;
  members: number;
  /** Every body parameter in the body's order, whole. */
  weights: Float32Array;
  control: Int32Array;
  /** [maxRows, in]: the helper's rows; [members, rows, 2·out]: its raw outputs. */
  inputs: Float32Array;
  raw: Float32Array;
}

/** Wakes whatever waits on any slot of `control` (an end or a failure concerns every wait). */
export function wakeEverySlot(control: Int32Array): void {
  for (let slot = 0; slot < control.length; slot++) Atomics.notify(control, slot);
}

/** A typed array over a new SharedArrayBuffer. */
export function sharedFloat32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(1, length) * 4)).subarray(0, length);
}
