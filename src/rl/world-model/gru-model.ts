/**
 * `gru`: a recurrent delta-state model (issue 11). Each step's input is the normalised observation and the
 * encoded action (model-data.ts), optionally through a small input MLP, into a GRU cell whose hidden state
 * carries the history; a linear head turns the hidden state into the step's outputs in the layout every
 * lander model shares (lander-layout.ts: state change, contact logits, reward, outcome logits), trained with
 * the same loss (model-loss.ts, no log-variance).
 *
 * Why history: Box2D puts a body to sleep (the +100 "at rest" ending) only after it has been still for a
 * while, so one observation cannot tell "at rest" from "slow"; the steps before it can.
 *
 * Training draws windows of `window` consecutive transitions inside one episode (rows grouped by episode
 * id and ordered by step index; a window stops at the episode's last row, so never runs past a terminal
 * step). The hidden state at a window's start is warmed on up to `warmup` earlier real steps of the same
 * episode with teacher forcing and no loss (zeros at the episode's start); gradients flow through the
 * warm-up too. Over the window the loss of every step is taken against the real targets. With `openLoop`
 * (the default) the observation fed at each step after the first is the model's own prediction of it: the
 * predicted change added to the previous input observation through the scalers, the contacts as predicted
 * probabilities, with the real actions, and gradients flow back through those predictions, so the model
 * learns not to compound its own errors (a multi-step loss). With `openLoop: false` every step sees the
 * real observation (teacher forcing).
 * Validation tiles each validation episode with windows the same way (each transition once) and early
 * stops on their loss.
 *
 * Memory at prediction: `predict` takes each copy's hidden state [rows, hidden] and updates it in place
 * (zeros = an episode's start). A model environment that branches from a real state in the middle of an
 * episode warms the memory with `warmMemory` on the real steps before it, as training warms a window.
 */
import { ACTIVATIONS, type Activation, GRUCell, Linear, MLP, Module } from '../../nn/index.ts';
import {
  concat,
  gradBuffer,
  needsGrad,
  noGrad,
  Rng,
  recordGraph,
  resultTensor,
  type Tensor,
  tidy,
  trackedTensor,
  zeros,
} from '../../tensor/index.ts';
import { allocatePrediction, decodeOutputs } from './decode-outputs.ts';
import type { DynamicsModel, DynamicsPrediction, EpisodeTransitions } from './dynamics-model.ts';
import { indexEpisodes } from './episode-index.ts';
import {
  CONTACT_DIMS,
  checkTransitions,
  type ModelActionSpace,
  OBSERVATION_SIZE,
  OUT_CONTACTS,
  OUT_DELTA,
  OUTCOMES,
  OUTPUT_SIZE,
  rawActionSize,
  STATE_DIMS,
} from './lander-layout.ts';
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
import { readModelFile, saveModelFile } from './model-file.ts';
import { landerModelLoss } from './model-loss.ts';
import {
  checkOutcomeWeights,
  fitOutcomeOffsets,
  readOutcomeOffsets,
  weightOffsets,
} from './outcome-calibration.ts';
import {
  type FitOptions,
  type FitReport,
  fitLearner,
  type Learner,
  meanErrors,
  memberErrors,
  requireUnweightedContacts,
  type ValidationErrors,
} from './trainer.ts';

export interface GruModelConfig {
  /** Size of the GRU's hidden state, the memory each copy carries between steps. Default 128. */
  hiddenSize: number;
  /** Hidden layer sizes of the input MLP before the GRU; [] feeds the GRU the inputs directly. Default [128]. */
  inputHiddenSizes: number[];
  /** Activation of the input MLP's layers (all of them, its last included). Default 'silu'. */
  activation: Activation;
  /** Transitions per training window: the horizon of the multi-step loss. Default 16. */
  window: number;
  /**
   * Most real steps before a window that warm its hidden state (teacher-forced, no loss). Default 8. Box2D
   * puts a body to sleep (+100, at rest) after 25 still steps (0.5 s): 24 lets every window step see that.
   */
  warmup: number;
  /** Feed the model its own predictions over a window (true) or the real observations (teacher forcing). Default true. */
  openLoop: boolean;
  /** Seed of the initial weights. Default 1. */
  seed: number;
}

export const defaultGruModelConfig: Readonly<GruModelConfig> = Object.freeze({
  hiddenSize: 128,
  inputHiddenSizes: [128],
  activation: 'silu' as Activation,
  window: 16,
  warmup: 8,
  openLoop: true,
  seed: 1,
});

