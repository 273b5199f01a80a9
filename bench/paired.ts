// Speed ratios that hold up on a shared machine. benny times each case for seconds, one after another, so
// a change in load between two cases skews their ratio. Here the contenders take short turns, round after
// round; a ratio is taken within each round (the two ran moments apart, under the same load) and the
// median over rounds is reported.
import { median } from './report.ts';

export interface PairedTiming {
  /** Median over rounds of each contender's calls per second. */
  perSecond: Record<string, number>;
  /** Calls per second of each contender in every round. */
  rounds: Record<string, number[]>;
}

/** Runs every function in `runs` for about `turnMs` per turn, `rounds` times over, in turn. */
export function pairedTiming(runs: Record<string, () => unknown>, rounds = 8, turnMs = 250): PairedTiming {
  const names = Object.keys(runs);
  const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const run = runs[name]!;
      let calls = 0;
      const start = performance.now();
      let elapsed = 0;
      do {
        run();
        calls++;
        elapsed = performance.now() - start;
      } while (elapsed < turnMs);
      perRound[name]!.push((1000 * calls) / elapsed);
    }
  }
  const perSecond = Object.fromEntries(names.map((n) => [n, median(perRound[n]!)]));
  return { perSecond, rounds: perRound };
}

/** Median over rounds of `a`'s speed divided by `b`'s in the same round. */
export function pairedRatio(timing: PairedTiming, a: string, b: string): number {
  const ra = timing.rounds[a]!;
  const rb = timing.rounds[b]!;
  return median(ra.map((v, i) => v / rb[i]!));
}
