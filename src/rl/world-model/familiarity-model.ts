/**
 * `dae`: a familiarity model of the lander's (state, action) pairs, a denoising autoencoder as in Boney et
 * al. 2019, "Regularizing trajectory optimization with denoising autoencoders" (the author's own wish list,
 * ../shared/article-setting.md). Its input is the normalised observation and the encoded action (one-hot
 * when discrete), the same x a dynamics model reads; it is trained to reconstruct the clean x from
 * x + N(0, noiseStd²) (nn's `DenoisingAutoencoder`). The optimal denoiser moves x towards higher data
 * density (Boney et al., eq. 6: g(x) - x ∝ σ² ∇ log p(x)), so the reconstruction error is small where the
 * data went and large where it never did: a familiarity score.
 *
 * `score` gives that error per row, the mean squared error per input number in normalised units. Its scale
 * depends on the data and the network, so `fit` also records its quantiles on the validation rows (held
 * out, so they say what a new on-distribution pair scores, not what memorised training rows score) and
 * saves them with the model. A model environment penalises `relativeScore` = score / (the score's
 * `referenceQuantile` on validation data, p95 by default): about 1 or less on 95% of familiar pairs, and many
 * times that off the data, e.g. reward - c · max(0, relativeScore - 1).
 */
import { type Activation, DenoisingAutoencoder } from '../../nn/index.ts';
import { noGrad, Rng, type Tensor, tensor, tidy } from '../../tensor/index.ts';
import type { EpisodeTransitions } from './dynamics-model.ts';
import {
  checkActionRows,
  checkFiniteRows,
  checkTransitions,
  encodeActions,
  encodedActionSize,
  type ModelActionSpace,
  OBSERVATION_SIZE,
  type Transitions,
} from './lander-layout.ts';
import { extraArray, readModelFile, saveModelFile } from './model-file.ts';
import { Standardizer } from './standardizer.ts';
import {
  type FitOptions,
  type FitReport,
  fitLearnerSteps,
  runToEnd,
  type ValidationErrors,
} from './trainer.ts';

/** Rows per forward pass when scoring many rows at once (bounds the activations). */
const CHUNK = 2048;

export interface FamiliarityModelConfig {
  /** Hidden layer sizes of the encoder; the decoder mirrors them. */
  hiddenSizes: number[];
  /**
   * Size of the bottleneck, narrower than the state's 6 free numbers so that the code must model how state
   * and action go together: on the synthetic lander (test/world-model-dae-inverse.test.ts) a latent of 6
   * reconstructed an action in a region whose data never took it as well as a familiar one (AUROC 0.2-0.6
   * over 3 seeds), a latent of 4 flagged it (0.97-0.99). On the real lander (world-model bench data,
   * held-out against the constant-left-engine set, model seeds 1 / 2): latent 4 0.915 / 0.895, latent 2
   * 0.926 / 0.934 and latent 6 0.912 / 0.945, but 2 misses the synthetic region test (0.73) and 6 fails it.
   */
  latent: number;
  /** Hidden activation (tanh saturates far from the data, so far-off inputs are not reproduced). */
  activation: Activation;
  /** Standard deviation of the Gaussian corruption, in normalised units (one-hot entries included). */
  noiseStd: number;
  /** Quantiles of the validation score recorded by `fit` and saved with the model. */
  quantiles: number[];
  /** The quantile `relativeScore` divides by; must be one of `quantiles`. */
  referenceQuantile: number;
  /** Seed of the initial weights and of the validation noise. */
  seed: number;
}

export const defaultFamiliarityModelConfig: Readonly<FamiliarityModelConfig> = Object.freeze({
  hiddenSizes: [64, 64],
  latent: 4,
  activation: 'tanh' as Activation,
  noiseStd: 0.2,
  quantiles: [0.5, 0.95, 0.99],
  referenceQuantile: 0.95,
  seed: 1,
});

