/**
 * `inverse`: an inverse dynamics model, a ≈ f(s, s') (the article lists inverse models among the world
 * models worth having). Its input is the normalised observation and the normalised change of the 6
 * continuous state numbers, s' - s (the change carries the action's effect; the observation, what it
 * depends on, such as the angle). A discrete action is a categorical over the n actions (cross-entropy);
 * a continuous one a Gaussian mean of fixed variance (squared error).
 *
 * `plausibility` checks that a transition, an imagined one above all, is one some action could make:
 *   - discrete: the probability of the most likely action, in [1/n, 1]; high is plausible. A transition no
 *     action makes (or that several make alike) spreads the probability.
 *   - continuous: a reconstruction error, lower is plausible. A second network, the forward check
 *     g(s, a) ≈ normalised s' - s, is trained beside the inverse one on the true actions; the error is
 *     |g(s, f(s, s')) - (s' - s)|² per change number, in normalised units. An action's mean alone cannot
 *     tell (LunarLanderContinuous ignores a main throttle below 0, so many actions make one transition, and
 *     the mean of an impossible transition is still some action); whether the predicted action remakes the
 *     transition can.
 */
import { type Activation, crossEntropy, MLP, Module, mse } from '../../nn/index.ts';
import { noGrad, Rng, type Tensor, tensor, tidy } from '../../tensor/index.ts';
import type { EpisodeTransitions } from './dynamics-model.ts';
import {
  checkFiniteRows,
  checkTransitions,
  type ModelActionSpace,
  OBSERVATION_SIZE,
  STATE_DIMS,
  type Transitions,
} from './lander-layout.ts';
import { extraArray, readModelFile, saveModelFile } from './model-file.ts';
import { Standardizer } from './standardizer.ts';
import { type FitOptions, type FitReport, fitLearner, type ValidationErrors } from './trainer.ts';

/** Rows per forward pass over many rows (bounds the activations). */
const CHUNK = 2048;
/** Input numbers: the normalised observation and the normalised change of the continuous state. */
const INPUT_SIZE = OBSERVATION_SIZE + STATE_DIMS;

export interface InverseModelConfig {
  /** Hidden layer sizes of the inverse network f(s, s'). */
  hiddenSizes: number[];
  /** Hidden layer sizes of the forward check g(s, a) (built for continuous actions only). */
  forwardHiddenSizes: number[];
  /** Hidden activation of both. */
  activation: Activation;
  /** Seed of the initial weights. */
  seed: number;
}

export const defaultInverseModelConfig: Readonly<InverseModelConfig> = Object.freeze({
  hiddenSizes: [64, 64],
  forwardHiddenSizes: [64, 64],
  activation: 'silu' as Activation,
  seed: 1,
});

/** What `evaluate` measures on held-out transitions. */
export interface InverseEvaluation {
  rows: number;
  /** Discrete: the fraction of rows whose most likely action is the one taken; null when continuous. */
  accuracy: number | null;
  /** Discrete: mean negative log-probability of the action taken; null when continuous. */
  crossEntropy: number | null;
  /** Continuous: mean squared error of the predicted mean per action number; null when discrete. */
  actionMse: number | null;
  /** The mean of `plausibility` over the rows. */
  meanPlausibility: number;
}

/** The inverse network and, for continuous actions, the forward check, as one module (one file). */
class InverseNetwork extends Module {
  readonly inverse: MLP;
  readonly forwardCheck: MLP | null;

  constructor(actionSpace: ModelActionSpace, config: InverseModelConfig) {
    super();
    const rng = new Rng(config.seed);
    const outputs = 'n' in actionSpace ? actionSpace.n : actionSpace.size;
    this.inverse = this.registerModule(
      'inverse',
      new MLP([INPUT_SIZE, ...config.hiddenSizes, outputs], { rng, activation: config.activation }),
    );
    this.forwardCheck =
      'n' in actionSpace
        ? null
        : this.registerModule(
            'forwardCheck',
            new MLP([OBSERVATION_SIZE + actionSpace.size, ...config.forwardHiddenSizes, STATE_DIMS], {
              rng,
              activation: config.activation,
            }),
          );
  }
}