/** `overrides` over the defaults, checked; throws naming the bad field. */
export function resolveGruModelConfig(overrides: Partial<GruModelConfig> = {}): GruModelConfig {
  for (const key of Object.keys(overrides)) {
    if (!(key in defaultGruModelConfig)) {
      throw new Error(
        `GruModel: unknown config field '${key}'; expected one of ${Object.keys(defaultGruModelConfig).join(', ')}`,
      );
    }
  }
  const c: GruModelConfig = { ...defaultGruModelConfig, ...overrides };
  const int = (key: 'hiddenSize' | 'window' | 'warmup' | 'seed', min: number): void => {
    const v = c[key];
    if (!Number.isSafeInteger(v) || v < min) {
      throw new Error(`GruModel: ${key} = ${v} is invalid; expected an integer >= ${min}`);
    }
  };
  int('hiddenSize', 1);
  int('window', 1);
  int('warmup', 0);
  int('seed', 0);
  if (
    !Array.isArray(c.inputHiddenSizes) ||
    !c.inputHiddenSizes.every((s) => Number.isSafeInteger(s) && s >= 1)
  ) {
    throw new Error(
      `GruModel: inputHiddenSizes = ${JSON.stringify(c.inputHiddenSizes)} is invalid; expected a list of positive integers`,
    );
  }
  if (!ACTIVATIONS.includes(c.activation)) {
    throw new Error(
      `GruModel: activation '${c.activation}' is invalid; expected one of ${ACTIVATIONS.join(', ')}`,
    );
  }
  if (typeof c.openLoop !== 'boolean') {
    throw new Error(`GruModel: openLoop = ${String(c.openLoop)} is invalid; expected true or false`);
  }
  return { ...c, inputHiddenSizes: [...c.inputHiddenSizes] };
}

/** Windows per forward pass when validating or evaluating, to bound the activations. */
const EVAL_CHUNK = 512;

/** The network: optional input MLP, a GRU cell, a linear head onto OUTPUT_SIZE. */
class GruNetwork extends Module {
  readonly encoder: MLP | null;
  readonly cell: GRUCell;
  readonly head: Linear;

  constructor(inputSize: number, config: GruModelConfig) {
    super();
    const rng = new Rng(config.seed);
    const sizes = config.inputHiddenSizes;
    this.encoder =
      sizes.length > 0
        ? this.registerModule(
            'encoder',
            new MLP([inputSize, ...sizes], {
              rng,
              activation: config.activation,
              outputActivation: config.activation,
            }),
          )
        : null;
    const cellInput = sizes.length > 0 ? sizes[sizes.length - 1]! : inputSize;
    this.cell = this.registerModule('cell', new GRUCell(cellInput, config.hiddenSize, { rng }));
    this.head = this.registerModule('head', new Linear(config.hiddenSize, OUTPUT_SIZE, { rng }));
  }

  /** One step: x [N, in] and h [N, H] to the next hidden state [N, H] and the outputs [N, OUTPUT_SIZE]. */
  step(x: Tensor, h: Tensor): { h: Tensor; out: Tensor } {
    const next = this.cell.forward(this.encoder ? this.encoder.forward(x) : x, h);
    return { h: next, out: this.head.forward(next) };
  }

  /** The next hidden state only (warm-up steps need no outputs). */
  advance(x: Tensor, h: Tensor): Tensor {
    return this.cell.forward(this.encoder ? this.encoder.forward(x) : x, h);
  }
}

/**
 * Rows ordered by (episode, step) and cut into segments of consecutive steps of one episode (episode-index.ts
 * links them); a segment also ends at a terminated row. Windows live inside one segment.
 */
interface EpisodeSegments {
  /** The transition row at each position. */
  rows: Int32Array;
  /** The position where each position's segment starts. */
  first: Int32Array;
  /** The position of each position's segment's last row (inclusive). */
  last: Int32Array;
}

function episodeSegments(where: string, t: EpisodeTransitions): EpisodeSegments {
  const n = t.count;
  const { order, previous } = indexEpisodes(t, where);
  const first = new Int32Array(n);
  const last = new Int32Array(n);
  let start = 0;
  for (let p = 0; p < n; p++) {
    const r = order[p]!;
    const continues = p > 0 && previous[r] === order[p - 1] && !t.terminated[order[p - 1]!];
    if (p > 0 && !continues) {
      last.fill(p - 1, start, p);
      start = p;
    }
    first[p] = start;
  }
  last.fill(n - 1, start, n);
  return { rows: order, first, last };
}

