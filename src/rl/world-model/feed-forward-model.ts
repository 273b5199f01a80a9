/**
 * What the memoryless models (one MLP, a probabilistic ensemble) share: fitting with bootstrapped
 * minibatches (each member draws its own rows with replacement, as PETS's bootstraps), validation of every
 * member, elites by validation loss (MBPO), batched prediction and saving. A subclass supplies the network:
 * normalised inputs [B, in] or [E, B, in] to outputs [E, B, OUTPUT_SIZE] and, when it predicts its
 * uncertainty, log-variances of the same shape.
 */
import type { Module } from '../../nn/index.ts';
import {
  noGrad,
  type PackedWeightsKey,
  type Rng,
  type Tensor,
  tidy,
  trackedTensor,
} from '../../tensor/index.ts';
import { allocatePrediction, copyPredictionRow, decodeOutputs } from './decode-outputs.ts';
import type {
  DynamicsKind,
  DynamicsModel,
  DynamicsPrediction,
  EpisodeTransitions,
} from './dynamics-model.ts';
import { type ModelActionSpace, OUTPUT_SIZE } from './lander-layout.ts';
import {
  allocateModelData,
  encodeInputs,
  gatherRows,
  LanderScalers,
  type ModelData,
  modelInputSize,
  outcomeWeights,
  prepareModelData,
} from './model-data.ts';
import { landerModelLoss } from './model-loss.ts';
import {
  checkOutcomeWeights,
  fitOutcomeOffsets,
  readOutcomeOffsets,
  weightOffsets,
} from './outcome-calibration.ts';
import type { FitThreads, SplitFit } from './split-fit.ts';
import {
  type FitOptions,
  type FitReport,
  fitLearner,
  type Learner,
  meanErrors,
  memberErrors,
} from './trainer.ts';

/** Validation rows per forward pass, so a large validation set never needs huge activations at once. */
export const VALIDATION_CHUNK = 2048;

export interface NetworkOutput {
  /** [E, B, OUTPUT_SIZE] */
  out: Tensor;
  /** [E, B, OUTPUT_SIZE] or null */
  logVar: Tensor | null;
}

export abstract class FeedForwardModel implements DynamicsModel {
  abstract readonly kind: DynamicsKind;
  readonly memorySize = 0;
  readonly scalers = new LanderScalers();
  elites: number[];
  /** Class weights of the outcome loss, set by the first fit. */
  readonly outcomeWeights = new Float32Array([1, 1, 1]);
  /** Per member, the offsets added to the outcome logits (outcome-calibration.ts); -log w before a fit. */
  private outcomeOffsets: Float32Array;
  private fitted = false;
  private prediction: DynamicsPrediction | null = null;
  private groupedPrediction: DynamicsPrediction | null = null;
  private inputs = new Float32Array(0);
  /**
   * The weights' version for the kernels' packed-weight reuse (PackedWeightsKey): inference calls name it,
   * and every fit and load moves it on (a fit before and after), so no prediction after a fit meets weights
   * packed before it. A prediction during a fit (from an `onEpoch` callback) would pack mid-fit weights under
   * the fit's version; nothing does that, and it must not.
   */
  private weightsVersion = 0;

  protected constructor(
    readonly actionSpace: ModelActionSpace,
    readonly members: number,
    protected readonly network: Module,
    protected readonly stochastic: boolean,
  ) {
    this.elites = Array.from({ length: members }, (_, i) => i);
    this.outcomeOffsets = new Float32Array(members * 3);
  }

  /**
   * The network on normalised inputs, shared [B, in] or per member [E, B, in]; `packed` and `memberRows`
   * (how many of each member's first rows are wanted) are given by inference calls only.
   */
  protected abstract forward(
    x: Tensor,
    packed?: PackedWeightsKey | null,
    memberRows?: Int32Array | null,
  ): NetworkOutput;

  private packedKey(): PackedWeightsKey {
    return { owner: this, version: this.weightsVersion };
  }

  /** Extra terms of the training loss (an ensemble's log-variance bounds). */
  protected regulariser(): Tensor | null {
    return null;
  }

  /** How many members are elites (the best by validation loss). */
  protected abstract eliteCount(): number;

  get inputSize(): number {
    return modelInputSize(this.actionSpace);
  }

  predict(
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    _memory: Float32Array | null = null,
  ): DynamicsPrediction {
    const width = this.inputSize;
    if (this.inputs.length < rows * width) this.inputs = new Float32Array(rows * width);
    const inputs = this.inputs.subarray(0, rows * width);
    encodeInputs(this.actionSpace, this.scalers, observations, actions, rows, inputs);
    if (this.prediction?.rows !== rows) {
      this.prediction = allocatePrediction(this.members, rows, this.stochastic);
    }
    const pred = this.prediction;
    noGrad(() =>
      tidy(() => {
        const { out, logVar } = this.forward(trackedTensor(inputs, [rows, width]), this.packedKey());
        decodeOutputs(out.data, logVar ? logVar.data : null, this.scalers, this.outcomeOffsets, pred);
      }),
    );
    return pred;
  }