/** The score's quantiles on the validation rows of the last fit. */
export interface FamiliarityCalibration {
  /** The quantile levels (config.quantiles). */
  quantiles: number[];
  /** The score at each level. */
  values: number[];
  /** Rows they were measured on. */
  rows: number;
}

/** The linearly interpolated `q`-quantile of sorted values (numpy's default). */
function quantileOfSorted(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

function checkConfig(config: FamiliarityModelConfig): void {
  const where = 'FamiliarityModel';
  if (!Array.isArray(config.hiddenSizes) || config.hiddenSizes.length === 0) {
    throw new Error(
      `${where}: hiddenSizes = ${JSON.stringify(config.hiddenSizes)}; expected a non-empty list`,
    );
  }
  if (!(config.noiseStd > 0) || !Number.isFinite(config.noiseStd)) {
    throw new Error(`${where}: noiseStd = ${config.noiseStd} is invalid; expected a positive number`);
  }
  if (
    !Array.isArray(config.quantiles) ||
    config.quantiles.length === 0 ||
    !config.quantiles.every((q) => q >= 0 && q <= 1)
  ) {
    throw new Error(
      `${where}: quantiles = ${JSON.stringify(config.quantiles)}; expected a non-empty list of levels in [0, 1]`,
    );
  }
  if (!config.quantiles.includes(config.referenceQuantile)) {
    throw new Error(
      `${where}: referenceQuantile = ${config.referenceQuantile} is not one of quantiles ` +
        `${JSON.stringify(config.quantiles)}`,
    );
  }
}

export class FamiliarityModel {
  readonly kind = 'dae';
  readonly config: FamiliarityModelConfig;
  /** Normalises the observation part of the input; fitted by the first `fit`. */
  readonly observationScaler = new Standardizer(OBSERVATION_SIZE);
  readonly autoencoder: DenoisingAutoencoder;
  /** The score's quantiles on the last fit's validation rows; null before any fit. */
  calibration: FamiliarityCalibration | null = null;
  private fitted = false;
  private inputs = new Float32Array(0);

  constructor(
    readonly actionSpace: ModelActionSpace,
    overrides: Partial<FamiliarityModelConfig> = {},
  ) {
    const config = { ...defaultFamiliarityModelConfig, ...overrides };
    checkConfig(config);
    this.config = config;
    this.autoencoder = new DenoisingAutoencoder(this.inputSize, {
      rng: new Rng(config.seed),
      hidden: config.hiddenSizes,
      latent: config.latent,
      activation: config.activation,
      noiseStd: config.noiseStd,
    });
  }

  /** Numbers of one input row: 8 observation numbers and the encoded action. */
  get inputSize(): number {
    return OBSERVATION_SIZE + encodedActionSize(this.actionSpace);
  }

  /** Writes normalised inputs of `rows` rows into `out` [rows, inputSize]. */
  private encode(
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    out: Float32Array,
  ): void {
    const width = this.inputSize;
    const { mean, std } = this.observationScaler;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < OBSERVATION_SIZE; j++) {
        out[r * width + j] = (observations[r * OBSERVATION_SIZE + j]! - mean[j]!) / std[j]!;
      }
    }
    encodeActions(this.actionSpace, actions, rows, out, width, OBSERVATION_SIZE);
  }

  private encodeTransitions(t: Transitions): Float32Array {
    const inputs = new Float32Array(t.count * this.inputSize);
    this.encode(t.observations, t.actions, t.count, inputs);
    return inputs;
  }

  /** Clean reconstruction error of each row of normalised `inputs` [rows, inputSize] into `out`. */
  private scoreInputs(inputs: Float32Array, rows: number, out: Float32Array): void {
    const width = this.inputSize;
    noGrad(() => {
      for (let start = 0; start < rows; start += CHUNK) {
        const n = Math.min(CHUNK, rows - start);
        tidy(() => {
          const x = tensor(inputs.subarray(start * width, (start + n) * width), [n, width]);
          out.set(this.autoencoder.reconstructionError(x), start);
        });
      }
    });
  }

  /**
   * The familiarity score of `rows` (observation [rows, 8], raw action) pairs: the mean squared
   * reconstruction error per input number, in normalised units; high where the data never went. Written
   * into `out` (allocated when not given) and returned.
   */
  score(
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    out?: Float32Array,
  ): Float32Array {
    const where = 'FamiliarityModel.score';
    if (!this.fitted)
      throw new Error(`${where}: the model is not fitted; fit it (or load a fitted one) first`);
    checkFiniteRows(where, 'observations', observations, rows, OBSERVATION_SIZE);
    checkActionRows(where, this.actionSpace, actions, rows);
    if (!out) out = new Float32Array(rows);
    else if (out.length < rows)
      throw new Error(`${where}: out holds ${out.length} numbers, expected ${rows}`);
    const width = this.inputSize;
    if (this.inputs.length < rows * width) this.inputs = new Float32Array(rows * width);
    this.encode(observations, actions, rows, this.inputs);
    this.scoreInputs(this.inputs, rows, out);
    return out;
  }

  /**
   * `score` divided by its `referenceQuantile` on validation data (p95 by default): a penalty relative to
   * what is normal. Throws before the model is fitted (there is no calibration yet).
   */
  relativeScore(
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    out?: Float32Array,
  ): Float32Array {
    const reference = this.quantile(this.config.referenceQuantile);
    const scores = this.score(observations, actions, rows, out);
    for (let r = 0; r < rows; r++) scores[r] = scores[r]! / reference;
    return scores;
  }

  /** The calibrated score at quantile level `q` (one of config.quantiles). */
  quantile(q: number): number {
    const c = this.calibration;
    if (!c)
      throw new Error('FamiliarityModel: no calibration yet; fit the model (or load a fitted one) first');
    const i = c.quantiles.indexOf(q);
    if (i < 0) {
      throw new Error(
        `FamiliarityModel: quantile ${q} was not recorded; recorded: ${JSON.stringify(c.quantiles)}`,
      );
    }
    // Never divide by zero: a perfect reconstruction of every validation row is not a scale.
    return Math.max(c.values[i]!, Number.MIN_VALUE);
  }

  /** Measures the score's quantiles on `t` (normally validation data) and stores them. */
  calibrate(t: Transitions): FamiliarityCalibration {
    checkTransitions('FamiliarityModel.calibrate', t, this.actionSpace);
    if (t.count === 0) throw new Error('FamiliarityModel.calibrate: no rows to calibrate on');
    const scores = new Float32Array(t.count);
    this.scoreInputs(this.encodeTransitions(t), t.count, scores);
    const sorted = Float64Array.from(scores).sort();
    this.calibration = {
      quantiles: [...this.config.quantiles],
      // Rounded to float32 as the file stores them, so a loaded model divides by the very same numbers.
      values: this.config.quantiles.map((q) => Math.fround(quantileOfSorted(sorted, q))),
      rows: t.count,
    };
    return this.calibration;
  }

  /**
   * Fits on `train`, early-stopping on the denoising loss of `validation` (one fixed noise draw, so epochs
   * compare), then calibrates on `validation`. The first fit sets the observation scaler; later fits warm-
   * start. Of the trainer's ValidationErrors only `loss` and `members` apply: `state`, `contacts` are empty
   * and `reward`, `outcome` are 0, as this model predicts none of them.
   */
  fit(
    train: EpisodeTransitions,
    validation: EpisodeTransitions,
    options: Partial<FitOptions> = {},
  ): FitReport {
    return runToEnd(this.fitSteps(train, validation, options));
  }

  /** `fit` as a generator that pauses after every gradient step and validation pass (fitLearnerSteps). */
  *fitSteps(
    train: EpisodeTransitions,
    validation: EpisodeTransitions,
    options: Partial<FitOptions> = {},
  ): Generator<void, FitReport, void> {
    checkTransitions('FamiliarityModel.fit: train', train, this.actionSpace);
    checkTransitions('FamiliarityModel.fit: validation', validation, this.actionSpace);
    if (train.count === 0 || validation.count === 0) {
      throw new Error(
        `FamiliarityModel.fit: needs training and validation rows, got ${train.count} and ${validation.count}`,
      );
    }
    if (!this.fitted) this.observationScaler.fit(train.observations, train.count);
    this.fitted = true;
    const width = this.inputSize;
    const trainInputs = this.encodeTransitions(train);
    const validInputs = this.encodeTransitions(validation);
    // One fixed corruption of the validation rows.
    const noiseRng = new Rng(this.config.seed + 1);
    const noisyValid = validInputs.map((v) => v + this.config.noiseStd * noiseRng.normal());
    const dae = this.autoencoder;
    let batch = new Float32Array(0);
    const report = yield* fitLearnerSteps(
      {
        parameters: () => dae.parameters(),
        trainingRows: train.count,
        trainingLoss: (batchSize: number, rng: Rng): Tensor => {
          if (batch.length !== batchSize * width) batch = new Float32Array(batchSize * width);
          for (let i = 0; i < batchSize; i++) {
            const r = rng.integer(0, train.count);
            batch.set(trainInputs.subarray(r * width, (r + 1) * width), i * width);
          }
          return dae.loss(tensor(batch, [batchSize, width]), rng);
        },
        validate: (): ValidationErrors => {
          let total = 0;
          noGrad(() => {
            for (let start = 0; start < validation.count; start += CHUNK) {
              const n = Math.min(CHUNK, validation.count - start);
              tidy(() => {
                const y = dae.forward(
                  tensor(noisyValid.subarray(start * width, (start + n) * width), [n, width]),
                );
                for (let i = 0; i < n * width; i++) {
                  const diff = y.data[i]! - validInputs[start * width + i]!;
                  total += diff * diff;
                }
              });
            }
          });
          const loss = total / (validation.count * width);
          return { loss, state: [], reward: 0, contacts: [], outcome: 0, members: [loss] };
        },
        snapshot: () => dae.parameters().map((p) => p.data.slice()),
        restore: (snapshot) => {
          dae.parameters().forEach((p, i) => {
            p.data.set(snapshot[i]!);
          });
        },
      },
      options,
    );
    yield;
    this.calibrate(validation);
    return report;
  }

  /** Writes the weights, the observation scaler, the calibration and the config, atomically. */
  save(file: string, metadata: Record<string, string> = {}): void {
    if (!this.calibration)
      throw new Error(`FamiliarityModel.save: fit the model before saving it to ${file}`);
    saveModelFile(
      file,
      this.kind,
      { actionSpace: this.actionSpace, ...this.config, calibrationRows: this.calibration.rows },
      this.autoencoder,
      {
        'scaler.observation': this.observationScaler.toArray(),
        calibration: Float32Array.from(this.calibration.values),
      },
      metadata,
    );
  }

  static load(file: string): FamiliarityModel {
    const contents = readModelFile(file);
    if (contents.kind !== 'dae')
      throw new Error(`FamiliarityModel.load: ${file} holds a '${contents.kind}' model`);
    const { actionSpace, calibrationRows, ...config } = contents.config as FamiliarityModelConfig & {
      actionSpace: ModelActionSpace;
      calibrationRows: number;
    };
    const model = new FamiliarityModel(actionSpace, config);
    model.autoencoder.loadStateDict(contents.state, { source: file });
    model.observationScaler.fromArray(
      extraArray(contents, 'scaler.observation', 2 * OBSERVATION_SIZE, file),
      `${file}: 'scaler.observation'`,
    );
    const values = extraArray(contents, 'calibration', config.quantiles.length, file);
    model.calibration = {
      quantiles: [...config.quantiles],
      values: Array.from(values),
      rows: calibrationRows,
    };
    model.fitted = true;
    return model;
  }
}
