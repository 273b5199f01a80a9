/**
 * Runs jobs in threads of their own (trial-thread.ts says why), one job per thread at a time. A thread that
 * finished a job waits for the next (starting one and loading the engine into it costs about a second); the
 * thread of a job that failed or was stopped is ended, and the next job starts a fresh one.
 */
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../node-builtins/module-worker.ts';
import { readRunProgress } from './run-progress.ts';
import type { TrialJob, TrialResult } from './trial-job.ts';
import { ownedBy } from './trial-owner.ts';

/** Why a job failed, and the real steps its run folder had reached then (what the failed run cost). */
export class JobFailed extends Error {
  constructor(
    message: string,
    readonly realSteps: number,
  ) {
    super(message);
    this.name = 'JobFailed';
  }
}

export interface RunningTrial {
  /** The job's result; rejects with a `JobFailed` for the job's error, or when its thread is stopped or dies. */
  result: Promise<TrialResult>;
  /** Ends the job's thread wherever it is (every file a run writes is written atomically). */
  stop(): Promise<void>;
}

export class TrialThreads {
  private readonly idle: Worker[] = [];

  constructor(private readonly store: string) {}

  run(job: TrialJob): RunningTrial {
    const thread = this.idle.pop() ?? this.start();
    const result = new Promise<TrialResult>((resolve, rejectWith) => {
      const reject = (error: Error) => rejectWith(new JobFailed(error.message, this.realStepsOf(job)));
      const settle = (outcome: () => void) => {
        thread.off('message', onMessage).off('error', onError).off('exit', onExit);
        outcome();
      };
      const onMessage = (message: { result?: TrialResult; error?: string }) =>
        settle(() => {
          if (message.result) {
            this.idle.push(thread);
            resolve(message.result);
          } else {
            // A job that failed may have left its thread in any state: the next job gets a new one.
            void thread.terminate();
            reject(new Error(message.error ?? `${job.trial}: its thread sent no result`));
          }
        });
      const onError = (error: Error) =>
        settle(() => {
          void thread.terminate();
          reject(error);
        });
      const onExit = (code: number) =>
        settle(() => reject(new Error(`${job.trial}: its thread stopped (exit code ${code})`)));
      thread.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
    thread.postMessage({ job });
    return { result, stop: async () => void (await thread.terminate()) };
  }

  /** The real steps of the job's own run folder: none of a folder it refused (another sweep's) or cannot read. */
  private realStepsOf(job: TrialJob): number {
    const dir = join(this.store, job.dir);
    try {
      return ownedBy(dir, { sweep: job.sweep, trial: job.trial }) ? readRunProgress(dir).realSteps : 0;
    } catch {
      return 0;
    }
  }

  /** Ends the idle threads (a running job's is ended by its `stop`). */
  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((thread) => thread.terminate()));
  }

  private start(): Worker {
    const url = new URL(
      import.meta.url.endsWith('.ts') ? './trial-thread.ts' : './trial-thread.js',
      import.meta.url,
    );
    const where = 'sweeps run in Node';
    const thread = startModuleWorker(url, { workerData: { store: this.store } }, 'a sweep worker', where);
    // A thread stopped after its job was done must not be handed the next one.
    thread.once('exit', () => {
      const i = this.idle.indexOf(thread);
      if (i !== -1) this.idle.splice(i, 1);
    });
    return thread;
  }
}
