// Shared by the benchmark suites: where results go and how a summary is printed.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Writes `data` as pretty JSON under bench/results, atomically (temporary file, then rename). */
export function saveResult(name: string, data: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(tmp, file);
  return file;
}

export interface Target {
  label: string;
  measured: number;
  required: number;
}

export function printTargets(targets: Target[]): boolean {
  let allMet = true;
  for (const t of targets) {
    const met = t.measured >= t.required;
    allMet &&= met;
    console.log(`${met ? 'MET ' : 'MISS'}  ${t.label}: ${t.measured.toFixed(2)} (need >= ${t.required})`);
  }
  return allMet;
}

export function machineInfo(): Record<string, string | number> {
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    date: new Date().toISOString(),
  };
}