/** A batch of windows laid out time-major for the network, with the rows the loss reads. */
interface WindowBatch {
  capacity: number;
  /** Windows B in this batch. */
  windows: number;
  /** Window positions T (the longest window). */
  horizon: number;
  /** Warm-up positions W. */
  warm: number;
  /** [W, B, in] real inputs of the warm-up steps, right-aligned (a window's last warm-up step is W - 1). */
  warmInputs: Float32Array;
  /** [W, B] 1 where a window has a real warm-up step. */
  warmMask: Float32Array;
  /** [W] windows active at each warm-up position. */
  warmActive: Int32Array;
  /** [T, B, in] real inputs of the window steps (zeros past a window's end). */
  inputs: Float32Array;
  /** [B] steps in each window. */
  lengths: Int32Array;
  /** Valid (window, step) entries V, window-major. */
  count: number;
  /** [V] index t * B + b of each valid entry in the time-major outputs. */
  select: Int32Array;
  /** [V] the transition row of each valid entry. */
  rows: Int32Array;
  /** [V] the entry's step within its window. */
  entryStep: Int32Array;
}

function allocateWindowBatch(
  capacity: number,
  horizon: number,
  warm: number,
  inputSize: number,
): WindowBatch {
  const steps = horizon;
  return {
    capacity,
    windows: 0,
    horizon,
    warm,
    warmInputs: new Float32Array(warm * capacity * inputSize),
    warmMask: new Float32Array(warm * capacity),
    warmActive: new Int32Array(warm),
    inputs: new Float32Array(steps * capacity * inputSize),
    lengths: new Int32Array(capacity),
    count: 0,
    select: new Int32Array(steps * capacity),
    rows: new Int32Array(steps * capacity),
    entryStep: new Int32Array(steps * capacity),
  };
}

/**
 * Fills `batch` with the windows starting at positions `starts` of `index` (each up to batch.horizon long,
 * ending at its segment's end) and their warm-up (up to batch.warm earlier positions of the segment).
 */
function fillWindows(
  batch: WindowBatch,
  data: ModelData,
  index: EpisodeSegments,
  starts: ArrayLike<number>,
): void {
  const B = starts.length;
  const T = batch.horizon;
  const W = batch.warm;
  const w = data.inputSize;
  if (B > batch.capacity) throw new Error(`fillWindows: ${B} windows exceed the capacity ${batch.capacity}`);
  batch.windows = B;
  batch.warmInputs.fill(0, 0, W * B * w);
  batch.warmMask.fill(0, 0, W * B);
  batch.warmActive.fill(0);
  batch.inputs.fill(0, 0, T * B * w);
  let v = 0;
  for (let b = 0; b < B; b++) {
    const p = starts[b]!;
    const warmSteps = Math.min(W, p - index.first[p]!);
    for (let i = 0; i < warmSteps; i++) {
      const pos = W - warmSteps + i;
      const row = index.rows[p - warmSteps + i]!;
      batch.warmInputs.set(data.inputs.subarray(row * w, (row + 1) * w), (pos * B + b) * w);
      batch.warmMask[pos * B + b] = 1;
      batch.warmActive[pos]! += 1;
    }
    const length = Math.min(T, index.last[p]! - p + 1);
    batch.lengths[b] = length;
    for (let t = 0; t < length; t++) {
      const row = index.rows[p + t]!;
      batch.inputs.set(data.inputs.subarray(row * w, (row + 1) * w), (t * B + b) * w);
      batch.select[v] = t * B + b;
      batch.rows[v] = row;
      batch.entryStep[v] = t;
      v++;
    }
  }
  batch.count = v;
}

/** How the open-loop input turns a normalised prediction into the next normalised observation. */
interface FeedbackScales {
  /** dStd / oStd per state dimension: normalised delta output to normalised observation change. */
  scale: Float64Array;
  /** dMean / oStd per state dimension. */
  shift: Float64Array;
  /** Observation mean and std of the contact dimensions. */
  contactMean: Float64Array;
  contactStd: Float64Array;
}

