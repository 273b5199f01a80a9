/**
 * `article`: the world model of the article this engine grew from (../shared/article-setting.md), kept
 * faithful so the first ablation row measures its modelling choices:
 *   - one MLP, 3 hidden layers of 256, ReLU, PyTorch's default initialisation;
 *   - input the 8 raw observation numbers and the raw action (a discrete action is ONE number, its index,
 *     not one-hot; a box action its numbers as they are): no normalisation of inputs or targets;
 *   - output the ABSOLUTE next observation (8 numbers, legs included) and the reward / 100;
 *   - MSE over those 9 numbers, Adam 1e-3 (no weight decay), minibatches of 32, gradients clipped by VALUE
 *     at 0.5 (and not by norm);
 *   - no termination or outcome head: the rare +100 / -100 are regressed as numbers (+-1 after / 100).
 * Not reproduced: the learning-rate reduction on plateau (factor 0.95, patience 10); the shared trainer's
 * early stopping on the validation loss applies, as for every kind (callers set patience and epochs).
 *
 * As a `DynamicsModel` it has one member and no memory: `delta` is the predicted next state minus the
 * current one (6 continuous dimensions), `contactProb` the predicted legs clamped to [0, 1], `reward` the
 * predicted reward x 100, and `outcomeProb` always [1, 0, 0], so imagined episodes end only at the horizon
 * (or by the model env's own rules). `scalers` are fitted on the first fit's training data only because
 * the interface carries them (the model env divides disagreement by `scalers.delta.std`, which is 0 for
 * one member anyway); the network never sees them.
 *
 * Minibatches are drawn WITHOUT replacement, a fresh shuffle of the training rows per pass (as the
 * article's DataLoader), where the other kinds bootstrap.
 */
import { type Activation, MLP, mse } from '../../nn/index.ts';
import { noGrad, Rng, type Tensor, tidy, trackedTensor } from '../../tensor/index.ts';
import { allocatePrediction } from './decode-outputs.ts';
import type { DynamicsModel, DynamicsPrediction, EpisodeTransitions } from './dynamics-model.ts';
import {
  CONTACT_DIMS,
  checkActionRows,
  checkFiniteRows,
  checkTransitions,
  type ModelActionSpace,
  OBSERVATION_SIZE,
  OUTCOMES,
  rawActionSize,
  STATE_DIMS,
  type Transitions,
} from './lander-layout.ts';
import { LanderScalers } from './model-data.ts';
import { readModelFile, saveModelFile } from './model-file.ts';
import {
  type FitOptions,
  type FitReport,
  fitLearner,
  type Learner,
  requireUnweightedContacts,
  type ValidationErrors,
} from './trainer.ts';

export interface ArticleModelConfig {
  /** Hidden layer sizes. */
  hiddenSizes: number[];
  /** Hidden activation. */
  activation: Activation;
  /** Seed of the initial weights. */
  seed: number;
}

export const defaultArticleModelConfig: Readonly<ArticleModelConfig> = Object.freeze({
  hiddenSizes: [256, 256, 256],
  activation: 'relu' as Activation,
  seed: 1,
});

/** The article's training settings, under whatever a caller passes: batch 32, plain Adam, value clip 0.5. */
export const articleFitDefaults: Readonly<Partial<FitOptions>> = Object.freeze({
  batchSize: 32,
  weightDecay: 0,
  maxGradNorm: Number.POSITIVE_INFINITY,
  clipValue: 0.5,
});

/** The reward is regressed divided by this. */
export const ARTICLE_REWARD_SCALE = 100;
/** Output row: the next observation (8 numbers), then the reward / 100. */
export const ARTICLE_OUTPUT_SIZE = OBSERVATION_SIZE + 1;
const OUT_REWARD = OBSERVATION_SIZE;

/** Validation rows per forward pass. */
const VALIDATION_CHUNK = 2048;

/** The input width: 8 observation numbers and the raw action (1 number when discrete). */
export function articleInputSize(space: ModelActionSpace): number {
  return OBSERVATION_SIZE + rawActionSize(space);
}

/** Raw inputs and targets of `rows` transitions, row-aligned. */
interface ArticleData {
  rows: number;
  /** [rows, 8 + raw action size]: the observation and the action, as they are. */
  inputs: Float32Array;
  /** [rows, 9]: the next observation and the reward / 100. */
  targets: Float32Array;
}

export class ArticleModel implements DynamicsModel {
  readonly kind = 'article';
  readonly members = 1;
  readonly elites: readonly number[] = [0];
  readonly memorySize = 0;
  readonly scalers = new LanderScalers();
  readonly config: ArticleModelConfig;
  readonly inputSize: number;
  private readonly mlp: MLP;
  private fitted = false;
  private prediction: DynamicsPrediction | null = null;
  private inputs = new Float32Array(0);

