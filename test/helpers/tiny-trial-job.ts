// A trial job for the sweep transports' tests, without a controller.
import { parseSweep } from '../../src/sweep/sweep-file.ts';
import { freshArgs } from '../../src/sweep/trial-args.ts';
import type { TrainJob } from '../../src/sweep/trial-job.ts';
import { tinyPpoSweep } from './tiny-ppo.ts';

/**
 * A train job of a tiny PPO trial (`trial-00` of sweep `sweepId`, in `dir` of the store) with these values,
 * trained to 128 real steps: for a transport's tests without a controller.
 */
export function tinyPpoTrainJob(
  id: string,
  sweepId: string,
  dir: string,
  hyperparameters: Record<string, unknown>,
): TrainJob {
  const sweep = parseSweep({ ...tinyPpoSweep, steps: 512, grid: { learningRate: [3e-4] } });
  const args = freshArgs(sweep, 1, hyperparameters);
  return {
    kind: 'train',
    id,
    sweep: sweepId,
    trial: 'trial-00',
    algorithm: 'ppo',
    dir,
    args,
    hyperparameters,
    stopAtSteps: 128,
  };
}