function feedbackScales(scalers: LanderScalers): FeedbackScales {
  const { mean: oMean, std: oStd } = scalers.observation;
  const { mean: dMean, std: dStd } = scalers.delta;
  const f: FeedbackScales = {
    scale: new Float64Array(STATE_DIMS),
    shift: new Float64Array(STATE_DIMS),
    contactMean: new Float64Array(CONTACT_DIMS),
    contactStd: new Float64Array(CONTACT_DIMS),
  };
  for (let j = 0; j < STATE_DIMS; j++) {
    f.scale[j] = dStd[j]! / oStd[j]!;
    f.shift[j] = dMean[j]! / oStd[j]!;
  }
  for (let j = 0; j < CONTACT_DIMS; j++) {
    f.contactMean[j] = oMean[STATE_DIMS + j]!;
    f.contactStd[j] = oStd[STATE_DIMS + j]!;
  }
  return f;
}

/**
 * The open-loop input of the next step [B, in]: the previous input's normalised observation `prev` plus
 * the predicted change `out` (normalised outputs) through the scalers, the contacts as predicted
 * probabilities (normalised), and the encoded actions from `real` [B, in]. Differentiable in prev and out.
 */
function openLoopInput(prev: Tensor, out: Tensor, real: Float32Array, f: FeedbackScales): Tensor {
  const B = prev.shape[0]!;
  const w = prev.shape[1]!;
  const next = resultTensor([B, w]);
  const p = prev.data;
  const o = out.data;
  const d = next.data;
  for (let b = 0; b < B; b++) {
    const ib = b * w;
    const ob = b * OUTPUT_SIZE;
    for (let j = 0; j < STATE_DIMS; j++)
      d[ib + j] = p[ib + j]! + o[ob + OUT_DELTA + j]! * f.scale[j]! + f.shift[j]!;
    for (let j = 0; j < CONTACT_DIMS; j++) {
      const prob = 1 / (1 + Math.exp(-o[ob + OUT_CONTACTS + j]!));
      d[ib + STATE_DIMS + j] = (prob - f.contactMean[j]!) / f.contactStd[j]!;
    }
    for (let j = OBSERVATION_SIZE; j < w; j++) d[ib + j] = real[ib + j]!;
  }
  if (needsGrad([prev, out])) {
    recordGraph(
      next,
      [prev, out],
      (g) => {
        const gp = gradBuffer(prev);
        const go = gradBuffer(out);
        const od = out.data;
        for (let b = 0; b < B; b++) {
          const ib = b * w;
          const ob = b * OUTPUT_SIZE;
          for (let j = 0; j < STATE_DIMS; j++) {
            if (gp) gp[ib + j]! += g[ib + j]!;
            if (go) go[ob + OUT_DELTA + j]! += g[ib + j]! * f.scale[j]!;
          }
          if (go) {
            for (let j = 0; j < CONTACT_DIMS; j++) {
              const prob = 1 / (1 + Math.exp(-od[ob + OUT_CONTACTS + j]!));
              go[ob + OUT_CONTACTS + j]! += (g[ib + STATE_DIMS + j]! * prob * (1 - prob)) / f.contactStd[j]!;
            }
          }
        }
      },
      'openLoopInput',
    );
  }
  return next;
}

/** Rows `select` of x [R, C] as [V, C], differentiable. */
function selectRows(x: Tensor, select: Int32Array, count: number): Tensor {
  const C = x.shape[x.ndim - 1]!;
  const out = resultTensor([count, C]);
  const xd = x.data;
  const od = out.data;
  for (let i = 0; i < count; i++) od.set(xd.subarray(select[i]! * C, (select[i]! + 1) * C), i * C);
  if (needsGrad([x])) {
    recordGraph(
      out,
      [x],
      (g) => {
        const gx = gradBuffer(x);
        if (!gx) return;
        for (let i = 0; i < count; i++) {
          const from = i * C;
          const to = select[i]! * C;
          for (let c = 0; c < C; c++) gx[to + c]! += g[from + c]!;
        }
      },
      'selectRows',
    );
  }
  return out;
}

/** Per-step outputs of windows over some transitions, with what each output row predicts. */
export interface WindowEvaluation {
  /** [V, OUTPUT_SIZE] normalised outputs, window by window, step by step. */
  outputs: Float32Array;
  /** [V] the transition row each output predicts. */
  rows: Int32Array;
  /** [V] the output's step within its window (0 = the window's first). */
  steps: Int32Array;
  /** [V] the window each output belongs to. */
  windows: Int32Array;
  /** Errors of all outputs (normalised units, as fit's validation reports them). */
  errors: ValidationErrors;
  /** Mean over the 6 state dimensions of the squared normalised error of the change, at each window step. */
  stateByStep: number[];
}

