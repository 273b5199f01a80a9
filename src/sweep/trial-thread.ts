/**
 * A trial thread's entry: runs the jobs it is sent, one at a time (trial-runner.ts), posting each result or
 * error. Training blocks its thread for minutes at a time; in a thread it leaves the worker's main thread
 * free to renew the job's lock and to hear from the controller, and it dies with its process, so a killed
 * worker leaves no orphan writing into a run folder that another worker has taken over.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TrialJob } from './trial-job.ts';
import { runTrialJob } from './trial-runner.ts';

const { store } = workerData as { store: string };
parentPort!.on('message', ({ job }: { job: TrialJob }) => {
  runTrialJob(job, store, (line) => console.log(line)).then(
    (result) => parentPort!.postMessage({ result }),
    (error: Error) => parentPort!.postMessage({ error: error.message }),
  );
});
