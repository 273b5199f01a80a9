/**
 * A replay buffer of real transitions (observation, action, reward, next observation, terminated,
 * truncated), with each row's episode id and step index within that episode, for fitting world models.
 *
 * Storage is columnar typed arrays of a fixed capacity, used as a ring: once full, each new row overwrites
 * the oldest. Rows are addressed by logical index, 0 the oldest row kept and `size - 1` the newest; an
 * index is valid until the next add shifts the ring.
 *
 * Rows come in streams, one per env copy: a stream's rows form its episodes in order, and a new episode
 * starts after a row that terminated or was truncated (or after `cutEpisodes`). The buffer hands out the
 * episode ids. Rows of the N copies of a vector env interleave, so each row also records how many rows
 * back its episode's previous row lies; windows follow that link and stop at an episode's start or at the
 * oldest row kept.
 */
import { readFileBytes, writeFileAtomic } from '../../nn/index.ts';
import type { Rng } from '../../tensor/index.ts';
import type { RlVectorStep } from '../vector-env.ts';
import { type EpisodeSplit, splitByEpisode } from './episode-split.ts';
import {
  decodeReplayBuffer,
  type ExpectedReplayBufferSizes,
  encodeReplayBuffer,
  type ReplayBufferState,
} from './replay-buffer-file.ts';
import { sampleRecentIndices, sampleUniformIndices } from './replay-sampling.ts';

export interface ReplayBufferOptions {
  observationSize: number;
  /** Numbers per action: 1 for a discrete action (its index), the box size for a continuous one. */
  actionSize: number;
  /** Rows kept; at most 2^24 so that indices save exactly as float32. */
  capacity: number;
}

export interface Transition {
  observation: ArrayLike<number>;
  /** A discrete action's index, or `actionSize` numbers. */
  action: number | ArrayLike<number>;
  reward: number;
  nextObservation: ArrayLike<number>;
  terminated: boolean;
  truncated: boolean;
}

/** One stored row; the arrays are views into the buffer, overwritten when the ring reaches the row. */
export interface StoredTransition {
  observation: Float32Array;
  action: Float32Array;
  reward: number;
  nextObservation: Float32Array;
  terminated: boolean;
  truncated: boolean;
  episode: number;
  /** Step index within the episode, 0 for its first transition. */
  step: number;
}

/**
 * Caller buffers for `gather`: each one given receives its column for the gathered rows, row r at
 * [r * width, (r + 1) * width). Index -1 (a masked window position) writes zeros.
 */
export interface TransitionBatch {
  observations?: Float32Array;
  actions?: Float32Array;
  rewards?: Float32Array;
  nextObservations?: Float32Array;
  terminated?: Float32Array | Uint8Array;
  truncated?: Float32Array | Uint8Array;
  episodes?: Float32Array | Int32Array;
  steps?: Float32Array | Int32Array;
}

/**
 * Windows of k rows, each ending at a requested row and reaching back within its episode. Window b is
 * [b * k, (b + 1) * k), right-aligned: the requested row is last, and when its episode (or what is left of
 * it) has fewer than k rows, the first k - count positions hold index -1 and mask 0.
 */
export interface ReplayWindows {
  indices: Int32Array;
  mask: Uint8Array;
  /** Rows present per window, 1 to k. */
  counts: Int32Array;
}

const MAX_CAPACITY = 2 ** 24;

export class ReplayBuffer {
  readonly observationSize: number;
  readonly actionSize: number;
  readonly capacity: number;
  private readonly observations: Float32Array;
  private readonly actions: Float32Array;
  private readonly rewards: Float32Array;
  private readonly nextObservations: Float32Array;
  private readonly terminated: Uint8Array;
  private readonly truncated: Uint8Array;
  private readonly episodes: Int32Array;
  private readonly steps: Int32Array;
  private readonly prevOffsets: Int32Array;
  private count = 0;
  private position = 0;
  private added = 0;
  private episodeCounter = 0;
  /** Per stream: open episode id (-1 none), its last step, and the ordinal (added count) of its last row. */
  private streamEpisodes: number[] = [];
  private streamSteps: number[] = [];
  private streamLast: number[] = [];

