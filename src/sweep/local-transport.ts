/**
 * The transport of a sweep on one machine (transport.ts): `jobs` child processes of the sweep command
 * (local-worker.ts), each taking one job at a time over IPC. No server to install. A child that dies
 * mid-job is replaced and the job goes to the front of the line, to resume from its last checkpoint.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LocalResultMessage } from './local-worker.ts';
import { TrialFailed, type TrialTransport } from './transport.ts';
import type { TrialJob, TrialResult } from './trial-job.ts';

/** How many times one job's worker may die before the job counts as failed (a job that kills its worker). */
const MAX_LOST_WORKERS = 5;

interface Waiting {
  job: TrialJob;
  resolve: (result: TrialResult) => void;
  reject: (error: Error) => void;
  lostWorkers: number;
}

interface Child {
  process: ChildProcess;
  job: Waiting | null;
}

export class LocalTransport implements TrialTransport {
  readonly description: string;
  private readonly waiting: Waiting[] = [];
  private readonly children: Child[] = [];
  private closing = false;

  constructor(
    private readonly store: string,
    private readonly jobs: number,
    private readonly log: (line: string) => void,
  ) {
    this.description = `${jobs} local worker process${jobs === 1 ? '' : 'es'}`;
  }

  run(job: TrialJob): Promise<TrialResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject, lostWorkers: 0 });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const exits = this.children.map((c) => new Promise((done) => c.process.once('exit', done)));
    for (const child of this.children) child.process.kill();
    await Promise.all(exits);
  }

  private dispatch(): void {
    while (this.waiting.length > 0 && !this.closing) {
      const child = this.children.find((c) => c.job === null) ?? this.spawn();
      if (!child) return;
      child.job = this.waiting.shift()!;
      child.process.send({ job: child.job.job });
    }
  }

  /** A new child, or null when there are `jobs` already. */
  private spawn(): Child | null {
    if (this.children.length >= this.jobs) return null;
    const entry = new URL(
      import.meta.url.endsWith('.ts') ? './local-worker.ts' : './local-worker.js',
      import.meta.url,
    );
    const worker = fork(fileURLToPath(entry), [this.store], {
      execArgv: entry.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    // The trials' own lines (a resume, an error) go to the sweep's log.
    for (const stream of [worker.stdout!, worker.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.log(line));
    }
    const child: Child = { process: worker, job: null };
    worker.on('message', (message: LocalResultMessage) => {
      const done = child.job;
      child.job = null;
      if (done && 'result' in message) done.resolve(message.result);
      else if (done && 'error' in message)
        done.reject(new TrialFailed(done.job.trial, message.error, message.realSteps));
      this.dispatch();
    });
    worker.once('exit', (code, signal) => {
      this.children.splice(this.children.indexOf(child), 1);
      const lost = child.job;
      if (lost && !this.closing) {
        lost.lostWorkers++;
        if (lost.lostWorkers > MAX_LOST_WORKERS) {
          lost.reject(new TrialFailed(lost.job.trial, `its worker process died ${lost.lostWorkers} times`));
        } else {
          this.log(
            `worker process ${worker.pid} ended (${signal ?? `exit ${code}`}) during ${lost.job.trial}; it resumes on another`,
          );
          this.waiting.unshift(lost);
        }
      }
      this.dispatch();
    });
    this.children.push(child);
    return child;
  }
}