export class InverseModel {
  readonly kind = 'inverse';
  readonly config: InverseModelConfig;
  /** What `plausibility` returns: a probability (high is plausible) or an error (low is plausible). */
  readonly plausibilityKind: 'maxProbability' | 'reconstructionError';
  readonly observationScaler = new Standardizer(OBSERVATION_SIZE);
  /** Normalises s' - s of the 6 continuous numbers. */
  readonly changeScaler = new Standardizer(STATE_DIMS);
  private readonly network: InverseNetwork;
  private readonly outputs: number;
  private fitted = false;

  constructor(
    readonly actionSpace: ModelActionSpace,
    overrides: Partial<InverseModelConfig> = {},
  ) {
    const config = { ...defaultInverseModelConfig, ...overrides };
    for (const key of ['hiddenSizes', 'forwardHiddenSizes'] as const) {
      if (!Array.isArray(config[key]) || config[key].length === 0) {
        throw new Error(`InverseModel: ${key} = ${JSON.stringify(config[key])}; expected a non-empty list`);
      }
    }
    this.config = config;
    this.network = new InverseNetwork(actionSpace, config);
    this.outputs = 'n' in actionSpace ? actionSpace.n : actionSpace.size;
    this.plausibilityKind = 'n' in actionSpace ? 'maxProbability' : 'reconstructionError';
  }

  /** Numbers per row of `predict`'s output: n probabilities or `size` means. */
  get outputSize(): number {
    return this.outputs;
  }

  /** Normalised inputs [rows, 14] and normalised changes [rows, 6] of `rows` transitions. */
  private encode(
    observations: Float32Array,
    nextObservations: Float32Array,
    rows: number,
  ): { inputs: Float32Array; change: Float32Array } {
    const inputs = new Float32Array(rows * INPUT_SIZE);
    const change = new Float32Array(rows * STATE_DIMS);
    const o = this.observationScaler;
    const c = this.changeScaler;
    for (let r = 0; r < rows; r++) {
      const base = r * OBSERVATION_SIZE;
      for (let j = 0; j < OBSERVATION_SIZE; j++) {
        inputs[r * INPUT_SIZE + j] = (observations[base + j]! - o.mean[j]!) / o.std[j]!;
      }
      for (let j = 0; j < STATE_DIMS; j++) {
        const v = (nextObservations[base + j]! - observations[base + j]! - c.mean[j]!) / c.std[j]!;
        change[r * STATE_DIMS + j] = v;
        inputs[r * INPUT_SIZE + OBSERVATION_SIZE + j] = v;
      }
    }
    return { inputs, change };
  }

  /** Forward-check inputs [rows, 8 + size]: the normalised observation (from `inputs`) and `actions`. */
  private forwardInputs(inputs: Float32Array, actions: ArrayLike<number>, rows: number): Float32Array {
    const a = this.outputs;
    const width = OBSERVATION_SIZE + a;
    const out = new Float32Array(rows * width);
    for (let r = 0; r < rows; r++) {
      out.set(inputs.subarray(r * INPUT_SIZE, r * INPUT_SIZE + OBSERVATION_SIZE), r * width);
      for (let j = 0; j < a; j++) out[r * width + OBSERVATION_SIZE + j] = actions[r * a + j]!;
    }
    return out;
  }

  private checkBatch(
    where: string,
    observations: Float32Array,
    nextObservations: Float32Array,
    rows: number,
    out: Float32Array | undefined,
    outWidth: number,
  ): void {
    if (!this.fitted)
      throw new Error(`${where}: the model is not fitted; fit it (or load a fitted one) first`);
    checkFiniteRows(where, 'observations', observations, rows, OBSERVATION_SIZE);
    checkFiniteRows(where, 'nextObservations', nextObservations, rows, OBSERVATION_SIZE);
    if (out && out.length < rows * outWidth) {
      throw new Error(`${where}: out holds ${out.length} numbers, expected ${rows} rows x ${outWidth}`);
    }
  }

