/**
 * What a worker does with one job, in the thread that runs it (trial-thread.ts): train the trial's run
 * folder with its train command (fresh the first time, `--resume` with the trial's values every time after,
 * which also continues a job a dead worker left half done), or copy a better member's checkpoint (exploit.ts).
 * The result is read from the run folder, so a retried job reports exactly what a first one would.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readMetrics, runPaths } from '../cli/run-folder.ts';
import { TRAIN_COMMANDS } from './algorithms.ts';
import { copyBetterRun } from './exploit.ts';
import { setArgs } from './trial-args.ts';
import type { EvalPoint, TrialJob, TrialResult } from './trial-job.ts';

/** The evaluations and real steps a run folder holds now. */
export function readRunProgress(dir: string): { realSteps: number; evals: EvalPoint[] } {
  const rows = readMetrics<{ steps?: number; evalMeanReturn?: number }>(dir);
  const evals = rows
    .filter((m) => typeof m.evalMeanReturn === 'number')
    .map((m) => ({ steps: m.steps ?? 0, meanReturn: m.evalMeanReturn! }));
  return { realSteps: rows.at(-1)?.steps ?? 0, evals };
}

export async function runTrialJob(
  job: TrialJob,
  store: string,
  log: (line: string) => void,
): Promise<TrialResult> {
  const dir = join(store, job.dir);
  if (job.kind === 'exploit') {
    copyBetterRun(join(store, job.from), dir, TRAIN_COMMANDS[job.algorithm].counter);
    log(`${job.trial}: continues from ${job.from}'s checkpoint`);
    return { trial: job.trial, finished: false, ...readRunProgress(dir) };
  }
  const command = TRAIN_COMMANDS[job.algorithm];
  const stop = job.stopAtSteps === null ? [] : ['--stop-at-steps', String(job.stopAtSteps)];
  const argv = existsSync(runPaths(dir).config)
    ? ['--resume', dir, ...setArgs(job.hyperparameters), ...stop, '--quiet']
    : [...job.args, '--out', dir, ...stop];
  const { finished } = await command.train(argv, (line) => log(`${job.trial}: ${line}`));
  return { trial: job.trial, finished, ...readRunProgress(dir) };
}
