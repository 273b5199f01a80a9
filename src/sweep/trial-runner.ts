/**
 * What a worker does with one job, in the thread that runs it (trial-thread.ts): train the trial's run
 * folder with its train command (fresh the first time, `--resume` with the trial's values every time after,
 * which also continues a job a dead worker left half done), or copy a better member's checkpoint (exploit.ts).
 * Either only in a run folder of the job's own sweep (trial-owner.ts). The result is read from the run
 * folder, so a retried job reports exactly what a first one would.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runPaths } from '../cli/run-folder.ts';
import { TRAIN_COMMANDS } from './algorithms.ts';
import { copyBetterRun } from './exploit.ts';
import { readRunProgress } from './run-progress.ts';
import { setArgs } from './trial-args.ts';
import type { TrialJob, TrialResult } from './trial-job.ts';
import { checkRunFolder, claimRunFolder } from './trial-owner.ts';

export async function runTrialJob(
  job: TrialJob,
  store: string,
  log: (line: string) => void,
): Promise<TrialResult> {
  const dir = join(store, job.dir);
  claimRunFolder(dir, job.dir, { sweep: job.sweep, trial: job.trial });
  if (job.kind === 'exploit') {
    const from = join(store, job.from);
    checkRunFolder(from, job.from, { sweep: job.sweep, trial: basename(job.from) });
    copyBetterRun(from, dir, TRAIN_COMMANDS[job.algorithm].counter);
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
