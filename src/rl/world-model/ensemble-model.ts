/**
 * `ensemble`: a probabilistic ensemble (Chua et al. 2018, PETS): E members, each a Gaussian over the state
 * change and reward (mean and softly bounded log-variance) plus contact and outcome logits, all members in
 * one batched network (nn's `ProbabilisticEnsemble`). The variance heads model the lander's own noise (the
 * engines' random dispersion); the members' disagreement, what the data did not pin down. Trained on
 * bootstrapped minibatches; the best `elites` members by validation loss are the ones used (MBPO).
 */
import { type Activation, ProbabilisticEnsemble } from '../../nn/index.ts';
import { type PackedWeightsKey, Rng, type Tensor } from '../../tensor/index.ts';
import { FeedForwardModel, type NetworkOutput, VALIDATION_CHUNK } from './feed-forward-model.ts';
import { type ModelActionSpace, OUTPUT_SIZE } from './lander-layout.ts';
import { type ModelData, modelInputSize } from './model-data.ts';
import { readModelFile, saveModelFile } from './model-file.ts';
import { type FitThreads, SplitFit } from './split-fit.ts';
import { mainThreadRows, SplitPredict } from './split-predict.ts';
import { type FitOptions, resolveFitOptions } from './trainer.ts';

export interface EnsembleModelConfig {
  /** Members E. */
  members: number;
  /** Members kept as elites (best by validation loss). */
  elites: number;
  /** Hidden layer sizes of every member. */
  hiddenSizes: number[];
  /** Hidden activation (Swish, as PETS and MBPO). */
  activation: Activation;
  /** Weight of PETS's regulariser on the learnable log-variance bounds. */
  boundsPenalty: number;
  /** Seed of the initial weights. */
  seed: number;
}

export const defaultEnsembleModelConfig: Readonly<EnsembleModelConfig> = Object.freeze({
  members: 7,
  elites: 5,
  hiddenSizes: [200, 200, 200, 200],
  activation: 'silu' as Activation,
  boundsPenalty: 0.01,
  seed: 1,
});

export class EnsembleModel extends FeedForwardModel {
  readonly kind = 'ensemble';
  readonly config: EnsembleModelConfig;
  private readonly ensemble: ProbabilisticEnsemble;
  /** The helper thread inference splits its rows with (`usePredictThreads`), and the session on the current weights. */
  private predictThreads: FitThreads | null = null;
  private predictSession: { split: SplitPredict; version: number } | null = null;

  constructor(actionSpace: ModelActionSpace, overrides: Partial<EnsembleModelConfig> = {}) {
    const config = { ...defaultEnsembleModelConfig, ...overrides };
    if (!Number.isSafeInteger(config.elites) || config.elites < 1 || config.elites > config.members) {
      throw new Error(
        `EnsembleModel: elites = ${config.elites} must be an integer in [1, members = ${config.members}]`,
      );
    }
    const ensemble = new ProbabilisticEnsemble(
      config.members,
      [modelInputSize(actionSpace), ...config.hiddenSizes, OUTPUT_SIZE],
      { rng: new Rng(config.seed), activation: config.activation },
    );
    super(actionSpace, config.members, ensemble, true);
    this.config = config;
    this.ensemble = ensemble;
  }

  protected forward(
    x: Tensor,
    packed: PackedWeightsKey | null = null,
    memberRows: Int32Array | null = null,
  ): NetworkOutput {
    const rows = x.shape[0]!;
    const split =
      this.predictThreads && packed && !memberRows && x.shape.length === 2 && mainThreadRows(rows) > 0
        ? this.predictSessionFor(packed.version, rows)
        : null;
    const { mean, logVar } = split
      ? this.ensemble.head(this.splitForward(split, x, packed!))
      : this.ensemble.forward(x, packed, memberRows);
    return { out: mean, logVar };
  }

  /**
   * Inference on two threads from now on (null: on one again): a prediction of more than 128 rows shares its
   * rows with `threads`' helper (split-predict.ts), to the same numbers. A fit ends the helper's session, and
   * the next prediction begins one on the new weights.
   */
  usePredictThreads(threads: FitThreads | null): void {
    this.endPredictSession();
    this.predictThreads = threads;
  }

  override fit(...args: Parameters<FeedForwardModel['fit']>): ReturnType<FeedForwardModel['fit']> {
    // The helper serves one session at a time: the fit's, not a prediction's.
    this.endPredictSession();
    return super.fit(...args);
  }

  /** The helper's session for weights `version` and `rows` rows: the open one, or a new one. */
  private predictSessionFor(version: number, rows: number): SplitPredict {
    const open = this.predictSession;
    if (open && open.version === version && rows <= open.split.maxRows && !open.split.ended)
      return open.split;
    this.endPredictSession();
    const maxRows = Math.max(rows, open?.split.maxRows ?? 0);
    const split = new SplitPredict(this.predictThreads!, this.ensemble.body, maxRows);
    this.predictSession = { split, version };
    return split;
  }

  /** The body on two threads; a session that failed is dropped, so the next prediction begins a new one. */
  private splitForward(split: SplitPredict, x: Tensor, packed: PackedWeightsKey): Tensor {
    try {
      return split.forward(x, packed);
    } catch (error) {
      if (this.predictSession?.split === split) this.predictSession = null;
      throw error;
    }
  }

  private endPredictSession(): void {
    const open = this.predictSession;
    this.predictSession = null;
    open?.split.end();
  }

  protected override regulariser(): Tensor | null {
    return this.config.boundsPenalty > 0 ? this.ensemble.boundsPenalty(this.config.boundsPenalty) : null;
  }

  protected override splitFit(
    threads: FitThreads,
    train: ModelData,
    valid: ModelData,
    contactEventWeight: number,
    options: Partial<FitOptions>,
  ): SplitFit {
    return new SplitFit(
      threads,
      {
        ensemble: this.ensemble,
        train,
        valid,
        outcomeWeights: this.outcomeWeights,
        contactEventWeight,
        regulariser: () => this.regulariser(),
        validationChunk: VALIDATION_CHUNK,
      },
      resolveFitOptions(options),
    );
  }

  protected eliteCount(): number {
    return this.config.elites;
  }

  save(file: string, metadata: Record<string, string> = {}): void {
    saveModelFile(
      file,
      this.kind,
      { actionSpace: this.actionSpace, ...this.config },
      this.ensemble,
      this.extraArrays(),
      metadata,
    );
  }

  static load(file: string): EnsembleModel {
    const contents = readModelFile(file);
    if (contents.kind !== 'ensemble')
      throw new Error(`EnsembleModel.load: ${file} holds a '${contents.kind}' model`);
    const { actionSpace, ...config } = contents.config as EnsembleModelConfig & {
      actionSpace: ModelActionSpace;
    };
    const model = new EnsembleModel(actionSpace, config);
    model.ensemble.loadStateDict(contents.state, { source: file });
    model.loadExtraArrays(contents.extra, file);
    return model;
  }
}
