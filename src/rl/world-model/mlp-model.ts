/**
 * `mlp`: one deterministic MLP that predicts the change of the state (the article's model, with delta
 * targets and the outcome head of lander-layout.ts). It knows nothing of its own uncertainty.
 */
import { type Activation, MLP } from '../../nn/index.ts';
import { Rng, type Tensor } from '../../tensor/index.ts';
import { FeedForwardModel, type NetworkOutput } from './feed-forward-model.ts';
import { type ModelActionSpace, OUTPUT_SIZE } from './lander-layout.ts';
import { modelInputSize } from './model-data.ts';
import { readModelFile, saveModelFile } from './model-file.ts';

export interface MlpModelConfig {
  /** Hidden layer sizes. */
  hiddenSizes: number[];
  /** Hidden activation. */
  activation: Activation;
  /** Seed of the initial weights. */
  seed: number;
}

export const defaultMlpModelConfig: Readonly<MlpModelConfig> = Object.freeze({
  hiddenSizes: [200, 200, 200, 200],
  activation: 'silu' as Activation,
  seed: 1,
});

export class MlpModel extends FeedForwardModel {
  readonly kind = 'mlp';
  readonly config: MlpModelConfig;
  private readonly mlp: MLP;

  constructor(actionSpace: ModelActionSpace, overrides: Partial<MlpModelConfig> = {}) {
    const config = { ...defaultMlpModelConfig, ...overrides };
    const mlp = new MLP([modelInputSize(actionSpace), ...config.hiddenSizes, OUTPUT_SIZE], {
      rng: new Rng(config.seed),
      activation: config.activation,
    });
    super(actionSpace, 1, mlp, false);
    this.config = config;
    this.mlp = mlp;
  }

  protected forward(x: Tensor): NetworkOutput {
    const out = this.mlp.forward(x);
    const rows = out.size / OUTPUT_SIZE;
    return { out: out.reshape(1, rows, OUTPUT_SIZE), logVar: null };
  }

  protected eliteCount(): number {
    return 1;
  }

  save(file: string, metadata: Record<string, string> = {}): void {
    saveModelFile(
      file,
      this.kind,
      { actionSpace: this.actionSpace, ...this.config },
      this.mlp,
      this.extraArrays(),
      metadata,
    );
  }

  static load(file: string): MlpModel {
    const contents = readModelFile(file);
    if (contents.kind !== 'mlp') throw new Error(`MlpModel.load: ${file} holds a '${contents.kind}' model`);
    const { actionSpace, ...config } = contents.config as MlpModelConfig & { actionSpace: ModelActionSpace };
    const model = new MlpModel(actionSpace, config);
    model.mlp.loadStateDict(contents.state, { source: file });
    model.loadExtraArrays(contents.extra, file);
    return model;
  }
}
