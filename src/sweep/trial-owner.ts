/**
 * Which sweep a run folder in the store belongs to. The store is shared by every sweep on its workers and a
 * trial's folder is named `<sweep name>/<trial>`, so two sweeps of the same --out name (or a sweep started
 * again after its sweep.json was deleted) would meet in the same folders, and a trial would silently
 * resume another sweep's run. A trial's first job marks its folder with the sweep's id (`sweep-trial.json`);
 * every later job checks the mark and refuses, naming both sweeps, a folder of another sweep or one that no
 * sweep started.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, runPaths, writeJson } from '../cli/run-folder.ts';

export const OWNER_FILE = 'sweep-trial.json';

export interface TrialOwner {
  /** The sweep's id (`SweepState.id`). */
  sweep: string;
  /** The trial's name within it. */
  trial: string;
}

/** Throws unless the run folder `dir` (shown as `shown`) is `owner`'s or new; marks a new one as `owner`'s. */
export function claimRunFolder(dir: string, shown: string, owner: TrialOwner): void {
  const mark = markOf(dir);
  if (mark) {
    if (mark.sweep === owner.sweep && mark.trial === owner.trial) return;
    throw new Error(
      `${shown} in the store holds ${mark.trial} of sweep ${mark.sweep}, not ${owner.trial} of sweep ${owner.sweep}; ` +
        'give this sweep another --out name, or remove that folder from the store',
    );
  }
  if (existsSync(runPaths(dir).config)) {
    throw new Error(
      `${shown} in the store holds a run that no sweep started; give this sweep another --out name, or remove that folder`,
    );
  }
  mkdirSync(dir, { recursive: true });
  writeJson(join(dir, OWNER_FILE), owner);
}

/** The mark of the run folder `dir`, or null where it has none. */
function markOf(dir: string): TrialOwner | null {
  const file = join(dir, OWNER_FILE);
  return existsSync(file) ? readJson<TrialOwner>(file, 'sweep') : null;
}

/** Whether the run folder `dir` carries `owner`'s mark. */
export function ownedBy(dir: string, owner: TrialOwner): boolean {
  const mark = markOf(dir);
  return mark?.sweep === owner.sweep && mark.trial === owner.trial;
}

/** Throws unless the run folder `dir` carries `owner`'s mark (a folder an exploit copies from). */
export function checkRunFolder(dir: string, shown: string, owner: TrialOwner): void {
  const mark = markOf(dir);
  if (mark?.sweep !== owner.sweep || mark.trial !== owner.trial) {
    throw new Error(
      `${shown} in the store is not ${owner.trial} of sweep ${owner.sweep}` +
        (mark ? ` (it holds ${mark.trial} of sweep ${mark.sweep})` : ' (no sweep started it)'),
    );
  }
}
