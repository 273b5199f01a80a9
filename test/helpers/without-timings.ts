import type { FitReport } from '../../src/rl/world-model/trainer.ts';

/**
 * Metrics rows without their wall-clock fields (every key ending in "Seconds"), which differ between any two
 * runs; what is left must match exactly between runs that should be the same (a resume, a second thread).
 */
export function withoutTimings<T extends object>(rows: readonly T[]): Record<string, unknown>[] {
  return rows.map((row) =>
    Object.fromEntries(Object.entries(row).filter(([key]) => !key.endsWith('Seconds'))),
  );
}

/** A fit's report without its wall-clock seconds (the whole fit's and each epoch's). */
export function reportWithoutTimings({ seconds: _fit, epochs, ...rest }: FitReport) {
  return { ...rest, epochs: epochs.map(({ seconds: _epoch, ...epoch }) => epoch) };
}
