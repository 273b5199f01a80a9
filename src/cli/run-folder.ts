/**
 * One run, one folder (`../shared/design.md`, "Runs"):
 *
 *   config.json          what was asked for, resolved (every hyperparameter)
 *   metrics.jsonl        one JSON object per update (per iteration for the model-based loop)
 *   checkpoints/         update-<n>/ folders and latest.json, which names the newest complete one
 *   eval.json            written by `npm run eval`
 *   plots/               SVG learning curves
 *   replay.html          an episode of the trained policy, for a browser
 *
 * Every file is written to a temporary name and renamed; a checkpoint is a folder that latest.json points
 * to only once all its files are in place, so a crash leaves the previous checkpoint usable.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../nn/index.ts';

export function runPaths(dir: string) {
  return {
    config: join(dir, 'config.json'),
    metrics: join(dir, 'metrics.jsonl'),
    checkpoints: join(dir, 'checkpoints'),
    latest: join(dir, 'checkpoints', 'latest.json'),
    eval: join(dir, 'eval.json'),
    plots: join(dir, 'plots'),
    replay: join(dir, 'replay.html'),
  };
}

export function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function readJson<T>(file: string, what: string): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${what}: cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${what}: ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

export function appendMetrics(dir: string, line: object): void {
  appendFileSync(runPaths(dir).metrics, `${JSON.stringify(line)}\n`);
}

/** The metrics lines of a run; a last line cut short by a crash is ignored. */
export function readMetrics<T = Record<string, unknown>>(dir: string): T[] {
  const file = runPaths(dir).metrics;
  if (!existsSync(file)) return [];
  const rows: T[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch {
      // A partial line from an interrupted append.
    }
  }
  return rows;
}

/**
 * Keeps the metrics of updates up to `update` (those the checkpoint being resumed from had seen); `key`
 * names the field that counts them ('update' for PPO, 'iteration' for the model-based loop).
 */
export function truncateMetrics(dir: string, update: number, key = 'update'): void {
  const kept = readMetrics<Record<string, unknown>>(dir).filter((m) => (m[key] as number) <= update);
  writeFileAtomic(runPaths(dir).metrics, kept.map((m) => `${JSON.stringify(m)}\n`).join(''));
}

export interface LatestCheckpoint {
  update: number;
  /** Folder name under checkpoints/. */
  folder: string;
}

export function checkpointFolder(dir: string, update: number): string {
  return join(runPaths(dir).checkpoints, `update-${String(update).padStart(6, '0')}`);
}

/**
 * Marks the checkpoint of `update` (already written into its folder) as the newest, then deletes all but
 * the newest `keep` checkpoint folders.
 */
export function commitCheckpoint(dir: string, update: number, keep = 2): void {
  const folder = checkpointFolder(dir, update);
  writeJson(runPaths(dir).latest, {
    update,
    folder: folder.split(/[\\/]/).pop()!,
  } satisfies LatestCheckpoint);
  const folders = readdirSync(runPaths(dir).checkpoints)
    .filter((name) => /^update-\d+$/.test(name))
    .sort();
  for (const old of folders.slice(0, Math.max(0, folders.length - keep))) {
    rmSync(join(runPaths(dir).checkpoints, old), { recursive: true, force: true });
  }
}

/** The updates whose checkpoint folders a run still holds, ascending (older ones are pruned). */
export function checkpointUpdates(dir: string): number[] {
  const folder = runPaths(dir).checkpoints;
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .map((name) => /^update-(\d+)$/.exec(name)?.[1])
    .filter((digits): digits is string => digits !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The newest complete checkpoint's folder and update, or null when the run has none. */
export function latestCheckpoint(dir: string): { update: number; path: string } | null {
  const file = runPaths(dir).latest;
  if (!existsSync(file)) return null;
  const latest = readJson<LatestCheckpoint>(file, 'checkpoint');
  return { update: latest.update, path: join(runPaths(dir).checkpoints, latest.folder) };
}