  /** Raw network outputs (logits or means) [rows, outputs] of normalised `inputs`. */
  private run(inputs: Float32Array, rows: number): Float32Array {
    const out = new Float32Array(rows * this.outputs);
    noGrad(() => {
      for (let start = 0; start < rows; start += CHUNK) {
        const n = Math.min(CHUNK, rows - start);
        tidy(() => {
          const x = tensor(inputs.subarray(start * INPUT_SIZE, (start + n) * INPUT_SIZE), [n, INPUT_SIZE]);
          const y = this.network.inverse.forward(x);
          out.set('n' in this.actionSpace ? y.softmax(-1).data : y.data, start * this.outputs);
        });
      }
    });
    return out;
  }

  /**
   * The action behind each of `rows` transitions (observations and next observations [rows, 8]): the
   * probability of each action [rows, n] when discrete, the mean [rows, size] when continuous.
   */
  predict(
    observations: Float32Array,
    nextObservations: Float32Array,
    rows: number,
    out?: Float32Array,
  ): Float32Array {
    this.checkBatch('InverseModel.predict', observations, nextObservations, rows, out, this.outputs);
    const { inputs } = this.encode(observations, nextObservations, rows);
    const result = out ?? new Float32Array(rows * this.outputs);
    result.set(this.run(inputs, rows));
    return result;
  }

  /** Per row, how well some action explains the transition; see the file's comment and plausibilityKind. */
  plausibility(
    observations: Float32Array,
    nextObservations: Float32Array,
    rows: number,
    out?: Float32Array,
  ): Float32Array {
    this.checkBatch('InverseModel.plausibility', observations, nextObservations, rows, out, 1);
    const { inputs, change } = this.encode(observations, nextObservations, rows);
    const result = out ?? new Float32Array(rows);
    this.plausibilityOf(inputs, change, this.run(inputs, rows), rows, result);
    return result;
  }

  private plausibilityOf(
    inputs: Float32Array,
    change: Float32Array,
    predicted: Float32Array,
    rows: number,
    out: Float32Array,
  ): void {
    const k = this.outputs;
    const check = this.network.forwardCheck;
    if (!check) {
      for (let r = 0; r < rows; r++) {
        let best = 0;
        for (let j = 0; j < k; j++) best = Math.max(best, predicted[r * k + j]!);
        out[r] = best;
      }
      return;
    }
    const fin = this.forwardInputs(inputs, predicted, rows);
    const width = OBSERVATION_SIZE + k;
    noGrad(() => {
      for (let start = 0; start < rows; start += CHUNK) {
        const n = Math.min(CHUNK, rows - start);
        tidy(() => {
          const y = check.forward(tensor(fin.subarray(start * width, (start + n) * width), [n, width])).data;
          for (let i = 0; i < n; i++) {
            let total = 0;
            for (let j = 0; j < STATE_DIMS; j++) {
              const diff = y[i * STATE_DIMS + j]! - change[(start + i) * STATE_DIMS + j]!;
              total += diff * diff;
            }
            out[start + i] = total / STATE_DIMS;
          }
        });
      }
    });
  }

  /** Accuracy, cross-entropy or action error, and mean plausibility on (held-out) transitions `t`. */
  evaluate(t: Transitions): InverseEvaluation {
    const where = 'InverseModel.evaluate';
    checkTransitions(where, t, this.actionSpace);
    if (t.count === 0) throw new Error(`${where}: no rows to evaluate`);
    this.checkBatch(where, t.observations, t.nextObservations, t.count, undefined, 0);
    const rows = t.count;
    const k = this.outputs;
    const { inputs, change } = this.encode(t.observations, t.nextObservations, rows);
    const predicted = this.run(inputs, rows);
    const plausibility = new Float32Array(rows);
    this.plausibilityOf(inputs, change, predicted, rows, plausibility);
    const meanPlausibility = plausibility.reduce((s, v) => s + v, 0) / rows;
    if ('n' in this.actionSpace) {
      let correct = 0;
      let nll = 0;
      for (let r = 0; r < rows; r++) {
        const taken = t.actions[r]!;
        let best = 0;
        for (let j = 1; j < k; j++) if (predicted[r * k + j]! > predicted[r * k + best]!) best = j;
        if (best === taken) correct++;
        nll -= Math.log(Math.max(predicted[r * k + taken]!, 1e-30));
      }
      return { rows, accuracy: correct / rows, crossEntropy: nll / rows, actionMse: null, meanPlausibility };
    }
    let total = 0;
    for (let i = 0; i < rows * k; i++) {
      const diff = predicted[i]! - t.actions[i]!;
      total += diff * diff;
    }
    return { rows, accuracy: null, crossEntropy: null, actionMse: total / (rows * k), meanPlausibility };
  }