export class GruModel implements DynamicsModel {
  readonly kind = 'gru';
  readonly members = 1;
  readonly elites: readonly number[] = [0];
  readonly scalers = new LanderScalers();
  readonly config: GruModelConfig;
  readonly memorySize: number;
  /** Class weights of the outcome loss, set by the first fit. */
  readonly outcomeWeights = new Float32Array([1, 1, 1]);
  /** Offsets added to the outcome logits (outcome-calibration.ts); -log w before a fit. */
  readonly outcomeOffsets = new Float32Array(3);
  private readonly network: GruNetwork;
  private fitted = false;
  private prediction: DynamicsPrediction | null = null;
  private inputs = new Float32Array(0);

  constructor(
    readonly actionSpace: ModelActionSpace,
    overrides: Partial<GruModelConfig> = {},
  ) {
    checkActionSpace(actionSpace);
    this.config = resolveGruModelConfig(overrides);
    this.memorySize = this.config.hiddenSize;
    this.network = new GruNetwork(modelInputSize(actionSpace), this.config);
  }

  get inputSize(): number {
    return modelInputSize(this.actionSpace);
  }

  /** The GRU's parameters (for tests and optimiser state). */
  parameters(): Tensor[] {
    return this.network.parameters();
  }

  /**
   * One step for `rows` copies. `memory` [rows, memorySize] is each copy's hidden state before the step
   * (zeros at an episode's start, or what `warmMemory` left) and receives the state after it. Required:
   * a GRU without its memory would predict as if every step began an episode.
   */
  predict(
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    memory: Float32Array | null,
  ): DynamicsPrediction {
    const H = this.memorySize;
    this.checkStepArguments('predict', observations, actions, rows, 1);
    if (!memory || memory.length < rows * H) {
      throw new Error(
        `GruModel.predict: memory holds ${memory ? memory.length : 'no'} numbers; expected [${rows}, ${H}] ` +
          '(zeros at an episode start)',
      );
    }
    const width = this.inputSize;
    if (this.inputs.length < rows * width) this.inputs = new Float32Array(rows * width);
    const inputs = this.inputs.subarray(0, rows * width);
    encodeInputs(this.actionSpace, this.scalers, observations, actions, rows, inputs);
    if (this.prediction?.rows !== rows) this.prediction = allocatePrediction(1, rows, false);
    const pred = this.prediction;
    noGrad(() =>
      tidy(() => {
        const h = trackedTensor(memory.subarray(0, rows * H), [rows, H]);
        const step = this.network.step(trackedTensor(inputs, [rows, width]), h);
        decodeOutputs(step.out.data, null, this.scalers, this.outcomeOffsets, pred);
        memory.set(step.h.data);
      }),
    );
    return pred;
  }