  /**
   * As `predict`, but each row only by its own member `members[i]`: the rows are grouped per member into one
   * [E, B, in] batch (B the largest group) of which each member computes only its own rows, so the forward
   * costs N rows instead of E x N. Only the entries
   * of each row's own member are written (the layout stays [E, N, ...]); the others keep stale values.
   */
  predictAssigned(
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    members: Int32Array,
  ): DynamicsPrediction {
    const E = this.members;
    const width = this.inputSize;
    if (members.length < rows) {
      throw new Error(`predictAssigned: ${members.length} members for ${rows} rows`);
    }
    if (this.inputs.length < rows * width) this.inputs = new Float32Array(rows * width);
    const inputs = this.inputs.subarray(0, rows * width);
    encodeInputs(this.actionSpace, this.scalers, observations, actions, rows, inputs);
    const counts = new Int32Array(E);
    const slot = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      const m = members[i]!;
      if (!(m >= 0 && m < E)) throw new Error(`predictAssigned: members[${i}] = ${m}; expected 0..${E - 1}`);
      slot[i] = counts[m]!++;
    }
    const B = Math.max(1, ...counts);
    const grouped = new Float32Array(E * B * width);
    for (let i = 0; i < rows; i++) {
      grouped.set(inputs.subarray(i * width, (i + 1) * width), (members[i]! * B + slot[i]!) * width);
    }
    if (this.groupedPrediction?.rows !== B)
      this.groupedPrediction = allocatePrediction(E, B, this.stochastic);
    if (this.prediction?.rows !== rows) this.prediction = allocatePrediction(E, rows, this.stochastic);
    const small = this.groupedPrediction;
    const pred = this.prediction;
    noGrad(() =>
      tidy(() => {
        // Each member computes only its own rows (a member no row chose computes none).
        const { out, logVar } = this.forward(trackedTensor(grouped, [E, B, width]), this.packedKey(), counts);
        decodeOutputs(out.data, logVar ? logVar.data : null, this.scalers, this.outcomeOffsets, small);
      }),
    );
    for (let i = 0; i < rows; i++) {
      const from = members[i]! * B + slot[i]!;
      copyPredictionRow(small, from, pred, members[i]! * rows + i);
    }
    return pred;
  }

  /**
   * Fits to early stopping (trainer.ts). With `threads` (an ensemble only), the members are trained on two
   * threads (split-fit.ts), to the same numbers as on one.
   */
  fit(
    train: EpisodeTransitions,
    validation: EpisodeTransitions,
    options: Partial<FitOptions> = {},
    threads: FitThreads | null = null,
  ): FitReport {
    this.weightsVersion++;
    if (!this.fitted) {
      this.scalers.fit(train);
    }
    const trainData = prepareModelData(train, this.actionSpace, this.scalers);
    const validData = prepareModelData(validation, this.actionSpace, this.scalers);
    if (!this.fitted) this.setOutcomeWeights(outcomeWeights(trainData.outcome));
    const cew = options.contactEventWeight ?? 1;
    const split = threads ? this.splitFit(threads, trainData, validData, cew, options) : null;
    let report: FitReport;
    let memberLosses: number[];
    try {
      report = fitLearner(this.learner(trainData, validData, cew, split), options);
      this.weightsVersion++;
      this.calibrateOutcomes(validData, split);
      const last = report.epochs.find((e) => e.epoch === report.bestEpoch)?.validation;
      memberLosses =
        last?.members ?? noGrad(() => this.learner(trainData, validData, cew, split).validate().members);
      split?.finish();
    } finally {
      split?.end();
    }
    this.elites = memberLosses
      .map((loss, member) => ({ loss, member }))
      .sort((a, b) => a.loss - b.loss)
      .slice(0, this.eliteCount())
      .map((e) => e.member)
      .sort((a, b) => a - b);
    return report;
  }

  /** Sets the class weights, and the outcome offsets that undo them, as a first fit or a load does. */
  protected setOutcomeWeights(weights: Float32Array): void {
    this.outcomeWeights.set(weights);
    const undo = weightOffsets(weights);
    for (let m = 0; m < this.members; m++) this.outcomeOffsets.set(undo, m * 3);
    this.fitted = true;
  }

  /**
   * A session that fits this model's members on two threads (split-fit.ts); only an ensemble has one.
   */
  protected splitFit(
    _threads: FitThreads,
    _train: ModelData,
    _valid: ModelData,
    _contactEventWeight: number,
    _options: Partial<FitOptions>,
  ): SplitFit {
    throw new Error(
      `${this.kind} model: only an ensemble's fit runs on two threads; fit it with threads = 1`,
    );
  }

  /** Refits every member's outcome offsets on the validation rows (outcome-calibration.ts). */
  private calibrateOutcomes(valid: ModelData, split: SplitFit | null): void {
    const { outs } = this.validationOutputs(valid, split);
    const size = valid.rows * OUTPUT_SIZE;
    const initial = weightOffsets(this.outcomeWeights);
    for (let m = 0; m < this.members; m++) {
      const offsets = fitOutcomeOffsets(
        outs.subarray(m * size, (m + 1) * size),
        valid.rows,
        valid.outcome,
        initial,
      );
      this.outcomeOffsets.set(offsets, m * 3);
    }
  }

  /** Every member's outputs (and log-variances) for all validation rows, in chunks to bound activations. */
  private validationOutputs(
    valid: ModelData,
    split: SplitFit | null,
  ): { outs: Float32Array; logVars: Float32Array | null } {
    const E = this.members;
    const width = this.inputSize;
    const size = valid.rows * OUTPUT_SIZE;
    const outs = new Float32Array(E * size);
    const logVars = this.stochastic ? new Float32Array(E * size) : null;
    if (split) {
      split.validationOutputs(outs, logVars);
      return { outs, logVars };
    }
    noGrad(() => {
      for (let start = 0; start < valid.rows; start += VALIDATION_CHUNK) {
        const rows = Math.min(VALIDATION_CHUNK, valid.rows - start);
        tidy(() => {
          const x = trackedTensor(valid.inputs.subarray(start * width, (start + rows) * width), [
            rows,
            width,
          ]);
          const { out, logVar } = this.forward(x);
          for (let e = 0; e < E; e++) {
            const from = e * rows * OUTPUT_SIZE;
            const to = e * size + start * OUTPUT_SIZE;
            outs.set(out.data.subarray(from, from + rows * OUTPUT_SIZE), to);
            if (logVar && logVars) logVars.set(logVar.data.subarray(from, from + rows * OUTPUT_SIZE), to);
          }
        });
      }
    });
    return { outs, logVars };
  }

  /** The arrays besides the weights that a saved model needs. */
  protected extraArrays(): Record<string, Float32Array> {
    return {
      ...this.scalers.toArrays(),
      outcomeWeights: this.outcomeWeights,
      outcomeOffsets: this.outcomeOffsets,
      elites: Float32Array.from(this.elites),
    };
  }

  /** Restores what `extraArrays` saved. */
  protected loadExtraArrays(extra: Record<string, Float32Array | undefined>, file: string): void {
    this.weightsVersion++;
    this.scalers.fromArrays(extra, file);
    const weights = checkOutcomeWeights(extra.outcomeWeights, file);
    const elites = extra.elites;
    if (!elites?.every((e) => Number.isInteger(e) && e >= 0 && e < this.members)) {
      throw new Error(`world model: ${file} has no valid 'elites' for ${this.members} members`);
    }
    this.setOutcomeWeights(weights);
    const offsets = readOutcomeOffsets(extra, this.members * 3, file);
    if (offsets) this.outcomeOffsets.set(offsets);
    this.elites = Array.from(elites);
  }

  abstract save(file: string, metadata?: Record<string, string>): void;

  private learner(
    train: ModelData,
    valid: ModelData,
    contactEventWeight: number,
    split: SplitFit | null,
  ): Learner {
    const E = this.members;
    const width = this.inputSize;
    let batch = allocateModelData(0, width);
    let indices = new Int32Array(0);
    return {
      parameters: () => this.network.parameters(),
      trainingRows: train.rows,
      trainingLoss: (batchSize: number, rng: Rng): Tensor => {
        if (batch.rows !== E * batchSize) {
          batch = allocateModelData(E * batchSize, width);
          indices = new Int32Array(E * batchSize);
        }
        // Each member's rows drawn with replacement: bootstrapped minibatches.
        for (let i = 0; i < indices.length; i++) indices[i] = rng.integer(0, train.rows);
        gatherRows(train, indices, batch);
        const x = trackedTensor(batch.inputs, [E, batchSize, width]);
        const { out, logVar } = this.forward(x);
        const { loss } = landerModelLoss(out, logVar, batch, this.outcomeWeights, contactEventWeight);
        const extra = this.regulariser();
        return extra ? loss.add(extra) : loss;
      },
      validate: () => {
        const { outs, logVars } = this.validationOutputs(valid, split);
        const size = valid.rows * OUTPUT_SIZE;
        const perMember = [];
        for (let e = 0; e < E; e++) {
          const o = outs.subarray(e * size, (e + 1) * size);
          const lv = logVars ? logVars.subarray(e * size, (e + 1) * size) : null;
          perMember.push(memberErrors(o, lv, valid, this.outcomeWeights, contactEventWeight));
        }
        return meanErrors(perMember);
      },
      snapshot: () => split?.snapshot() ?? this.network.parameters().map((p) => p.data.slice()),
      restore: (snapshot) => {
        if (split) split.restore(snapshot);
        else {
          this.network.parameters().forEach((p, i) => {
            p.data.set(snapshot[i]!);
          });
        }
      },
      ...(split
        ? { step: (batchSize: number, rng: Rng, o: FitOptions) => split.step(batchSize, rng, o) }
        : {}),
    };
  }
}