  /** Discrete actions: the fraction of `t`'s rows whose most likely action is the one taken. */
  accuracy(t: Transitions): number {
    if (!('n' in this.actionSpace)) {
      throw new Error(
        'InverseModel.accuracy: continuous actions have no accuracy; use evaluate(t).actionMse',
      );
    }
    return this.evaluate(t).accuracy!;
  }

  /**
   * Fits on `train`, early-stopping on the loss of `validation`: cross-entropy (discrete), or the squared
   * error of the action mean plus that of the forward check (continuous). The first fit sets the scalers;
   * later fits warm-start. Of the trainer's ValidationErrors, `state` holds the forward check's squared
   * error per change number (continuous; empty when discrete); `contacts` is empty and `reward`, `outcome`
   * are 0, as this model predicts none of them.
   */
  fit(
    train: EpisodeTransitions,
    validation: EpisodeTransitions,
    options: Partial<FitOptions> = {},
  ): FitReport {
    checkTransitions('InverseModel.fit: train', train, this.actionSpace);
    checkTransitions('InverseModel.fit: validation', validation, this.actionSpace);
    if (train.count === 0 || validation.count === 0) {
      throw new Error(
        `InverseModel.fit: needs training and validation rows, got ${train.count} and ${validation.count}`,
      );
    }
    if (!this.fitted) {
      this.observationScaler.fit(train.observations, train.count);
      const change = new Float32Array(train.count * STATE_DIMS);
      for (let r = 0; r < train.count; r++) {
        for (let j = 0; j < STATE_DIMS; j++) {
          const k = r * OBSERVATION_SIZE + j;
          change[r * STATE_DIMS + j] = train.nextObservations[k]! - train.observations[k]!;
        }
      }
      this.changeScaler.fit(change, train.count);
      this.fitted = true;
    }
    const discrete = 'n' in this.actionSpace;
    const a = this.outputs;
    const fwidth = OBSERVATION_SIZE + a;
    const tr = this.encode(train.observations, train.nextObservations, train.count);
    const va = this.encode(validation.observations, validation.nextObservations, validation.count);
    const trForward = discrete ? null : this.forwardInputs(tr.inputs, train.actions, train.count);
    const vaForward = discrete ? null : this.forwardInputs(va.inputs, validation.actions, validation.count);
    const net = this.network;
    const check = net.forwardCheck;

    /** The loss of rows `indices` (or `start`..`start + n`) of one data set, and the check's errors. */
    const lossOf = (
      inputs: Float32Array,
      change: Float32Array,
      fin: Float32Array | null,
      actions: ArrayLike<number>,
      indices: ArrayLike<number>,
    ): { loss: Tensor; checkErrors: Float32Array | null } => {
      const n = indices.length;
      const x = new Float32Array(n * INPUT_SIZE);
      const targets = new Float32Array(n * (discrete ? 1 : a));
      for (let i = 0; i < n; i++) {
        const r = indices[i]!;
        x.set(inputs.subarray(r * INPUT_SIZE, (r + 1) * INPUT_SIZE), i * INPUT_SIZE);
        if (discrete) targets[i] = actions[r]!;
        else for (let j = 0; j < a; j++) targets[i * a + j] = actions[r * a + j]!;
      }
      const y = net.inverse.forward(tensor(x, [n, INPUT_SIZE]));
      if (discrete || !check || !fin) return { loss: crossEntropy(y, targets), checkErrors: null };
      const f = new Float32Array(n * fwidth);
      const c = new Float32Array(n * STATE_DIMS);
      for (let i = 0; i < n; i++) {
        const r = indices[i]!;
        f.set(fin.subarray(r * fwidth, (r + 1) * fwidth), i * fwidth);
        c.set(change.subarray(r * STATE_DIMS, (r + 1) * STATE_DIMS), i * STATE_DIMS);
      }
      const g = check.forward(tensor(f, [n, fwidth]));
      const checkErrors = new Float32Array(STATE_DIMS);
      for (let i = 0; i < n * STATE_DIMS; i++) {
        const diff = g.data[i]! - c[i]!;
        checkErrors[i % STATE_DIMS]! += diff * diff;
      }
      const loss = mse(y, tensor(targets, [n, a])).add(mse(g, tensor(c, [n, STATE_DIMS])));
      return { loss, checkErrors };
    };

    let indices = new Int32Array(0);
    const report = fitLearner(
      {
        parameters: () => net.parameters(),
        trainingRows: train.count,
        trainingLoss: (batchSize: number, rng: Rng): Tensor => {
          if (indices.length !== batchSize) indices = new Int32Array(batchSize);
          for (let i = 0; i < batchSize; i++) indices[i] = rng.integer(0, train.count);
          return lossOf(tr.inputs, tr.change, trForward, train.actions, indices).loss;
        },
        validate: (): ValidationErrors => {
          let total = 0;
          const state = discrete ? [] : new Array<number>(STATE_DIMS).fill(0);
          noGrad(() => {
            for (let start = 0; start < validation.count; start += CHUNK) {
              const n = Math.min(CHUNK, validation.count - start);
              const rows = Int32Array.from({ length: n }, (_, i) => start + i);
              tidy(() => {
                const { loss, checkErrors } = lossOf(
                  va.inputs,
                  va.change,
                  vaForward,
                  validation.actions,
                  rows,
                );
                total += loss.item() * n;
                if (checkErrors) for (let j = 0; j < STATE_DIMS; j++) state[j]! += checkErrors[j]!;
              });
            }
          });
          const loss = total / validation.count;
          return {
            loss,
            state: state.map((v) => v / validation.count),
            reward: 0,
            contacts: [],
            outcome: 0,
            members: [loss],
          };
        },
        snapshot: () => net.parameters().map((p) => p.data.slice()),
        restore: (snapshot) => {
          net.parameters().forEach((p, i) => {
            p.data.set(snapshot[i]!);
          });
        },
      },
      options,
    );
    return report;
  }

