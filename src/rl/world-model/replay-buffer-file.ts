/**
 * A replay buffer as one safetensors file, so it opens in Python as well as here and a run checkpoint can
 * hold it beside the weights. Every column is an F32 tensor over the rows present (physical slots 0 to
 * size - 1; the ring has wrapped only once it is full); integer columns hold whole numbers, exact in
 * float32 below 2^24, which saving checks. The metadata carries the sizes, capacity, write position and
 * counters, so loading restores the ring exactly and later adds continue the same open episodes.
 *
 * Decoding checks everything it relies on (the format tag, every size, every shape, the value range of
 * every integer column, finite numbers) and names the file and the first thing wrong.
 */
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../../nn/index.ts';

export const REPLAY_BUFFER_FORMAT = 'replay-buffer';
export const REPLAY_BUFFER_VERSION = '1';
/** The largest integer every smaller one of which float32 holds exactly. */
const F32_EXACT = 2 ** 24;

/** Everything a replay buffer holds, as plain arrays over its `size` stored rows (physical order). */
export interface ReplayBufferState {
  observationSize: number;
  actionSize: number;
  capacity: number;
  size: number;
  /** The slot the next row goes to. */
  writePosition: number;
  /** Rows ever added (overwritten ones included). */
  totalAdded: number;
  /** Episode ids handed out so far; the next episode gets this one. */
  episodesStarted: number;
  observations: Float32Array;
  actions: Float32Array;
  rewards: Float32Array;
  nextObservations: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  episodes: Int32Array;
  steps: Int32Array;
  /** Rows back to the previous row of the same episode; 0 for an episode's first row. */
  prevOffsets: Int32Array;
  /** Per stream (env copy): its open episode, or -1 when its next row starts a new one. */
  streamEpisodes: Int32Array;
  /** Per stream: the step index of its open episode's last row. */
  streamSteps: Int32Array;
  /** Per stream: rows added since its last row, capped at the capacity (older rows are gone anyway). */
  streamAges: Int32Array;
}

/** Sizes a caller expects of a loaded buffer; each one given must match. */
export interface ExpectedReplayBufferSizes {
  observationSize?: number;
  actionSize?: number;
  capacity?: number;
}

export function encodeReplayBuffer(state: ReplayBufferState): Uint8Array {
  const { size, observationSize: obs, actionSize: act } = state;
  const streams = state.streamEpisodes.length;
  const tensors: Record<string, SafetensorsTensor> = {
    observations: { shape: [size, obs], data: state.observations },
    actions: { shape: [size, act], data: state.actions },
    rewards: { shape: [size], data: state.rewards },
    nextObservations: { shape: [size, obs], data: state.nextObservations },
    terminated: { shape: [size], data: Float32Array.from(state.terminated) },
    truncated: { shape: [size], data: Float32Array.from(state.truncated) },
    episodes: { shape: [size], data: exactFloats('episodes', state.episodes) },
    steps: { shape: [size], data: exactFloats('steps', state.steps) },
    prevOffsets: { shape: [size], data: exactFloats('prevOffsets', state.prevOffsets) },
    streamEpisodes: { shape: [streams], data: exactFloats('streamEpisodes', state.streamEpisodes) },
    streamSteps: { shape: [streams], data: exactFloats('streamSteps', state.streamSteps) },
    streamAges: { shape: [streams], data: exactFloats('streamAges', state.streamAges) },
  };
  return encodeSafetensors(tensors, {
    format: REPLAY_BUFFER_FORMAT,
    version: REPLAY_BUFFER_VERSION,
    observationSize: String(obs),
    actionSize: String(act),
    capacity: String(state.capacity),
    size: String(size),
    writePosition: String(state.writePosition),
    totalAdded: String(state.totalAdded),
    episodesStarted: String(state.episodesStarted),
    streams: String(streams),
  });
}

function exactFloats(name: string, values: Int32Array): Float32Array {
  for (let i = 0; i < values.length; i++) {
    if (Math.abs(values[i]!) >= F32_EXACT) {
      throw new RangeError(
        `ReplayBuffer.save: ${name}[${i}] = ${values[i]} cannot be saved exactly; expected |value| < 2^24`,
      );
    }
  }
  return Float32Array.from(values);
}

