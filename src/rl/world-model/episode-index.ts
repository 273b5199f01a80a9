/**
 * Where each real transition sits in its episode: the rows in (episode, step) order, and the row of the step
 * before and the step after each (in the same episode), so that a recurrent model's windows and a report's
 * rollouts can follow real episodes whatever order the rows come in (a collected buffer interleaves its env
 * copies).
 */
import type { EpisodeTransitions } from './dynamics-model.ts';

export interface EpisodeIndex {
  /** [count] the rows sorted by episode, then step. */
  order: Int32Array;
  /** [count] the row of the same episode's previous step, -1 at the episode's first stored row. */
  previous: Int32Array;
  /** [count] the row of the same episode's next step, -1 at the episode's last stored row. */
  next: Int32Array;
  /** The row of each episode's first stored step, in episode order. */
  firstRows: Int32Array;
}

/**
 * Links the rows of `t` by episode id and step index. Rows of one episode whose steps are not consecutive
 * (a gap the buffer overwrote) are not linked across the gap.
 */
export function indexEpisodes(t: EpisodeTransitions, where = 'indexEpisodes'): EpisodeIndex {
  const n = t.count;
  for (const [name, values] of [
    ['episodes', t.episodes],
    ['steps', t.steps],
  ] as const) {
    if (!values || values.length < n) {
      throw new Error(`${where}: ${name} holds ${values ? values.length : 'no'} numbers, expected ${n}`);
    }
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new Error(`${where}: ${name} row ${i} holds ${v}; expected an integer >= 0`);
      }
    }
  }
  const order = Int32Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => t.episodes[a]! - t.episodes[b]! || t.steps[a]! - t.steps[b]! || a - b);
  const previous = new Int32Array(n).fill(-1);
  const next = new Int32Array(n).fill(-1);
  const firstRows: number[] = [];
  for (let k = 0; k < n; k++) {
    const row = order[k]!;
    const before = k > 0 ? order[k - 1]! : -1;
    const sameEpisode = before >= 0 && t.episodes[before] === t.episodes[row];
    if (sameEpisode && t.steps[before] === t.steps[row]) {
      throw new Error(
        `${where}: rows ${before} and ${row} are both step ${t.steps[row]} of episode ${t.episodes[row]}`,
      );
    }
    if (sameEpisode && t.steps[before]! + 1 === t.steps[row]) {
      previous[row] = before;
      next[before] = row;
    } else if (!sameEpisode) {
      firstRows.push(row);
    }
  }
  return { order, previous, next, firstRows: Int32Array.from(firstRows) };
}

/** Rows from `row` on following `next`, at most `limit` of them. */
export function followRows(index: EpisodeIndex, row: number, limit: number): number[] {
  const rows: number[] = [];
  for (let r = row; r >= 0 && rows.length < limit; r = index.next[r]!) rows.push(r);
  return rows;
}
