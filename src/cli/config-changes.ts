/**
 * Hyperparameters changed when a run resumes: `npm run train -- <algorithm> --resume <dir> --set key=value`,
 * what population-based training does between segments. The new values apply from the checkpoint the run
 * resumes at. config.json takes them (so a later resume keeps them) and, in the same atomic write, its
 * `changes` list gains the update and real step they apply from with the old and new values, so the
 * schedule a run followed can be read back and plotted. A field fixed for a run (the algorithm config's
 * `*_FIXED_DURING_RUN`) may be set again only to the value it has.
 */
import { UsageError, usageOnError } from './args.ts';
import { latestCheckpoint, readJson, readMetrics, runPaths, writeJson } from './run-folder.ts';

export interface ConfigChange {
  /** The update (iteration, for the model-based loops) after which the change applies. */
  update: number;
  /** Real environment steps at that point. */
  steps: number;
  /** The new values, named as `--set` names them (`ppo.gamma`). */
  set?: Record<string, unknown>;
  /** The values they replaced (null: not set, so the default). */
  was?: Record<string, unknown>;
  /** Population-based training's exploit: the run whose checkpoint and metrics this run continued from. */
  checkpointFrom?: string;
}

/** A run's config.json as far as its history goes. */
export interface ChangedConfig {
  changes?: ConfigChange[];
}

/** A config with its nested sections (PPO's within the model-based loop, CEM's within PETS) as `ppo.gamma`. */
export function flattenConfig(config: object): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, v] of Object.entries(value)) flat[`${key}.${inner}`] = v;
    } else {
      flat[key] = value;
    }
  }
  return flat;
}

const same = (a: unknown, b: unknown) => Object.is(a, b) || JSON.stringify(a) === JSON.stringify(b);

/** Where a resumed run continues from: its newest checkpoint's update and the real steps it had there. */
export function resumePoint(dir: string, counter: 'update' | 'iteration'): { update: number; steps: number } {
  const update = latestCheckpoint(dir)?.update ?? 0;
  const line = readMetrics<Record<string, number>>(dir)
    .filter((m) => m[counter]! <= update)
    .at(-1);
  return { update, steps: line?.steps ?? 0 };
}

/**
 * The run's config with `section` replaced by `next` (already resolved and checked) and the change recorded
 * at the resume point; `run` itself when nothing differs. A fixed field set to another value is a usage
 * error that names it.
 */
export function withChanges<R extends ChangedConfig, K extends keyof R & string>(
  dir: string,
  run: R,
  section: K,
  next: R[K],
  fixed: readonly string[],
  counter: 'update' | 'iteration',
): R {
  const before = flattenConfig(run[section] as object);
  const after = flattenConfig(next as object);
  const set: Record<string, unknown> = {};
  const was: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (same(before[key], after[key])) continue;
    if (fixed.includes(key)) {
      throw new UsageError(
        `--set ${key}=${JSON.stringify(after[key])}: ${key} is fixed once a run has started ` +
          `(${dir} has ${JSON.stringify(before[key])}); fixed: ${fixed.join(', ')}`,
      );
    }
    set[key] = after[key] ?? null;
    was[key] = before[key] ?? null;
  }
  if (Object.keys(set).length === 0) return run;
  const change: ConfigChange = { ...resumePoint(dir, counter), set, was };
  return { ...run, [section]: next, changes: [...(run.changes ?? []), change] };
}

/**
 * The fields whose values a change recorded at `update` set: those a run resumed from its checkpoint at
 * `update` takes afresh there (a starting value that a dynamic rule then moves), whether or not the session
 * that recorded the change got further before it stopped.
 */
export function keysChangedAt(run: ChangedConfig, update: number): Set<string> {
  const keys = new Set<string>();
  for (const change of run.changes ?? []) {
    if (change.update === update) for (const key of Object.keys(change.set ?? {})) keys.add(key);
  }
  return keys;
}

/**
 * Appends `change` to the `changes` of the run's config.json (read and written as plain JSON, so every
 * algorithm's config keeps its own fields), unless it is already the last entry: a retried job records once.
 */
export function recordChange(dir: string, change: ConfigChange): void {
  const file = runPaths(dir).config;
  const config = readJson<ChangedConfig>(file, `run ${dir}`);
  const last = config.changes?.at(-1);
  if (last && JSON.stringify(last) === JSON.stringify(change)) return;
  writeJson(file, { ...config, changes: [...(config.changes ?? []), change] });
}

/** `overrides` on `config`, nested sections (ppo, cem) merged field by field. */
function merged<C>(config: C, overrides: object): C {
  const out: Record<string, unknown> = { ...(config as object) };
  for (const [key, value] of Object.entries(overrides)) {
    const inner = out[key];
    const nested = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    out[key] = nested(value) && nested(inner) ? { ...(inner as object), ...(value as object) } : value;
  }
  return out as C;
}

/**
 * A resumed run's config with `set` applied to its `section` (checked by `resolve`; a bad value is a usage
 * error), the change recorded and written by `write`; `run` itself when `set` changes nothing.
 */
export function changedOnResume<R extends ChangedConfig, K extends keyof R & string>(
  dir: string,
  run: R,
  section: K,
  set: object | undefined,
  rules: { resolve: (config: R[K]) => R[K]; fixed: readonly string[]; counter: 'update' | 'iteration' },
  write: (run: R) => void,
): R {
  if (!set || Object.keys(set).length === 0) return run;
  const next = usageOnError(() => rules.resolve(merged(run[section], set)));
  const changed = withChanges(dir, run, section, next, rules.fixed, rules.counter);
  if (changed !== run) write(changed);
  return changed;
}
