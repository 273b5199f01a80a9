/**
 * Where each real transition sits in its episode: the row of the step before and the step after it (in
 * the same episode), so that rollouts can follow real episodes whatever order the rows come in (a collected
 * buffer interleaves its env copies).
 */
import type { EpisodeTransitions } from '../dynamics-model.ts';

export interface EpisodeIndex {
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
export function indexEpisodes(t: EpisodeTransitions): EpisodeIndex {
  const n = t.count;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => t.episodes[a]! - t.episodes[b]! || t.steps[a]! - t.steps[b]! || a - b);
  const previous = new Int32Array(n).fill(-1);
  const next = new Int32Array(n).fill(-1);
  const firstRows: number[] = [];
  for (let k = 0; k < n; k++) {
    const row = order[k]!;
    const before = k > 0 ? order[k - 1]! : -1;
    const linked =
      before >= 0 && t.episodes[before] === t.episodes[row] && t.steps[before]! + 1 === t.steps[row];
    if (linked) {
      previous[row] = before;
      next[before] = row;
    } else if (before < 0 || t.episodes[before] !== t.episodes[row]) {
      firstRows.push(row);
    }
  }
  return { previous, next, firstRows: Int32Array.from(firstRows) };
}

/** Rows from `row` on following `next`, at most `limit` of them. */
export function followRows(index: EpisodeIndex, row: number, limit: number): number[] {
  const rows: number[] = [];
  for (let r = row; r >= 0 && rows.length < limit; r = index.next[r]!) rows.push(r);
  return rows;
}
