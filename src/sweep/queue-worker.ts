/**
 * `npm run worker -- --redis URL --store DIR`: a BullMQ worker that takes the sweeps' trial jobs from Redis
 * and runs each in a thread of its own (trial-thread.ts), with the run folders under DIR, a folder every
 * worker and machine reaches. Its main thread stays free to renew each job's lock; a worker that dies stops
 * renewing, and BullMQ's stalled-job check hands the job to another worker after `lockSeconds`, which
 * resumes the trial from its last checkpoint. A worker whose lock renewal failed (the job may already be
 * another's) stops that trial at once. Stopped by SIGINT or SIGTERM, it ends its trials and puts their jobs
 * back in the queue for other workers.
 */
import { hostname } from 'node:os';
import { DelayedError, Worker } from 'bullmq';
import { type FailedProgress, QUEUE_NAME } from './queue-transport.ts';
import { connectionOptions, hidePassword, type RedisTarget } from './redis-connection.ts';
import type { TrialJob, TrialResult } from './trial-job.ts';
import { JobFailed, TrialThreads } from './trial-thread-runner.ts';

export interface QueueWorkerOptions {
  /** The Redis server the jobs are on (redis-connection.ts). */
  target: RedisTarget;
  /** Where the run folders are (`TrialJob.dir` is relative to it). */
  store: string;
  /** Jobs run at once, each in its own thread. */
  jobs: number;
  /** A job's lock lasts this long unrenewed: how soon a dead worker's trial moves on (renewed every half). */
  lockSeconds: number;
  /** Where the worker's lines go (a password is never in them). */
  log: (line: string) => void;
}

/** A dead worker's job may be handed on this many times before it counts as failed. */
const MAX_STALLS = 10;

/** Starts taking jobs; `stop` ends the running trials, requeues their jobs and closes the worker. */
export function startQueueWorker(options: QueueWorkerOptions): { stop(): Promise<void> } {
  const { target, store, log } = options;
  const name = `${hostname()}:${process.pid}`;
  let stopping = false;
  const threads = new TrialThreads(store);
  const worker = new Worker<TrialJob, TrialResult>(
    QUEUE_NAME,
    async (job, token, signal) => {
      log(`worker ${name}: started ${job.data.trial} (${job.data.kind}, job ${job.id})`);
      const running = threads.run(job.data);
      signal?.addEventListener('abort', () => void running.stop());
      try {
        const result = await running.result;
        log(`worker ${name}: finished ${job.data.trial} (job ${job.id}) at ${result.realSteps} real steps`);
        return result;
      } catch (error) {
        if (stopping && token) {
          await job.moveToDelayed(Date.now(), token);
          throw new DelayedError();
        }
        // The real steps the failed run took, for the sweep's total (queue-transport.ts reads them back).
        if (!signal?.aborted && error instanceof JobFailed) {
          await job.updateProgress({ realSteps: error.realSteps } satisfies FailedProgress);
        }
        throw error;
      }
    },
    {
      connection: connectionOptions(target),
      concurrency: options.jobs,
      lockDuration: options.lockSeconds * 1000,
      stalledInterval: (options.lockSeconds * 1000) / 2,
      maxStalledCount: MAX_STALLS,
      name,
    },
  );
  worker.on('error', (e) => log(`worker ${name}: ${hidePassword(e.message, target)}`));
  worker.on('lockRenewalFailed', (ids) => {
    for (const id of ids) {
      log(`worker ${name}: lost the lock of job ${id}; stopping its trial (another worker resumes it)`);
      worker.cancelJob(id, 'lock lost');
    }
  });
  worker.on('failed', (job, e) => {
    if (job && !(e instanceof DelayedError)) log(`worker ${name}: ${job.data.trial} failed: ${e.message}`);
  });
  return {
    async stop() {
      stopping = true;
      worker.cancelAllJobs('worker stopping');
      await worker.close();
      await threads.close();
    },
  };
}
