/**
 * The transport of a sweep across machines (transport.ts): each job is a BullMQ job on the Redis server,
 * taken by whichever `npm run worker` process (queue-worker.ts) is free, on any machine that reaches the
 * server and the shared store. The job id is the job's own (`TrialJob.id`), so adding a job the queue
 * already holds (a restarted controller re-adding its round) is the same job, not a second one. Results are
 * read by polling the job's state, which outlives a Redis restart, a lost event or a controller restart.
 */
import { Job, Queue } from 'bullmq';
import { connectionOptions, hidePassword, type RedisTarget } from './redis-connection.ts';
import { TrialFailed, type TrialTransport } from './transport.ts';
import type { TrialJob, TrialResult } from './trial-job.ts';

/** The queue every sweep's jobs go to and every worker takes them from. */
export const QUEUE_NAME = 'lander-engine-trials';
/** A failed job's progress (queue-worker.ts sets it): the real steps its run folder had reached. */
export interface FailedProgress {
  realSteps: number;
}

/** The real steps a failed job's progress names, or null. */
function failedRealSteps(progress: unknown): number | null {
  const steps = (progress as Partial<FailedProgress> | null)?.realSteps;
  return typeof steps === 'number' ? steps : null;
}

/** Finished jobs are kept this long: long enough to answer a restarted controller. */
const KEEP_SECONDS = 30 * 24 * 3600;

export class QueueTransport implements TrialTransport {
  readonly description: string;
  private readonly queue: Queue;

  constructor(
    target: RedisTarget,
    private readonly log: (line: string) => void,
    private readonly pollMs = 1000,
  ) {
    this.description = `BullMQ jobs on ${target.shown} (queue ${QUEUE_NAME})`;
    this.queue = new Queue(QUEUE_NAME, { connection: connectionOptions(target) });
    this.queue.on('error', (e) => this.log(`redis: ${hidePassword(e.message, target)}`));
  }

  async run(trialJob: TrialJob): Promise<TrialResult> {
    await this.queue.add(trialJob.trial, trialJob, {
      jobId: trialJob.id,
      removeOnComplete: { age: KEEP_SECONDS },
      removeOnFail: { age: KEEP_SECONDS },
    });
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
      // The state first: once it is final, the job read after it holds the result.
      const state = await this.queue.getJobState(trialJob.id);
      if (state === 'unknown')
        throw new Error(`job ${trialJob.id} (${trialJob.trial}) is gone from the queue`);
      if (state !== 'completed' && state !== 'failed') continue;
      const job = await Job.fromId<TrialJob, TrialResult>(this.queue, trialJob.id);
      if (state === 'completed' && job?.returnvalue) return job.returnvalue;
      if (state === 'failed') {
        const reason = job?.failedReason ?? 'no reason given';
        throw new TrialFailed(trialJob.trial, reason, failedRealSteps(job?.progress));
      }
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
