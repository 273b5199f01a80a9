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
    const { mean, logVar } = this.ensemble.forward(x, packed, memberRows);
    return { out: mean, logVar };
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
