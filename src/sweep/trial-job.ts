/**
 * What travels between the sweep controller and the workers, whichever transport carries it: a job to
 * train a trial's run folder to a real-step count, or PBT's exploit (copy a better member's checkpoint into
 * a worse one's folder); and what comes back, read from the run folder itself, so a retried job reports the
 * same as a first one.
 */
import type { Algorithm } from './sweep-file.ts';

/** What every job names: itself, its sweep and its trial's run folder. */
interface JobBase {
  /** Unique over every sweep: the queue's job id (a second add of the same id is the same job). */
  id: string;
  /** The sweep's id (`SweepState.id`): a run folder in the store belongs to one sweep (trial-runner.ts). */
  sweep: string;
  trial: string;
  algorithm: Algorithm;
  /** The trial's run folder, relative to the store every worker reaches (`<sweep>/<trial>`). */
  dir: string;
}

export interface TrainJob extends JobBase {
  kind: 'train';
  /** The train command's flags for a fresh run (no --out): env, budget, seed, shared settings, the trial's values. */
  args: string[];
  /** The trial's searched values now, `--set` again on resume: a no-op unless PBT's explore changed them. */
  hyperparameters: Record<string, unknown>;
  /** End this job at this many real steps (PBT's next ready point); null: train to the budget. */
  stopAtSteps: number | null;
}

export interface ExploitJob extends JobBase {
  kind: 'exploit';
  /** The better member's run folder, relative to the store: its newest checkpoint and metrics are copied. */
  from: string;
}

export type TrialJob = TrainJob | ExploitJob;

/** One greedy evaluation of a run: its mean return at a real-step count. */
export interface EvalPoint {
  steps: number;
  meanReturn: number;
}

export interface TrialResult {
  trial: string;
  /** Real steps the run has at its newest checkpoint. */
  realSteps: number;
  /** The run has spent its budget. */
  finished: boolean;
  /** Every evaluation in the run's metrics.jsonl, in order. */
  evals: EvalPoint[];
}
