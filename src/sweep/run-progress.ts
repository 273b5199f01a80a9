/**
 * How far a trial's run folder has got, read from its metrics.jsonl: what a job reports back, whether it
 * finished or failed (a failed run spent its real steps too, and the sweep's total counts them).
 */
import { readMetrics } from '../cli/run-folder.ts';
import type { EvalPoint } from './trial-job.ts';

/** The evaluations and real steps a run folder holds now (none and 0 for a folder without metrics). */
export function readRunProgress(dir: string): { realSteps: number; evals: EvalPoint[] } {
  const rows = readMetrics<{ steps?: number; evalMeanReturn?: number }>(dir);
  const evals = rows
    .filter((m) => typeof m.evalMeanReturn === 'number')
    .map((m) => ({ steps: m.steps ?? 0, meanReturn: m.evalMeanReturn! }));
  return { realSteps: rows.at(-1)?.steps ?? 0, evals };
}