  /**
   * Warms the memory of `rows` copies on real history, as training warms a window: each copy's memory is
   * reset to zeros and run through its real steps with teacher forcing, and nothing is predicted.
   * `observations` [rows, k, 8] and `actions` [rows, k, raw action size] hold each copy's last k real steps,
   * right-aligned: copy r's `counts[r]` steps sit in its last positions (earlier positions are ignored;
   * a count of 0 leaves zeros, an episode's start), as `ReplayBuffer.windows` and `gather` lay them out.
   * To branch from the state a real row j led to (its next observation), pass the window ending at j; to
   * branch from row j's observation, the window ending at the row before it. Training warms on at most
   * `config.warmup` steps, so pass that many (fewer at an episode's start). `memory` [rows, memorySize] is
   * overwritten.
   */
  warmMemory(
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    k: number,
    counts: ArrayLike<number>,
    memory: Float32Array,
  ): void {
    const H = this.memorySize;
    if (!Number.isSafeInteger(k) || k < 0) {
      throw new Error(`GruModel.warmMemory: k = ${k} is invalid; expected an integer >= 0`);
    }
    this.checkStepArguments('warmMemory', observations, actions, rows, k);
    if (!memory || memory.length < rows * H) {
      throw new Error(
        `GruModel.warmMemory: memory holds ${memory ? memory.length : 'no'} numbers; expected [${rows}, ${H}]`,
      );
    }
    if (!counts || counts.length < rows) {
      throw new Error(
        `GruModel.warmMemory: counts holds ${counts ? counts.length : 'no'} numbers, expected ${rows}`,
      );
    }
    for (let r = 0; r < rows; r++) {
      const c = counts[r]!;
      if (!Number.isSafeInteger(c) || c < 0 || c > k) {
        throw new Error(
          `GruModel.warmMemory: counts[${r}] = ${c} is invalid; expected an integer in [0, ${k}]`,
        );
      }
    }
    memory.fill(0, 0, rows * H);
    const width = this.inputSize;
    const a = rawActionSize(this.actionSpace);
    const obs = new Float32Array(rows * OBSERVATION_SIZE);
    const act = new Float32Array(rows * a);
    const inputs = new Float32Array(rows * width);
    for (let t = 0; t < k; t++) {
      let active = 0;
      for (let r = 0; r < rows; r++) {
        const on = t >= k - counts[r]!;
        if (on) active++;
        const from = (r * k + t) * OBSERVATION_SIZE;
        if (on) obs.set(observations.subarray(from, from + OBSERVATION_SIZE), r * OBSERVATION_SIZE);
        else obs.fill(0, r * OBSERVATION_SIZE, (r + 1) * OBSERVATION_SIZE);
        for (let j = 0; j < a; j++) act[r * a + j] = on ? actions[(r * k + t) * a + j]! : 0;
      }
      if (active === 0) continue;
      encodeInputs(this.actionSpace, this.scalers, obs, act, rows, inputs);
      noGrad(() =>
        tidy(() => {
          const h = trackedTensor(memory.subarray(0, rows * H), [rows, H]);
          const next = this.network.advance(trackedTensor(inputs, [rows, width]), h).data;
          for (let r = 0; r < rows; r++) {
            if (t >= k - counts[r]!) memory.set(next.subarray(r * H, (r + 1) * H), r * H);
          }
        }),
      );
    }
  }

  fit(
    train: EpisodeTransitions,
    validation: EpisodeTransitions,
    options: Partial<FitOptions> = {},
  ): FitReport {
    const trainIndex = this.checkData('GruModel.fit: train', train);
    const validIndex = this.checkData('GruModel.fit: validation', validation);
    requireUnweightedContacts('GruModel.fit', options);
    if (!this.fitted) this.scalers.fit(train);
    const trainData = prepareModelData(train, this.actionSpace, this.scalers);
    const validData = prepareModelData(validation, this.actionSpace, this.scalers);
    if (!this.fitted) this.setOutcomeWeights(outcomeWeights(trainData.outcome));
    const report = fitLearner(this.learner(trainData, trainIndex, validData, validIndex), options);
    // Calibrate the outcome one step ahead from real history (warmed as in training), as the model is
    // judged and as a rollout's first step uses it.
    const run = this.runTiled(validData, validIndex, 1, false, 1);
    this.outcomeOffsets.set(
      fitOutcomeOffsets(
        run.outputs,
        run.targets.rows,
        run.targets.outcome,
        weightOffsets(this.outcomeWeights),
      ),
    );
    return report;
  }

  /**
   * Runs windows of `horizon` steps over `transitions` as training does (warm-up on up to `config.warmup`
   * earlier real steps, then open-loop or teacher-forced as `openLoop` says, by default the config's)
   * and reports every step's output and errors. Windows start every `stride` steps of each episode
   * (default `horizon`: each transition once) and end at the episode's last row.
   */
  evaluateWindows(
    transitions: EpisodeTransitions,
    horizon: number,
    options: { openLoop?: boolean; stride?: number } = {},
  ): WindowEvaluation {
    if (!Number.isSafeInteger(horizon) || horizon < 1) {
      throw new Error(`GruModel.evaluateWindows: horizon = ${horizon} is invalid; expected an integer >= 1`);
    }
    const stride = options.stride ?? horizon;
    if (!Number.isSafeInteger(stride) || stride < 1) {
      throw new Error(`GruModel.evaluateWindows: stride = ${stride} is invalid; expected an integer >= 1`);
    }
    const index = this.checkData('GruModel.evaluateWindows', transitions);
    const data = prepareModelData(transitions, this.actionSpace, this.scalers);
    const run = this.runTiled(data, index, horizon, options.openLoop ?? this.config.openLoop, stride);
    const stepError = new Float64Array(horizon);
    const stepCount = new Float64Array(horizon);
    for (let i = 0; i < run.targets.rows; i++) {
      let sq = 0;
      for (let j = 0; j < STATE_DIMS; j++) {
        const diff = run.outputs[i * OUTPUT_SIZE + OUT_DELTA + j]! - run.targets.delta[i * STATE_DIMS + j]!;
        sq += diff * diff;
      }
      stepError[run.steps[i]!]! += sq / STATE_DIMS;
      stepCount[run.steps[i]!]! += 1;
    }
    return {
      outputs: run.outputs,
      rows: run.rows,
      steps: run.steps,
      windows: run.windows,
      errors: meanErrors([memberErrors(run.outputs, null, run.targets, this.outcomeWeights)]),
      stateByStep: Array.from(stepError, (e, t) => (stepCount[t]! > 0 ? e / stepCount[t]! : 0)),
    };
  }