  /** Writes the weights, both scalers and the config, atomically. */
  save(file: string, metadata: Record<string, string> = {}): void {
    if (!this.fitted) throw new Error(`InverseModel.save: fit the model before saving it to ${file}`);
    saveModelFile(
      file,
      this.kind,
      { actionSpace: this.actionSpace, ...this.config },
      this.network,
      {
        'scaler.observation': this.observationScaler.toArray(),
        'scaler.change': this.changeScaler.toArray(),
      },
      metadata,
    );
  }

  static load(file: string): InverseModel {
    const contents = readModelFile(file);
    if (contents.kind !== 'inverse')
      throw new Error(`InverseModel.load: ${file} holds a '${contents.kind}' model`);
    const { actionSpace, ...config } = contents.config as InverseModelConfig & {
      actionSpace: ModelActionSpace;
    };
    const model = new InverseModel(actionSpace, config);
    model.network.loadStateDict(contents.state, { source: file });
    model.observationScaler.fromArray(
      extraArray(contents, 'scaler.observation', 2 * OBSERVATION_SIZE, file),
      `${file}: 'scaler.observation'`,
    );
    model.changeScaler.fromArray(
      extraArray(contents, 'scaler.change', 2 * STATE_DIMS, file),
      `${file}: 'scaler.change'`,
    );
    model.fitted = true;
    return model;
  }
}
