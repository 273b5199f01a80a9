/**
 * Where imagined rollouts start: real states from the replay buffer (branched rollouts, MBPO), each with the
 * real steps that led to it, so a recurrent model can warm its memory on the same history it would have
 * had in the real episode (a GRU that starts cold mid-episode sees what it never saw in training).
 */
import type { ReplayBuffer } from './replay-buffer.ts';

/** Start observations and, per start, the last `k` real steps before it (right-aligned). */
export interface StartSet {
  /** [S, 8] the observations rollouts start from. */
  observations: Float32Array;
  /** Per start, up to k real steps that led to it; absent when starts are episodes' first observations. */
  history?: StartHistory;
}

export interface StartHistory {
  k: number;
  /** [S, k, 8] observations of the steps, right-aligned (the last position is the step into the start). */
  observations: Float32Array;
  /** [S, k, raw action size] their actions. */
  actions: Float32Array;
  /** [S] how many of the k positions hold real steps. */
  counts: Int32Array;
}

/**
 * Starts at the states buffer rows `rows` led to (each row's next observation), with the window of up to
 * `k` steps of its episode ending at that row as history. Rows whose episode ended there (terminated or
 * truncated) lead nowhere to continue from and are left out.
 */
export function branchStarts(buffer: ReplayBuffer, rows: ArrayLike<number>, k: number): StartSet {
  const kept: number[] = [];
  const ended = new Uint8Array(1);
  const cut = new Uint8Array(1);
  for (let i = 0; i < rows.length; i++) {
    buffer.gather([rows[i]!], { terminated: ended, truncated: cut });
    if (!ended[0] && !cut[0]) kept.push(rows[i]!);
  }
  if (kept.length === 0)
    throw new Error('branchStarts: every given row ends its episode; nothing to start from');
  const S = kept.length;
  const O = buffer.observationSize;
  const A = buffer.actionSize;
  const observations = new Float32Array(S * O);
  buffer.gather(kept, { nextObservations: observations });
  const windows = buffer.windows(kept, k);
  const history: StartHistory = {
    k,
    observations: new Float32Array(S * k * O),
    actions: new Float32Array(S * k * A),
    counts: windows.counts,
  };
  // Masked positions (index -1) gather as zeros.
  buffer.gather(windows.indices, { observations: history.observations, actions: history.actions });
  return { observations, history };
}

/** The last `k` of each start's right-aligned steps (all of them when `k` >= history.k): a shorter window. */
export function lastSteps(history: StartHistory, k: number): StartHistory {
  if (k >= history.k) return history;
  const S = history.counts.length;
  const O = history.observations.length / (S * history.k);
  const A = history.actions.length / (S * history.k);
  const out: StartHistory = {
    k,
    observations: new Float32Array(S * k * O),
    actions: new Float32Array(S * k * A),
    counts: Int32Array.from(history.counts, (count) => Math.min(count, k)),
  };
  const skip = history.k - k;
  for (let s = 0; s < S; s++) {
    out.observations.set(
      history.observations.subarray((s * history.k + skip) * O, (s + 1) * history.k * O),
      s * k * O,
    );
    out.actions.set(history.actions.subarray((s * history.k + skip) * A, (s + 1) * history.k * A), s * k * A);
  }
  return out;
}
