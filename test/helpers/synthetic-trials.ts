/**
 * A synthetic task behind the sweep's transport contract, for testing the controller's PBT without the
 * engine: a "run" is SGD on a noisy quadratic, theta <- theta - lr (2 theta + noise) with unit noise, from
 * theta = 4, followed exactly through theta's mean m and variance v (m <- (1 - 2 lr) m, v <- (1 - 2 lr)^2 v
 * + lr^2); its evaluation is the expected return -(m^2 + v). A large step size shrinks m fast but leaves a
 * large v; a small one leaves a small v but shrinks m slowly; so a schedule that starts large and ends small
 * beats every fixed one: what PBT should find. Exploit jobs copy a run's state as a checkpoint copy would.
 * A step size of 1 or more diverges: the job fails once |theta|'s mean passes 100, after the steps it took.
 */

import { TrialFailed, type TrialTransport } from '../../src/sweep/transport.ts';
import type { TrialJob, TrialResult } from '../../src/sweep/trial-job.ts';

interface Run {
  mean: number;
  variance: number;
  steps: number;
  evals: { steps: number; meanReturn: number }[];
}

const flag = (args: readonly string[], name: string) => Number(args[args.indexOf(name) + 1]);

export class SyntheticTrials implements TrialTransport {
  readonly description = 'a synthetic task in the test process';
  readonly jobs: TrialJob[] = [];
  private readonly runs = new Map<string, Run>();

  async run(job: TrialJob): Promise<TrialResult> {
    this.jobs.push(job);
    if (job.kind === 'exploit') {
      const from = this.runs.get(job.from)!;
      this.runs.set(job.dir, { ...from, evals: [...from.evals] });
      return { trial: job.trial, realSteps: from.steps, finished: false, evals: [...from.evals] };
    }
    const budget = flag(job.args, '--steps');
    const run = this.runs.get(job.dir) ?? { mean: 4, variance: 0, steps: 0, evals: [] };
    this.runs.set(job.dir, run);
    const lr = job.hyperparameters.learningRate as number;
    const stop = job.stopAtSteps ?? budget;
    while (run.steps < stop) {
      if (Math.abs(run.mean) > 100) {
        throw new TrialFailed(job.trial, `diverged at step size ${lr}`, run.steps);
      }
      run.mean *= 1 - 2 * lr;
      run.variance = (1 - 2 * lr) ** 2 * run.variance + lr * lr;
      run.steps++;
    }
    run.evals.push({ steps: run.steps, meanReturn: -(run.mean * run.mean + run.variance) });
    return { trial: job.trial, realSteps: run.steps, finished: run.steps >= budget, evals: [...run.evals] };
  }

  async close(): Promise<void> {}
}
