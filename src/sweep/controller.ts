/**
 * The sweep controller: the one scheduler behind `npm run sweep`, whichever transport carries its jobs.
 *
 * It decides every job: which trials exist (search.ts), what each trains to, and for PBT when the
 * population is ready, who copies whom and with which explored values (pbt.ts). It hands each job to a
 * `TrialTransport` (transport.ts) and awaits the result; the transport only carries jobs to worker
 * processes and results back: local child processes by default (local-transport.ts), or BullMQ jobs on
 * Redis with `--redis` (queue-transport.ts), taken by `npm run worker` on any machine. So the two modes
 * differ in nothing but the carrier: the same trials, the same PBT decisions, the same run folders.
 *
 * Grid and random search: one job per trial, trained to its budget, all handed out at once (the workers set
 * the pace). PBT (Jaderberg et al. 2017), synchronous: every round, every member trains to the next ready
 * point (a multiple of `readyInterval` real steps); then the bottom members copy the top ones' checkpoints
 * (exploit jobs, while nothing trains, so no checkpoint moves under a copy) and take their explored values,
 * which the next round's `--resume --set` applies and records in the run's config.json.
 *
 * After every result the state goes to runs/<sweep>/sweep.json (sweep-state.ts), and a re-run continues
 * from it; the trials themselves resume from their checkpoints. At the end: report.md and the charts.
 */
import { randomBytes } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { UsageError } from '../cli/args.ts';
import { iterationSeed } from '../rl/iteration-seed.ts';
import { Rng } from '../tensor/index.ts';
import { truncationSelection } from './pbt.ts';
import { writeReport } from './report.ts';
import { plannedTrials } from './search.ts';
import type { PbtSearch, Sweep } from './sweep-file.ts';
import { readState, type SweepState, type TrialRecord, writeState } from './sweep-state.ts';
import { TrialFailed, type TrialTransport } from './transport.ts';
import { freshArgs } from './trial-args.ts';
import type { EvalPoint, TrainJob, TrialJob, TrialResult } from './trial-job.ts';

export interface SweepOptions {
  /** The sweep file's content, checked (sweep-file.ts). */
  sweep: Sweep;
  /** The sweep file, as given (recorded, and named in messages). */
  file: string;
  /** runs/<sweep>: sweep.json, report.md and the charts; its name is the trials' folder in the store. */
  out: string;
  /** What carries the jobs to worker processes (transport.ts). */
  transport: TrialTransport;
  /** Which kind it is, recorded: a sweep continues only on the kind it started with. */
  transportKind: 'local' | 'redis';
  /** Where the sweep's progress lines go. */
  log: (line: string) => void;
}

/** The state of a new sweep, or of the one `out` holds (which must be of the same file and transport). */
function startOrContinue(options: SweepOptions): SweepState {
  const { sweep, out, file, transportKind } = options;
  const saved = readState(out);
  if (saved) {
    if (JSON.stringify(saved.sweep) !== JSON.stringify(sweep)) {
      throw new UsageError(
        `${out} holds a sweep of another file or content (${saved.file}); give it the same file, or another --out`,
      );
    }
    if (saved.transport !== transportKind) {
      throw new UsageError(
        `${out} holds a sweep started with ${saved.transport === 'redis' ? '--redis' : 'local workers'}; continue it the same way`,
      );
    }
    return { ...saved, transportDescription: options.transport.description };
  }
  const name = basename(resolve(out));
  return {
    id: `${name.replace(/[^A-Za-z0-9_-]/g, '_')}-${randomBytes(4).toString('hex')}`,
    name,
    file,
    sweep,
    transport: transportKind,
    transportDescription: options.transport.description,
    status: 'running',
    round: 0,
    phase: 'train',
    exploits: [],
    trials: plannedTrials(sweep).map((plan) => ({
      ...plan,
      status: 'pending',
      error: null,
      realSteps: 0,
      spentRealSteps: 0,
      evals: [],
      segments: [],
    })),
    totalRealSteps: 0,
    best: null,
  };
}

const lastEval = (evals: readonly EvalPoint[]) => evals.at(-1)?.meanReturn ?? null;

/** The trial with the highest last evaluation (ties: the first), or null when none has one. */
export function bestTrial(trials: readonly TrialRecord[]): TrialRecord | null {
  let best: TrialRecord | null = null;
  for (const t of trials) {
    const score = lastEval(t.evals);
    if (score !== null && (best === null || score > lastEval(best.evals)!)) best = t;
  }
  return best;
}

