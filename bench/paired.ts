// Speed ratios that hold up on a shared machine. benny times each case for seconds, one after another, so
// a change in load between two cases skews their ratio. Here the contenders take short turns, round after
// round; a ratio is taken within each round (the two ran moments apart, under the same load) and the
// median over rounds is reported. A contender may run elsewhere (PyTorch in a child process,
// torch-child.ts): a turn is any function that runs for at least its time and says how many calls it made.
// A turn also reports the CPU time its process used: on a machine shared with other work, wall time counts
// the moments the scheduler gave the core to someone else, CPU time does not, so a ratio of CPU times is
// the steadier measure of the work itself (both are kept).
import { median } from './report.ts';

export interface TurnResult {
  calls: number;
  ms: number;
  /** CPU time (user + system) the contender's process used in the turn, where it can say. */
  cpuMs?: number;
}

/** One contender's turn: calls for at least `turnMs` milliseconds. */
export type Turn = (turnMs: number) => TurnResult | Promise<TurnResult>;

export interface PairedTiming {
  /** Median over rounds of each contender's calls per second. */
  perSecond: Record<string, number>;
  /** Calls per second of each contender in every round. */
  rounds: Record<string, number[]>;
  /** Calls per second of CPU time of each contender in every round (contenders that report it). */
  cpuRounds: Record<string, number[]>;
}

/** Calls `run` until `turnMs` have passed (at least once). */
export function timedTurn(run: () => unknown, turnMs: number): TurnResult {
  let calls = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  let elapsed = 0;
  do {
    run();
    calls++;
    elapsed = performance.now() - start;
  } while (elapsed < turnMs);
  const used = process.cpuUsage(cpu);
  return { calls, ms: elapsed, cpuMs: (used.user + used.system) / 1000 };
}

/** Turns of in-process functions, by name. */
export function turnsOf(runs: Record<string, () => unknown>): Record<string, Turn> {
  return Object.fromEntries(
    Object.entries(runs).map(([name, run]) => [name, (turnMs: number) => timedTurn(run, turnMs)]),
  );
}

/** Gives every contender a turn of about `turnMs`, `rounds` times over, in turn. */
export async function pairedTiming(
  turns: Record<string, Turn>,
  rounds = 8,
  turnMs = 250,
): Promise<PairedTiming> {
  const names = Object.keys(turns);
  const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const cpuRounds: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const { calls, ms, cpuMs } = await turns[name]!(turnMs);
      perRound[name]!.push((1000 * calls) / ms);
      if (cpuMs !== undefined && cpuMs > 0) {
        cpuRounds[name] ??= [];
        cpuRounds[name].push((1000 * calls) / cpuMs);
      }
    }
  }
  const perSecond = Object.fromEntries(names.map((n) => [n, median(perRound[n]!)]));
  return { perSecond, rounds: perRound, cpuRounds };
}

/**
 * Median over rounds of `a`'s speed divided by `b`'s in the same round; with `cpu`, speeds per CPU second
 * (undefined where either did not report its CPU time in every round).
 */
export function pairedRatio(timing: PairedTiming, a: string, b: string, cpu = false): number | undefined {
  const [ra, rb] = cpu ? [timing.cpuRounds[a], timing.cpuRounds[b]] : [timing.rounds[a], timing.rounds[b]];
  if (!ra || !rb || ra.length !== rb.length || ra.length === 0) return undefined;
  return median(ra.map((v, i) => v / rb[i]!));
}