  save(file: string, metadata: Record<string, string> = {}): void {
    saveModelFile(
      file,
      this.kind,
      { actionSpace: this.actionSpace, ...this.config },
      this.network,
      {
        ...this.scalers.toArrays(),
        outcomeWeights: this.outcomeWeights,
        outcomeOffsets: this.outcomeOffsets,
        elites: Float32Array.of(0),
      },
      metadata,
    );
  }

  static load(file: string): GruModel {
    const contents = readModelFile(file);
    if (contents.kind !== 'gru') throw new Error(`GruModel.load: ${file} holds a '${contents.kind}' model`);
    const { actionSpace, ...config } = contents.config as GruModelConfig & { actionSpace: ModelActionSpace };
    const model = new GruModel(actionSpace, config);
    model.network.loadStateDict(contents.state, { source: file });
    model.scalers.fromArrays(contents.extra, file);
    model.setOutcomeWeights(checkOutcomeWeights(contents.extra.outcomeWeights, file));
    const offsets = readOutcomeOffsets(contents.extra, OUTCOMES.length, file);
    if (offsets) model.outcomeOffsets.set(offsets);
    return model;
  }

  private setOutcomeWeights(weights: Float32Array): void {
    this.outcomeWeights.set(weights);
    this.outcomeOffsets.set(weightOffsets(weights));
    this.fitted = true;
  }

  private checkStepArguments(
    where: string,
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    steps: number,
  ): void {
    if (!Number.isSafeInteger(rows) || rows < 0) {
      throw new Error(`GruModel.${where}: rows = ${rows} is invalid; expected an integer >= 0`);
    }
    const a = rawActionSize(this.actionSpace);
    if (observations.length < rows * steps * OBSERVATION_SIZE || actions.length < rows * steps * a) {
      throw new Error(
        `GruModel.${where}: ${observations.length} observation and ${actions.length} action numbers do not ` +
          `fit ${rows} rows x ${steps} steps of ${OBSERVATION_SIZE} and ${a}`,
      );
    }
    if ('n' in this.actionSpace) {
      for (let i = 0; i < rows * steps; i++) {
        const v = actions[i]!;
        if (!Number.isInteger(v) || v < 0 || v >= this.actionSpace.n) {
          throw new Error(
            `GruModel.${where}: action ${v} of row ${i} is not an integer in [0, ${this.actionSpace.n})`,
          );
        }
      }
    }
  }

  /** Checks the numbers, the action space and the episode columns; returns the episode index. */
  private checkData(where: string, t: EpisodeTransitions): EpisodeSegments {
    if (!(t.count >= 1)) throw new Error(`${where}: no transitions (count = ${t.count})`);
    checkTransitions(where, t, this.actionSpace);
    return episodeSegments(where, t);
  }

  /** The normalised outputs [V, OUTPUT_SIZE] of the valid entries of `batch`, window-major. */
  private runWindows(batch: WindowBatch, openLoop: boolean, feedback: FeedbackScales): Tensor {
    const B = batch.windows;
    const H = this.memorySize;
    const w = this.inputSize;
    const net = this.network;
    let h = zeros([B, H]);
    for (let i = 0; i < batch.warm; i++) {
      const active = batch.warmActive[i]!;
      if (active === 0) continue;
      const x = trackedTensor(batch.warmInputs.subarray(i * B * w, (i + 1) * B * w), [B, w]);
      const next = net.advance(x, h);
      h = active === B ? next : next.mul(trackedTensor(batch.warmMask.subarray(i * B, (i + 1) * B), [B, 1]));
    }
    let steps = 0;
    for (let b = 0; b < B; b++) steps = Math.max(steps, batch.lengths[b]!);
    const outs: Tensor[] = [];
    let x: Tensor | null = null;
    for (let t = 0; t < steps; t++) {
      const real = batch.inputs.subarray(t * B * w, (t + 1) * B * w);
      const prevOut = outs[t - 1];
      x = openLoop && x && prevOut ? openLoopInput(x, prevOut, real, feedback) : trackedTensor(real, [B, w]);
      const step = net.step(x, h);
      h = step.h;
      outs.push(step.out);
    }
    const all = outs.length === 1 ? outs[0]! : concat(outs, 0);
    return selectRows(all, batch.select, batch.count);
  }

