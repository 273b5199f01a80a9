/**
 * From replay buffers to the columns models fit on: the rows of a buffer (all, or some) as
 * `EpisodeTransitions`, and several such sets joined with their episode ids kept apart.
 */
import type { EpisodeTransitions } from './dynamics-model.ts';
import type { ReplayBuffer } from './replay-buffer.ts';

/** Rows `indices` of `buffer` (every row when omitted), episode ids shifted by `episodeOffset`. */
export function bufferTransitions(
  buffer: ReplayBuffer,
  indices?: ArrayLike<number>,
  episodeOffset = 0,
): EpisodeTransitions {
  const rows = indices ?? Int32Array.from({ length: buffer.size }, (_, i) => i);
  const count = rows.length;
  const out = {
    count,
    observations: new Float32Array(count * buffer.observationSize),
    actions: new Float32Array(count * buffer.actionSize),
    rewards: new Float32Array(count),
    nextObservations: new Float32Array(count * buffer.observationSize),
    terminated: new Uint8Array(count),
    episodes: new Int32Array(count),
    steps: new Int32Array(count),
  };
  buffer.gather(rows, out);
  if (episodeOffset !== 0) for (let i = 0; i < count; i++) out.episodes[i]! += episodeOffset;
  return out;
}

/** One set holding every row of `parts`, in order; episode ids must already be distinct across parts. */
export function joinTransitions(parts: readonly EpisodeTransitions[]): EpisodeTransitions {
  if (parts.length === 1) return parts[0]!;
  const count = parts.reduce((n, p) => n + p.count, 0);
  const first = parts[0];
  if (!first) throw new Error('joinTransitions: no parts to join');
  const obsSize = first.observations.length / Math.max(first.count, 1);
  const actSize = first.actions.length / Math.max(first.count, 1);
  const out = {
    count,
    observations: new Float32Array(count * obsSize),
    actions: new Float32Array(count * actSize),
    rewards: new Float32Array(count),
    nextObservations: new Float32Array(count * obsSize),
    terminated: new Uint8Array(count),
    episodes: new Int32Array(count),
    steps: new Int32Array(count),
  };
  let at = 0;
  for (const p of parts) {
    out.observations.set(p.observations.subarray(0, p.count * obsSize), at * obsSize);
    out.actions.set(p.actions.subarray(0, p.count * actSize), at * actSize);
    out.rewards.set(p.rewards.subarray(0, p.count), at);
    out.nextObservations.set(p.nextObservations.subarray(0, p.count * obsSize), at * obsSize);
    for (let i = 0; i < p.count; i++) {
      out.terminated[at + i] = p.terminated[i]!;
      out.episodes[at + i] = p.episodes[i]!;
      out.steps[at + i] = p.steps[i]!;
    }
    at += p.count;
  }
  return out;
}
