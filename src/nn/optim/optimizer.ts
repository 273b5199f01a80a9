/**
 * What every optimiser shares: the parameter list, a settable learning rate (schedules write it each
 * step), `zeroGrad`, and a state that can be exported and imported (moment buffers, step count,
 * hyperparameters) so training resumes exactly where it stopped.
 */
import { shapeString, type Tensor } from '../../tensor/index.ts';
import { checkNumber } from '../errors.ts';

export interface OptimizerState {
  /** Which optimiser wrote this ('adam', 'adamw', 'sgd'). */
  kind: string;
  /** Updates taken so far. */
  step: number;
  /** Hyperparameters at export time, restored on import. */
  hyper: Record<string, number | boolean>;
  /** Per-parameter buffers, keyed `<parameter index>.<buffer name>`. */
  buffers: Record<string, Float32Array>;
}

export abstract class Optimizer {
  readonly params: readonly Tensor[];
  protected stepCount = 0;
  private learningRate = 0;

  constructor(params: readonly Tensor[], lr: number, what: string) {
    if (!Array.isArray(params) || params.length === 0) {
      throw new Error(`${what}: needs a non-empty list of parameters, got ${String(params)}`);
    }
    params.forEach((p, i) => {
      if (!p.requiresGrad || !p.isLeaf) {
        throw new Error(
          `${what}: parameter ${i} (shape ${shapeString(p.shape)}) must be a leaf that requires grad`,
        );
      }
    });
    this.params = [...params];
    this.lr = lr;
  }

  get lr(): number {
    return this.learningRate;
  }

  /** Schedules set this before each step. Must be a finite number >= 0. */
  set lr(value: number) {
    checkNumber(`${this.constructor.name}: lr`, value, 0, Number.POSITIVE_INFINITY);
    if (!Number.isFinite(value)) throw new Error(`${this.constructor.name}: lr must be finite, got ${value}`);
    this.learningRate = value;
  }

  /** Updates taken so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** Zero-fills every parameter's gradient in place (no allocation). */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** One update from the gradients now held in `.grad`; parameters without a gradient are skipped. */
  abstract step(): void;

  abstract stateDict(): OptimizerState;

  abstract loadStateDict(state: OptimizerState): void;

  /** Checks `state` was written by this kind of optimiser for parameters of the same sizes. */
  protected checkState(state: OptimizerState, kind: string, bufferNames: readonly string[]): void {
    const name = this.constructor.name;
    if (!state || state.kind !== kind) {
      throw new Error(`${name}.loadStateDict: state is for optimiser '${state?.kind}', expected '${kind}'`);
    }
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new Error(`${name}.loadStateDict: step must be a non-negative integer, got ${state.step}`);
    }
    const expected = new Set<string>();
    this.params.forEach((p, i) => {
      for (const b of bufferNames) {
        const key = `${i}.${b}`;
        expected.add(key);
        const buf = state.buffers[key];
        if (!buf) throw new Error(`${name}.loadStateDict: buffer '${key}' is missing from the state`);
        if (buf.length !== p.size) {
          throw new Error(
            `${name}.loadStateDict: buffer '${key}' has ${buf.length} values but parameter ${i} ` +
              `(shape ${shapeString(p.shape)}) has ${p.size}`,
          );
        }
      }
    });
    for (const key of Object.keys(state.buffers)) {
      if (!expected.has(key)) {
        throw new Error(
          `${name}.loadStateDict: unexpected buffer '${key}' (the state was saved for a different parameter list)`,
        );
      }
    }
  }
}