  constructor(options: ReplayBufferOptions) {
    const { observationSize, actionSize, capacity } = options;
    requireInt('observationSize', observationSize, 1, Number.MAX_SAFE_INTEGER);
    requireInt('actionSize', actionSize, 1, Number.MAX_SAFE_INTEGER);
    requireInt('capacity', capacity, 1, MAX_CAPACITY);
    this.observationSize = observationSize;
    this.actionSize = actionSize;
    this.capacity = capacity;
    this.observations = new Float32Array(capacity * observationSize);
    this.actions = new Float32Array(capacity * actionSize);
    this.rewards = new Float32Array(capacity);
    this.nextObservations = new Float32Array(capacity * observationSize);
    this.terminated = new Uint8Array(capacity);
    this.truncated = new Uint8Array(capacity);
    this.episodes = new Int32Array(capacity);
    this.steps = new Int32Array(capacity);
    this.prevOffsets = new Int32Array(capacity);
  }

  /** Rows stored (at most the capacity). */
  get size(): number {
    return this.count;
  }

  /** Rows ever added, overwritten ones included. */
  get totalAdded(): number {
    return this.added;
  }

  /** Episode ids handed out so far (ids are 0, 1, ...). */
  get episodesStarted(): number {
    return this.episodeCounter;
  }

  /** The physical slot the next row is written to. */
  get writePosition(): number {
    return this.position;
  }

  /** Adds one transition to `stream` (an env copy's index; 0 for a single env). */
  add(transition: Transition, stream = 0): void {
    requireInt('stream', stream, 0, Number.MAX_SAFE_INTEGER);
    const where = `ReplayBuffer.add: transition ${this.added} (stream ${stream})`;
    const { observation, action, nextObservation, reward } = transition;
    const actionValues = typeof action === 'number' ? [action] : action;
    checkRow(where, 'observation', observation, 0, this.observationSize, observation.length);
    checkRow(where, 'action', actionValues, 0, this.actionSize, actionValues.length);
    checkRow(where, 'nextObservation', nextObservation, 0, this.observationSize, nextObservation.length);
    checkRow(where, 'reward', [reward], 0, 1, 1);
    this.write(stream, observation, 0, actionValues, 0, reward, nextObservation, 0, {
      terminated: transition.terminated,
      truncated: transition.truncated,
    });
  }

  /**
   * Adds one step of a vector env: copy i's transition goes to stream i, from `observations` (what the
   * policy saw, copied before stepping, since the env overwrites its arrays) and `actions` to the step's
   * row. Where a copy's episode ended, its next observation is the row of `finalObservations`, not the
   * reset observation. `copies` limits the add to the first copies (to stop at an exact row count);
   * `firstStream` moves copy i to stream firstStream + i (a second env beside the first one's streams).
   * Every copy is checked before any is written, so a bad step leaves the buffer as it was.
   */
  addVectorStep(
    observations: Float32Array,
    actions: ArrayLike<number>,
    result: RlVectorStep,
    copies = result.rewards.length,
    firstStream = 0,
  ): void {
    const n = result.rewards.length;
    const obs = this.observationSize;
    const act = this.actionSize;
    const where = 'ReplayBuffer.addVectorStep';
    requireInt('copies', copies, 0, n);
    requireInt('firstStream', firstStream, 0, Number.MAX_SAFE_INTEGER);
    const lengths: [string, number, number][] = [
      ['observations', observations.length, n * obs],
      ['actions', actions.length, n * act],
      ['result.observations', result.observations.length, n * obs],
      ['result.finalObservations', result.finalObservations.length, n * obs],
      ['result.terminated', result.terminated.length, n],
      ['result.truncated', result.truncated.length, n],
    ];
    for (const [name, got, want] of lengths) {
      if (got !== want) {
        throw new RangeError(`${where}: ${name} holds ${got} numbers; expected ${want} (${n} copies)`);
      }
    }
    for (let i = 0; i < copies; i++) {
      const copy = `${where}: copy ${i}`;
      checkRow(copy, 'observation', observations, i * obs, obs, obs);
      checkRow(copy, 'action', actions, i * act, act, act);
      checkRow(copy, 'reward', result.rewards, i, 1, 1);
      checkRow(copy, 'nextObservation', nextSource(result, i), i * obs, obs, obs);
    }
    for (let i = 0; i < copies; i++) {
      this.write(
        firstStream + i,
        observations,
        i * obs,
        actions,
        i * act,
        result.rewards[i]!,
        nextSource(result, i),
        i * obs,
        {
          terminated: result.terminated[i] === 1,
          truncated: result.truncated[i] === 1,
        },
      );
    }
  }