export function decodeReplayBuffer(
  bytes: Uint8Array,
  source: string,
  expected: ExpectedReplayBufferSizes = {},
): ReplayBufferState {
  const fail = (why: string): Error => new Error(`ReplayBuffer.load: ${source}: ${why}`);
  let contents: ReturnType<typeof decodeSafetensors>;
  try {
    contents = decodeSafetensors(bytes, source);
  } catch (e) {
    throw new Error(`ReplayBuffer.load: ${(e as Error).message}`);
  }
  const { tensors, metadata } = contents;
  if (metadata.format !== REPLAY_BUFFER_FORMAT) {
    throw fail(
      `its metadata format is ${JSON.stringify(metadata.format ?? null)}; expected '${REPLAY_BUFFER_FORMAT}' ` +
        '(is it a model checkpoint rather than a replay buffer?)',
    );
  }
  if (metadata.version !== REPLAY_BUFFER_VERSION) {
    throw fail(
      `its format version is ${JSON.stringify(metadata.version)}; expected '${REPLAY_BUFFER_VERSION}'`,
    );
  }
  const int = (name: string, min: number): number => {
    const raw = metadata[name];
    const value = Number(raw);
    if (raw === undefined || raw.trim() === '' || !Number.isSafeInteger(value) || value < min) {
      throw fail(`metadata ${name} = ${JSON.stringify(raw ?? null)}; expected an integer >= ${min}`);
    }
    return value;
  };
  const observationSize = int('observationSize', 1);
  const actionSize = int('actionSize', 1);
  const capacity = int('capacity', 1);
  const size = int('size', 0);
  const writePosition = int('writePosition', 0);
  const totalAdded = int('totalAdded', 0);
  const episodesStarted = int('episodesStarted', 0);
  const streams = int('streams', 0);
  for (const key of ['observationSize', 'actionSize', 'capacity'] as const) {
    const want = expected[key];
    const got = { observationSize, actionSize, capacity }[key];
    if (want !== undefined && want !== got) throw fail(`it holds ${key} = ${got}; expected ${want}`);
  }
  if (size > capacity) throw fail(`size ${size} exceeds capacity ${capacity}`);
  if (totalAdded < size) throw fail(`totalAdded ${totalAdded} is less than size ${size}`);
  const wrapped = size === capacity;
  if (wrapped ? writePosition >= capacity : writePosition !== size) {
    throw fail(
      `writePosition ${writePosition} does not fit size ${size} and capacity ${capacity}; expected ` +
        (wrapped ? `a slot below ${capacity}` : `${size} (a ring that is not full has not wrapped)`),
    );
  }
  const column = (name: string, shape: number[]): Float32Array => {
    const t = tensors[name];
    if (!t) throw fail(`tensor '${name}' is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw fail(`tensor '${name}' has shape [${t.shape.join(', ')}]; expected [${shape.join(', ')}]`);
    }
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]!)) throw fail(`tensor '${name}' holds ${t.data[i]} at element ${i}`);
    }
    return t.data;
  };
  const ints = (name: string, length: number, low: number, high: number): Int32Array => {
    const data = column(name, [length]);
    for (let i = 0; i < length; i++) {
      const v = data[i]!;
      if (!Number.isInteger(v) || v < low || v > high) {
        throw fail(`${name}[${i}] = ${v}; expected an integer in [${low}, ${high}]`);
      }
    }
    return Int32Array.from(data);
  };
  return {
    observationSize,
    actionSize,
    capacity,
    size,
    writePosition,
    totalAdded,
    episodesStarted,
    observations: column('observations', [size, observationSize]),
    actions: column('actions', [size, actionSize]),
    rewards: column('rewards', [size]),
    nextObservations: column('nextObservations', [size, observationSize]),
    terminated: Uint8Array.from(ints('terminated', size, 0, 1)),
    truncated: Uint8Array.from(ints('truncated', size, 0, 1)),
    episodes: ints('episodes', size, 0, episodesStarted - 1),
    steps: ints('steps', size, 0, F32_EXACT),
    prevOffsets: ints('prevOffsets', size, 0, capacity),
    streamEpisodes: ints('streamEpisodes', streams, -1, episodesStarted - 1),
    streamSteps: ints('streamSteps', streams, 0, F32_EXACT),
    streamAges: ints('streamAges', streams, 0, capacity),
  };
}