  /** Outputs of windows of `horizon` steps tiling every segment (starting every `stride` positions). */
  private runTiled(
    data: ModelData,
    index: EpisodeSegments,
    horizon: number,
    openLoop: boolean,
    stride: number,
  ): { outputs: Float32Array; targets: ModelData; rows: Int32Array; steps: Int32Array; windows: Int32Array } {
    const starts: number[] = [];
    for (let p = 0; p < index.rows.length; p++) if ((p - index.first[p]!) % stride === 0) starts.push(p);
    const feedback = feedbackScales(this.scalers);
    const chunk = Math.min(EVAL_CHUNK, starts.length);
    const batch = allocateWindowBatch(chunk, horizon, this.config.warmup, this.inputSize);
    const outputs: Float32Array[] = [];
    const rows: number[] = [];
    const steps: number[] = [];
    const windows: number[] = [];
    for (let s = 0; s < starts.length; s += chunk) {
      fillWindows(batch, data, index, starts.slice(s, s + chunk));
      noGrad(() =>
        tidy(() => {
          outputs.push(this.runWindows(batch, openLoop, feedback).data.slice());
        }),
      );
      let v = 0;
      for (let b = 0; b < batch.windows; b++) {
        for (let t = 0; t < batch.lengths[b]!; t++, v++) {
          rows.push(batch.rows[v]!);
          steps.push(batch.entryStep[v]!);
          windows.push(s + b);
        }
      }
    }
    const total = rows.length;
    const out = new Float32Array(total * OUTPUT_SIZE);
    let at = 0;
    for (const o of outputs) {
      out.set(o, at);
      at += o.length;
    }
    const targets = allocateModelData(total, data.inputSize);
    gatherRows(data, rows, targets);
    return {
      outputs: out,
      targets,
      rows: Int32Array.from(rows),
      steps: Int32Array.from(steps),
      windows: Int32Array.from(windows),
    };
  }

  private learner(
    train: ModelData,
    trainIndex: EpisodeSegments,
    valid: ModelData,
    validIndex: EpisodeSegments,
  ): Learner {
    const { window, warmup, openLoop } = this.config;
    const w = this.inputSize;
    const feedback = feedbackScales(this.scalers);
    let batch = allocateWindowBatch(0, window, warmup, w);
    let targets = allocateModelData(0, w);
    let starts = new Int32Array(0);
    return {
      parameters: () => this.network.parameters(),
      // A window may start at every training transition: an epoch draws as many windows as there are rows.
      trainingRows: train.rows,
      trainingLoss: (batchSize: number, rng: Rng): Tensor => {
        if (batch.capacity !== batchSize) {
          batch = allocateWindowBatch(batchSize, window, warmup, w);
          targets = allocateModelData(batchSize * window, w);
          starts = new Int32Array(batchSize);
        }
        for (let b = 0; b < batchSize; b++) starts[b] = rng.integer(0, train.rows);
        fillWindows(batch, train, trainIndex, starts);
        gatherRows(train, batch.rows.subarray(0, batch.count), targets);
        const out = this.runWindows(batch, openLoop, feedback);
        return landerModelLoss(out, null, targets, this.outcomeWeights).loss;
      },
      validate: () => {
        const run = this.runTiled(valid, validIndex, window, openLoop, window);
        return meanErrors([memberErrors(run.outputs, null, run.targets, this.outcomeWeights)]);
      },
      snapshot: () => this.network.parameters().map((p) => p.data.slice()),
      restore: (snapshot) => {
        this.network.parameters().forEach((p, i) => {
          p.data.set(snapshot[i]!);
        });
      },
    };
  }
}

function checkActionSpace(space: ModelActionSpace): void {
  const ok =
    space &&
    (('n' in space && Number.isSafeInteger(space.n) && space.n >= 1) ||
      ('size' in space && Number.isSafeInteger(space.size) && space.size >= 1));
  if (!ok) {
    throw new Error(
      `GruModel: action space ${JSON.stringify(space)} is invalid; expected { n } or { size } with a positive integer`,
    );
  }
}