  /**
   * Ends every open episode without a terminal flag, so each stream's next row starts a new episode: call
   * it when the env is reset mid-episode (a new collection, a rebuilt env).
   */
  cutEpisodes(): void {
    this.streamEpisodes.fill(-1);
  }

  /** Ends `stream`'s open episode without a terminal flag (its env copy was cut off midway), as `cutEpisodes`. */
  cutStream(stream: number): void {
    requireInt('stream', stream, 0, Number.MAX_SAFE_INTEGER);
    if (stream < this.streamEpisodes.length) this.streamEpisodes[stream] = -1;
  }

  /** Row `index` (logical) as views into the buffer. */
  view(index: number): StoredTransition {
    const s = this.slot(index, 'view');
    const obs = this.observationSize;
    const act = this.actionSize;
    return {
      observation: this.observations.subarray(s * obs, (s + 1) * obs),
      action: this.actions.subarray(s * act, (s + 1) * act),
      reward: this.rewards[s]!,
      nextObservation: this.nextObservations.subarray(s * obs, (s + 1) * obs),
      terminated: this.terminated[s] === 1,
      truncated: this.truncated[s] === 1,
      episode: this.episodes[s]!,
      step: this.steps[s]!,
    };
  }

  /** Copies rows `indices` (logical; -1 for zeros) into the columns given in `out`, for a minibatch. */
  gather(indices: ArrayLike<number>, out: TransitionBatch): void {
    const n = indices.length;
    const obs = this.observationSize;
    const act = this.actionSize;
    const targets: [keyof TransitionBatch, ArrayLike<number>, number][] = [
      ['observations', this.observations, obs],
      ['actions', this.actions, act],
      ['rewards', this.rewards, 1],
      ['nextObservations', this.nextObservations, obs],
      ['terminated', this.terminated, 1],
      ['truncated', this.truncated, 1],
      ['episodes', this.episodes, 1],
      ['steps', this.steps, 1],
    ];
    for (const [name, , width] of targets) {
      const target = out[name];
      if (target && target.length < n * width) {
        throw new RangeError(
          `ReplayBuffer.gather: out.${name} holds ${target.length} numbers; expected at least ${n} rows x ${width}`,
        );
      }
    }
    const slots = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const index = indices[r]!;
      slots[r] = index === -1 ? -1 : this.slot(index, 'gather');
    }
    for (const [name, source, width] of targets) {
      const target = out[name];
      if (!target) continue;
      for (let r = 0; r < n; r++) {
        const s = slots[r]!;
        if (s === -1) target.fill(0, r * width, (r + 1) * width);
        else for (let j = 0; j < width; j++) target[r * width + j] = source[s * width + j]!;
      }
    }
  }

  /** `count` logical indices drawn uniformly (with replacement) with `rng`. */
  sample(count: number, rng: Rng, out?: Int32Array): Int32Array {
    return sampleUniformIndices(this.count, count, rng, out);
  }

  /**
   * `count` logical indices drawn (with replacement) with probability proportional to 2^(-age / halfLife),
   * where age is how many rows newer than it are stored: a row halfLife rows old comes up half as often as
   * the newest. See replay-sampling.ts.
   */
  sampleRecent(count: number, halfLife: number, rng: Rng, out?: Int32Array): Int32Array {
    return sampleRecentIndices(this.count, count, halfLife, rng, out);
  }

  /** The last k rows of row `index`'s episode ending at it (see `ReplayWindows`). */
  window(index: number, k: number): { indices: Int32Array; mask: Uint8Array; count: number } {
    const w = this.windows([index], k);
    return { indices: w.indices, mask: w.mask, count: w.counts[0]! };
  }

  /** `window` for every index of `indices`, into `out` when given (sized indices.length * k). */
  windows(indices: ArrayLike<number>, k: number, out?: ReplayWindows): ReplayWindows {
    requireInt('k', k, 1, Number.MAX_SAFE_INTEGER);
    const n = indices.length;
    const result = out ?? {
      indices: new Int32Array(n * k),
      mask: new Uint8Array(n * k),
      counts: new Int32Array(n),
    };
    if (result.indices.length < n * k || result.mask.length < n * k || result.counts.length < n) {
      throw new RangeError(
        `ReplayBuffer.windows: out holds ${result.indices.length} indices, ${result.mask.length} mask ` +
          `entries and ${result.counts.length} counts; expected at least ${n * k}, ${n * k} and ${n}`,
      );
    }
    for (let b = 0; b < n; b++) {
      const base = b * k;
      let current = indices[b]!;
      let j = k - 1;
      for (; j >= 0; j--) {
        result.indices[base + j] = current;
        result.mask[base + j] = 1;
        const back = this.prevOffsets[this.slot(current, 'windows')]!;
        // An episode's first row, or a previous row the ring has already overwritten.
        if (back === 0 || current - back < 0) break;
        current -= back;
      }
      const first = Math.max(j, 0);
      result.counts[b] = k - first;
      result.indices.fill(-1, base, base + first);
      result.mask.fill(0, base, base + first);
    }
    return result;
  }

  /**
   * Logical indices split into train and validation by episode, never splitting one; `seed` fixes the
   * sides, and an episode keeps its side as the buffer grows (see episode-split.ts).
   */
  splitByEpisode(validationFraction: number, seed: number): EpisodeSplit {
    const ids = new Int32Array(this.count);
    for (let i = 0; i < this.count; i++) ids[i] = this.episodes[this.physical(i)]!;
    return splitByEpisode(ids, validationFraction, seed);
  }

  /** The whole buffer as safetensors bytes (replay-buffer-file.ts describes the layout). */
  toSafetensors(): Uint8Array {
    return encodeReplayBuffer(this.state());
  }

  /** Writes the buffer to `file` atomically. */
  save(file: string): void {
    writeFileAtomic(file, this.toSafetensors());
  }

  static fromSafetensors(
    bytes: Uint8Array,
    source = 'replay buffer bytes',
    expected?: ExpectedReplayBufferSizes,
  ): ReplayBuffer {
    return ReplayBuffer.fromState(decodeReplayBuffer(bytes, source, expected));
  }

  /** Reads a buffer saved with `save`; every size given in `expected` must match the file's. */
  static load(file: string, expected?: ExpectedReplayBufferSizes): ReplayBuffer {
    return ReplayBuffer.fromSafetensors(readFileBytes(file, 'ReplayBuffer.load'), file, expected);
  }

  /** Everything the buffer holds, as plain arrays over its stored rows (views, not copies). */
  state(): ReplayBufferState {
    const rows = this.count;
    const obs = this.observationSize;
    const act = this.actionSize;
    const streams = this.streamEpisodes.length;
    const open = (s: number) => this.streamEpisodes[s] !== -1;
    return {
      observationSize: obs,
      actionSize: act,
      capacity: this.capacity,
      size: rows,
      writePosition: this.position,
      totalAdded: this.added,
      episodesStarted: this.episodeCounter,
      observations: this.observations.subarray(0, rows * obs),
      actions: this.actions.subarray(0, rows * act),
      rewards: this.rewards.subarray(0, rows),
      nextObservations: this.nextObservations.subarray(0, rows * obs),
      terminated: this.terminated.subarray(0, rows),
      truncated: this.truncated.subarray(0, rows),
      episodes: this.episodes.subarray(0, rows),
      steps: this.steps.subarray(0, rows),
      prevOffsets: this.prevOffsets.subarray(0, rows),
      streamEpisodes: Int32Array.from(this.streamEpisodes),
      streamSteps: Int32Array.from({ length: streams }, (_, s) => (open(s) ? this.streamSteps[s]! : 0)),
      streamAges: Int32Array.from({ length: streams }, (_, s) =>
        open(s) ? Math.min(this.added - this.streamLast[s]!, this.capacity) : 0,
      ),
    };
  }

  static fromState(state: ReplayBufferState): ReplayBuffer {
    const buffer = new ReplayBuffer(state);
    buffer.observations.set(state.observations);
    buffer.actions.set(state.actions);
    buffer.rewards.set(state.rewards);
    buffer.nextObservations.set(state.nextObservations);
    buffer.terminated.set(state.terminated);
    buffer.truncated.set(state.truncated);
    buffer.episodes.set(state.episodes);
    buffer.steps.set(state.steps);
    buffer.prevOffsets.set(state.prevOffsets);
    buffer.count = state.size;
    buffer.position = state.writePosition;
    buffer.added = state.totalAdded;
    buffer.episodeCounter = state.episodesStarted;
    buffer.streamEpisodes = Array.from(state.streamEpisodes);
    buffer.streamSteps = Array.from(state.streamSteps);
    buffer.streamLast = Array.from(state.streamAges, (age) => state.totalAdded - age);
    return buffer;
  }

  /** Writes one already-checked row to the next slot and advances the ring and the stream's episode. */
  private write(
    stream: number,
    observation: ArrayLike<number>,
    observationOffset: number,
    action: ArrayLike<number>,
    actionOffset: number,
    reward: number,
    nextObservation: ArrayLike<number>,
    nextOffset: number,
    end: { terminated: boolean; truncated: boolean },
  ): void {
    while (this.streamEpisodes.length <= stream) {
      this.streamEpisodes.push(-1);
      this.streamSteps.push(0);
      this.streamLast.push(0);
    }
    const s = this.position;
    const obs = this.observationSize;
    const act = this.actionSize;
    for (let j = 0; j < obs; j++) {
      this.observations[s * obs + j] = observation[observationOffset + j]!;
      this.nextObservations[s * obs + j] = nextObservation[nextOffset + j]!;
    }
    for (let j = 0; j < act; j++) this.actions[s * act + j] = action[actionOffset + j]!;
    this.rewards[s] = reward;
    this.terminated[s] = end.terminated ? 1 : 0;
    this.truncated[s] = end.truncated ? 1 : 0;
    const open = this.streamEpisodes[stream]!;
    if (open === -1) {
      this.episodes[s] = this.episodeCounter++;
      this.steps[s] = 0;
      this.prevOffsets[s] = 0;
    } else {
      this.episodes[s] = open;
      this.steps[s] = this.streamSteps[stream]! + 1;
      this.prevOffsets[s] = Math.min(this.added - this.streamLast[stream]!, this.capacity);
    }
    const ended = end.terminated || end.truncated;
    this.streamEpisodes[stream] = ended ? -1 : this.episodes[s]!;
    this.streamSteps[stream] = this.steps[s]!;
    this.streamLast[stream] = this.added;
    this.added++;
    this.position = (s + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The physical slot of logical row i (assumed in range). */
  private physical(i: number): number {
    return (this.position - this.count + this.capacity + i) % this.capacity;
  }

  private slot(index: number, where: string): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw new RangeError(
        `ReplayBuffer.${where}: index ${String(index)} is out of range; expected an integer in [0, ${this.count})`,
      );
    }
    return this.physical(index);
  }
}

/** The array a copy's next observation comes from: the final one where its episode ended. */
function nextSource(result: RlVectorStep, copy: number): Float32Array {
  return result.terminated[copy] === 1 || result.truncated[copy] === 1
    ? result.finalObservations
    : result.observations;
}

/** Throws unless `length` is `expected` and values[offset, offset + expected) are finite numbers. */
function checkRow(
  where: string,
  field: string,
  values: ArrayLike<number>,
  offset: number,
  expected: number,
  length: number,
): void {
  if (length !== expected) {
    throw new RangeError(`${where}: ${field} has ${length} numbers; expected ${expected}`);
  }
  for (let j = 0; j < expected; j++) {
    const v = values[offset + j];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      const at = expected === 1 ? '' : ` at element ${j}`;
      throw new RangeError(`${where}: ${field} is ${String(v)}${at}; expected finite numbers`);
    }
  }
}

function requireInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(
      `ReplayBuffer: ${name} = ${String(value)} is invalid; expected an integer in [${min}, ${max}]`,
    );
  }
}
