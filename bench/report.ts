// Shared by the benchmark suites: where results go and how a summary is printed.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CommandSpec, HelpRequested, type ParsedArgs, parseArgs } from '../src/cli/args.ts';
import { writeFileAtomic } from '../src/nn/index.ts';

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Writes `data` as pretty JSON under bench/results, atomically (temporary file, then rename). */
export function saveResult(name: string, data: unknown): string {
  const file = join(resultsDir, `${name}.json`);
  writeFileAtomic(file, `${JSON.stringify(data, null, 2)}\n`);
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

/** The middle value (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A suite's command line parsed strictly by its spec; a bad flag prints the usage and exits 2, --help 0. */
export function parseBenchArgs(spec: CommandSpec): ParsedArgs {
  try {
    return parseArgs(process.argv.slice(2), spec);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(error instanceof HelpRequested ? 0 : 2);
  }
}