  constructor(
    readonly actionSpace: ModelActionSpace,
    overrides: Partial<ArticleModelConfig> = {},
  ) {
    checkActionSpace(actionSpace);
    const config = { ...defaultArticleModelConfig, ...overrides };
    this.inputSize = articleInputSize(actionSpace);
    this.mlp = new MLP([this.inputSize, ...config.hiddenSizes, ARTICLE_OUTPUT_SIZE], {
      rng: new Rng(config.seed),
      activation: config.activation,
    });
    this.config = config;
  }

  predict(
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    _memory: Float32Array | null = null,
  ): DynamicsPrediction {
    checkFiniteRows('ArticleModel.predict', 'observations', observations, rows, OBSERVATION_SIZE);
    checkActionRows('ArticleModel.predict', this.actionSpace, actions, rows);
    const width = this.inputSize;
    if (this.inputs.length < rows * width) this.inputs = new Float32Array(rows * width);
    const inputs = this.inputs.subarray(0, rows * width);
    encodeArticleInputs(this.actionSpace, observations, actions, rows, inputs);
    if (this.prediction?.rows !== rows) this.prediction = allocatePrediction(1, rows, false);
    const pred = this.prediction;
    noGrad(() =>
      tidy(() => {
        const out = this.mlp.forward(trackedTensor(inputs, [rows, width])).data;
        const K = OUTCOMES.length;
        for (let r = 0; r < rows; r++) {
          const base = r * ARTICLE_OUTPUT_SIZE;
          for (let j = 0; j < STATE_DIMS; j++) {
            pred.delta[r * STATE_DIMS + j] = out[base + j]! - observations[r * OBSERVATION_SIZE + j]!;
          }
          for (let j = 0; j < CONTACT_DIMS; j++) {
            pred.contactProb[r * CONTACT_DIMS + j] = Math.min(1, Math.max(0, out[base + STATE_DIMS + j]!));
          }
          pred.reward[r] = out[base + OUT_REWARD]! * ARTICLE_REWARD_SCALE;
          pred.outcomeProb[r * K] = 1;
          for (let k = 1; k < K; k++) pred.outcomeProb[r * K + k] = 0;
        }
      }),
    );
    return pred;
  }

  /**
   * Fits on `train` with the article's settings (`articleFitDefaults`) under `options`, early-stopping on
   * the MSE of `validation`. The validation errors: `loss` the MSE over the 9 outputs (what training
   * minimises); `state` the squared error of each continuous dimension of the next state in env units
   * (equal to that of the change); `contacts` the squared error of each leg output (regressed, not a
   * cross-entropy); `reward` the squared error of reward / 100 over every row, terminal ones included;
   * `outcome` 0 (not predicted).
   */
  fit(
    train: EpisodeTransitions,
    validation: EpisodeTransitions,
    options: Partial<FitOptions> = {},
  ): FitReport {
    requireUnweightedContacts('ArticleModel.fit', options);
    const trainData = prepareArticleData('ArticleModel.fit: train', train, this.actionSpace);
    const validData = prepareArticleData('ArticleModel.fit: validation', validation, this.actionSpace);
    if (!this.fitted) {
      this.scalers.fit(train);
      this.fitted = true;
    }
    return fitLearner(this.learner(trainData, validData), { ...articleFitDefaults, ...options });
  }

  /** The MSE terms of `data` (see `fit`), with the network as it is. */
  evaluate(t: Transitions): ValidationErrors {
    return noGrad(() => this.errors(prepareArticleData('ArticleModel.evaluate', t, this.actionSpace)));
  }

  save(file: string, metadata: Record<string, string> = {}): void {
    saveModelFile(
      file,
      this.kind,
      { actionSpace: this.actionSpace, ...this.config },
      this.mlp,
      this.scalers.toArrays(),
      metadata,
    );
  }

  static load(file: string): ArticleModel {
    const contents = readModelFile(file);
    if (contents.kind !== 'article') {
      throw new Error(`ArticleModel.load: ${file} holds a '${contents.kind}' model`);
    }
    const { actionSpace, ...config } = contents.config as ArticleModelConfig & {
      actionSpace: ModelActionSpace;
    };
    const model = new ArticleModel(actionSpace, config);
    model.mlp.loadStateDict(contents.state, { source: file });
    model.scalers.fromArrays(contents.extra, file);
    model.fitted = true;
    return model;
  }