export async function runSweep(options: SweepOptions): Promise<SweepState> {
  const { sweep, out, transport, log } = options;
  const state = startOrContinue(options);
  const save = () => {
    state.totalRealSteps = state.trials.reduce((sum, t) => sum + t.spentRealSteps, 0);
    state.best = bestTrial(state.trials)?.name ?? null;
    writeState(out, state);
  };
  save();
  log(
    `sweep ${state.name}: ${state.trials.length} ${sweep.search.kind === 'pbt' ? 'members' : 'trials'} of ` +
      `'train ${sweep.algorithm}' on ${sweep.env}, ${sweep.steps} real steps each, through ${transport.description}`,
  );
  const trainJob = (t: TrialRecord, idTail: string, stopAtSteps: number | null): TrainJob => ({
    kind: 'train',
    id: `${state.id}.${t.name}.${idTail}`,
    sweep: state.id,
    trial: t.name,
    algorithm: sweep.algorithm,
    dir: `${state.name}/${t.name}`,
    args: freshArgs(sweep, t.seed, t.hyperparameters),
    hyperparameters: t.hyperparameters,
    stopAtSteps,
  });
  /**
   * Runs a job of `t`'s; a failure of the trial's own is recorded, with the real steps the failed training
   * took (they count in the sweep's total); anything else ends the sweep.
   */
  const attempt = async (t: TrialRecord, job: TrialJob, done: (r: TrialResult) => void) => {
    try {
      done(await transport.run(job));
    } catch (e) {
      if (!(e instanceof TrialFailed)) throw e;
      t.status = 'failed';
      t.error = e.message;
      if (job.kind === 'train' && e.realSteps !== null) {
        t.spentRealSteps += Math.max(0, e.realSteps - (t.segments.at(-1)?.fromSteps ?? 0));
        t.realSteps = e.realSteps;
      }
      log(e.message);
    }
    save();
  };
  const finishedCount = () => state.trials.filter((t) => t.status !== 'pending').length;

  if (sweep.search.kind === 'pbt') {
    await runPbt(state, sweep.search, sweep.steps, { trainJob, attempt, save, log });
  } else {
    await Promise.all(
      state.trials
        .filter((t) => t.status === 'pending')
        .map((t) =>
          attempt(t, trainJob(t, 'train', null), (r) => {
            Object.assign(t, { realSteps: r.realSteps, spentRealSteps: r.realSteps, evals: r.evals });
            t.status = r.finished ? 'finished' : 'failed';
            if (!r.finished) t.error = `stopped at ${r.realSteps} real steps, before its budget`;
            log(
              `${t.name} done: ${r.realSteps} real steps, final evaluation ${lastEval(r.evals)?.toFixed(1) ?? '-'} ` +
                `(${finishedCount()} of ${state.trials.length})`,
            );
          }),
        ),
    );
  }
  state.status = 'finished';
  save();
  await writeReport(out, state, log);
  return state;
}

interface PbtTools {
  trainJob: (t: TrialRecord, idTail: string, stopAtSteps: number | null) => TrainJob;
  attempt: (t: TrialRecord, job: TrialJob, done: (r: TrialResult) => void) => Promise<void>;
  save: () => void;
  log: (line: string) => void;
}

/** Synchronous PBT (see the header): rounds of training to the next ready point, each followed by exploits. */
async function runPbt(state: SweepState, pbt: PbtSearch, steps: number, tools: PbtTools): Promise<void> {
  const { trainJob, attempt, save, log } = tools;
  const rounds = Math.ceil(steps / pbt.readyInterval);
  const live = () => state.trials.filter((t) => t.status !== 'failed');
  for (const t of state.trials) {
    if (t.segments.length === 0) {
      t.segments.push({
        round: 0,
        fromSteps: 0,
        toSteps: null,
        hyperparameters: t.hyperparameters,
        copiedFrom: null,
        score: null,
      });
    }
  }
  save();
  while (state.round < rounds) {
    const round = state.round;
    const last = round === rounds - 1;
    if (state.phase === 'train') {
      const stopAt = last ? null : (round + 1) * pbt.readyInterval;
      log(`round ${round + 1} of ${rounds}: every member trains to ${stopAt ?? steps} real steps`);
      await Promise.all(
        live()
          .filter((t) => t.segments.at(-1)!.toSteps === null)
          .map((t) =>
            attempt(t, trainJob(t, `r${round}`, stopAt), (r) => {
              const segment = t.segments.at(-1)!;
              const evals = r.evals.filter((e) => e.steps > segment.fromSteps);
              segment.toSteps = r.realSteps;
              segment.score = lastEval(evals);
              t.evals.push(...evals);
              t.spentRealSteps += r.realSteps - segment.fromSteps;
              t.realSteps = r.realSteps;
              if (r.finished) t.status = 'finished';
            }),
          ),
      );
      if (last) break;
      const ranked = live().map((t) => ({
        name: t.name,
        score: t.segments.at(-1)!.score,
        hyperparameters: t.hyperparameters,
      }));
      state.exploits = truncationSelection(ranked, pbt, new Rng(iterationSeed(state.sweep.seed, round + 1)));
      state.phase = 'exploit';
      save();
      log(
        `ready at ${stopAt} real steps: ${ranked.map((m) => `${m.name} ${m.score?.toFixed(1) ?? '-'}`).join(', ')}` +
          state.exploits
            .map((e) => `; ${e.member} copies ${e.from} with ${JSON.stringify(e.hyperparameters)}`)
            .join(''),
      );
    }
    const member = (name: string) => state.trials.find((t) => t.name === name)!;
    await Promise.all(
      state.exploits.map((e) =>
        attempt(
          member(e.member),
          {
            kind: 'exploit',
            id: `${state.id}.${e.member}.r${round}.exploit`,
            sweep: state.id,
            trial: e.member,
            algorithm: state.sweep.algorithm,
            dir: `${state.name}/${e.member}`,
            from: `${state.name}/${e.from}`,
          },
          (r) => {
            member(e.member).realSteps = r.realSteps;
          },
        ),
      ),
    );
    for (const t of live()) {
      const exploit = state.exploits.find((e) => e.member === t.name);
      if (exploit) t.hyperparameters = exploit.hyperparameters;
      t.segments.push({
        round: round + 1,
        fromSteps: t.realSteps,
        toSteps: null,
        hyperparameters: t.hyperparameters,
        copiedFrom: exploit?.from ?? null,
        score: null,
      });
    }
    state.exploits = [];
    state.round = round + 1;
    state.phase = 'train';
    save();
  }
}
