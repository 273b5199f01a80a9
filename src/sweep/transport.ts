/**
 * How trial jobs reach worker processes: the only part of a sweep that differs between one machine and
 * many. The controller (controller.ts) is the one scheduler; it hands each job to `run` and awaits its
 * result, and a transport only carries jobs to workers and results back, retrying a job whose worker died
 * (the job resumes from its run folder's last checkpoint, so only time is lost). Two transports:
 * local-transport.ts (child processes of the sweep command, one per core) and queue-transport.ts (BullMQ
 * jobs on Redis, taken by `npm run worker` processes on any machine).
 */
import type { TrialJob, TrialResult } from './trial-job.ts';

export interface TrialTransport {
  /** Words for the log and sweep.json, e.g. "2 local worker processes". */
  readonly description: string;
  /** Runs `job` on some worker, however many tries it takes; rejects only with the job's own error. */
  run(job: TrialJob): Promise<TrialResult>;
  /** Lets go of workers and connections. */
  close(): Promise<void>;
}

/**
 * A job that failed on its own account (not by losing its worker): the trial is recorded as failed, with
 * the real steps its run folder reached (null: not known), which the sweep's total counts.
 */
export class TrialFailed extends Error {
  constructor(
    trial: string,
    reason: string,
    readonly realSteps: number | null = null,
  ) {
    super(`${trial} failed: ${reason}`);
    this.name = 'TrialFailed';
  }
}