  private errors(data: ArticleData): ValidationErrors {
    const width = this.inputSize;
    const sums = new Float64Array(ARTICLE_OUTPUT_SIZE);
    for (let start = 0; start < data.rows; start += VALIDATION_CHUNK) {
      const rows = Math.min(VALIDATION_CHUNK, data.rows - start);
      tidy(() => {
        const x = trackedTensor(data.inputs.subarray(start * width, (start + rows) * width), [rows, width]);
        const out = this.mlp.forward(x).data;
        const targets = data.targets.subarray(start * ARTICLE_OUTPUT_SIZE);
        for (let i = 0; i < rows * ARTICLE_OUTPUT_SIZE; i++) {
          const diff = out[i]! - targets[i]!;
          sums[i % ARTICLE_OUTPUT_SIZE]! += diff * diff;
        }
      });
    }
    const mean = Array.from(sums, (s) => s / data.rows);
    const loss = mean.reduce((a, b) => a + b, 0) / ARTICLE_OUTPUT_SIZE;
    return {
      loss,
      state: mean.slice(0, STATE_DIMS),
      reward: mean[OUT_REWARD]!,
      contacts: mean.slice(STATE_DIMS, STATE_DIMS + CONTACT_DIMS),
      outcome: 0,
      members: [loss],
    };
  }

  private learner(train: ArticleData, valid: ArticleData): Learner {
    const width = this.inputSize;
    const order = Int32Array.from({ length: train.rows }, (_, i) => i);
    let cursor = train.rows;
    let inputs = new Float32Array(0);
    let targets = new Float32Array(0);
    return {
      parameters: () => this.mlp.parameters(),
      trainingRows: train.rows,
      trainingLoss: (batchSize: number, rng: Rng): Tensor => {
        if (inputs.length !== batchSize * width) {
          inputs = new Float32Array(batchSize * width);
          targets = new Float32Array(batchSize * ARTICLE_OUTPUT_SIZE);
        }
        // Without replacement: the next rows of a shuffled pass, reshuffled when it runs out.
        for (let i = 0; i < batchSize; i++) {
          if (cursor >= train.rows) {
            shuffle(order, rng);
            cursor = 0;
          }
          const r = order[cursor++]!;
          inputs.set(train.inputs.subarray(r * width, (r + 1) * width), i * width);
          targets.set(
            train.targets.subarray(r * ARTICLE_OUTPUT_SIZE, (r + 1) * ARTICLE_OUTPUT_SIZE),
            i * ARTICLE_OUTPUT_SIZE,
          );
        }
        const out = this.mlp.forward(trackedTensor(inputs, [batchSize, width]));
        return mse(out, trackedTensor(targets, [batchSize, ARTICLE_OUTPUT_SIZE]));
      },
      validate: () => this.errors(valid),
      snapshot: () => this.mlp.parameters().map((p) => p.data.slice()),
      restore: (snapshot) => {
        this.mlp.parameters().forEach((p, i) => {
          p.data.set(snapshot[i]!);
        });
      },
    };
  }
}

/** Writes raw inputs for `rows` rows into `out` [rows, 8 + raw action size]: no normalisation, no one-hot. */
export function encodeArticleInputs(
  space: ModelActionSpace,
  observations: Float32Array,
  actions: ArrayLike<number>,
  rows: number,
  out: Float32Array,
): void {
  const a = rawActionSize(space);
  const width = OBSERVATION_SIZE + a;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < OBSERVATION_SIZE; j++) {
      out[r * width + j] = observations[r * OBSERVATION_SIZE + j]!;
    }
    for (let j = 0; j < a; j++) out[r * width + OBSERVATION_SIZE + j] = actions[r * a + j]!;
  }
}

function prepareArticleData(where: string, t: Transitions, space: ModelActionSpace): ArticleData {
  if (!(t.count >= 1)) throw new Error(`${where}: no transitions (count = ${t.count})`);
  checkTransitions(where, t, space);
  const rows = t.count;
  const inputs = new Float32Array(rows * articleInputSize(space));
  encodeArticleInputs(space, t.observations, t.actions, rows, inputs);
  const targets = new Float32Array(rows * ARTICLE_OUTPUT_SIZE);
  for (let r = 0; r < rows; r++) {
    targets.set(
      t.nextObservations.subarray(r * OBSERVATION_SIZE, (r + 1) * OBSERVATION_SIZE),
      r * ARTICLE_OUTPUT_SIZE,
    );
    targets[r * ARTICLE_OUTPUT_SIZE + OUT_REWARD] = t.rewards[r]! / ARTICLE_REWARD_SCALE;
  }
  return { rows, inputs, targets };
}

/** Fisher-Yates, in place. */
function shuffle(order: Int32Array, rng: Rng): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.integer(0, i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
}

function checkActionSpace(space: ModelActionSpace): void {
  const size = space && ('n' in space ? space.n : 'size' in space ? space.size : undefined);
  if (!Number.isSafeInteger(size) || (size as number) < 1) {
    throw new Error(
      `ArticleModel: action space ${JSON.stringify(space)} is invalid; expected { n } or { size } with a positive integer`,
    );
  }
}
