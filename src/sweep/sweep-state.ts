/**
 * runs/<sweep>/sweep.json: everything the controller knows, written atomically after every job it hears
 * back from, so a killed `npm run sweep` continues where it was when run again with the same file and
 * --out (finished jobs are not run again; unfinished ones resume their run folders).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJson } from '../cli/run-folder.ts';
import type { ExploitDecision } from './pbt.ts';
import type { Sweep } from './sweep-file.ts';
import type { EvalPoint } from './trial-job.ts';

/** One stretch of a PBT member's training, from one ready point to the next. */
export interface SegmentRecord {
  round: number;
  /** Real steps it started from (the donor's, after an exploit). */
  fromSteps: number;
  /** Real steps it reached; null until trained. */
  toSteps: number | null;
  /** The member's explored values during it. */
  hyperparameters: Record<string, unknown>;
  /** The member whose checkpoint it started from, when it had just exploited one. */
  copiedFrom: string | null;
  /** Its last evaluation (the one at the ready point): what PBT ranks on. */
  score: number | null;
}

export interface TrialRecord {
  /** Its run folder's name, `<store>/<sweep>/<name>`. */
  name: string;
  seed: number;
  /** Its searched values (PBT: the member's current ones). */
  hyperparameters: Record<string, unknown>;
  status: 'pending' | 'finished' | 'failed';
  error: string | null;
  /** Real steps its run folder holds now. */
  realSteps: number;
  /** Real steps its training took from the env: what it cost (PBT: summed over its segments). */
  spentRealSteps: number;
  /** Its evaluations, in order (PBT: those of the segments it trained, not those it copied). */
  evals: EvalPoint[];
  /** PBT only: its segments. */
  segments: SegmentRecord[];
}

export interface SweepState {
  /** Unique to this sweep: the prefix of its job ids. */
  id: string;
  /** The --out folder's name; the trials' run folders are `<store>/<name>/<trial>`. */
  name: string;
  /** The sweep file as given, and what it said. */
  file: string;
  sweep: Sweep;
  /** 'local' or 'redis' (a sweep continues on the transport it started with), and in words. */
  transport: 'local' | 'redis';
  transportDescription: string;
  status: 'running' | 'finished';
  /** PBT: the round in hand (0-based) and its half: training to the ready point, or the exploits after it. */
  round: number;
  phase: 'train' | 'exploit';
  /** PBT: the exploits decided at the last ready point, kept until they are done. */
  exploits: ExploitDecision[];
  trials: TrialRecord[];
  /** Real steps the whole sweep took from the env: the sum of every trial's. */
  totalRealSteps: number;
  /** The trial with the highest final evaluation. */
  best: string | null;
}

export const statePath = (out: string) => join(out, 'sweep.json');

export function readState(out: string): SweepState | null {
  return existsSync(statePath(out)) ? readJson<SweepState>(statePath(out), 'sweep') : null;
}

export function writeState(out: string, state: SweepState): void {
  writeJson(statePath(out), state);
}
