/**
 * A local worker process (local-transport.ts forks one per core): takes jobs from its parent over IPC, runs
 * each in a trial thread (trial-thread-runner.ts), and sends back the result or the job's error. When its
 * parent goes away it exits at once, ending the thread with it.
 */
import type { TrialJob } from './trial-job.ts';
import { JobFailed, TrialThreads } from './trial-thread-runner.ts';

export interface LocalJobMessage {
  job: TrialJob;
}

export type LocalResultMessage =
  | { id: string; result: import('./trial-job.ts').TrialResult }
  | { id: string; error: string; realSteps: number | null };

const store = process.argv[2];
if (!store || !process.send) {
  console.error('local-worker: run by the sweep command (local-transport.ts), with the store folder');
  process.exit(2);
}

const threads = new TrialThreads(store);
process.on('disconnect', () => process.exit(0));
process.on('message', ({ job }: LocalJobMessage) => {
  console.log(`worker ${process.pid}: started ${job.trial} (${job.kind})`);
  threads.run(job).result.then(
    (result) => process.send!({ id: job.id, result } satisfies LocalResultMessage),
    (error: Error) =>
      process.send!({
        id: job.id,
        error: error.message,
        realSteps: error instanceof JobFailed ? error.realSteps : null,
      } satisfies LocalResultMessage),
  );
});
