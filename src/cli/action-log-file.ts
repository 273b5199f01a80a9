/**
 * A training run's real-env action log in its checkpoint (`actions.f32`, raw float32), and the resume that
 * rebuilds the env from it: replay the log into a fresh `RecordedVectorEnv`, then check that the replay
 * reached the observations the run saved, so a changed or non-deterministic env fails loudly.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../nn/index.ts';
import type { ActionLog, RecordedVectorEnv } from '../rl/recorded-env.ts';

/** Writes the log's actions to `file` atomically (seed and step count go in the checkpoint's state.json). */
export function writeActionLog(file: string, log: ActionLog): void {
  writeFileAtomic(file, new Uint8Array(log.actions.buffer, log.actions.byteOffset, log.actions.byteLength));
}

/**
 * Replays the actions in `file` (`log.steps` vector steps after a reset with `log.seed`) into `env` and
 * returns the observations it reached; throws when `stoppedAt` (the run's saved observations) differs.
 */
export function replayActionLog(
  env: RecordedVectorEnv,
  file: string,
  log: { seed: number; steps: number },
  stoppedAt: ArrayLike<number> | undefined,
  dir: string,
): Float32Array {
  const bytes = readFileSync(file);
  const actions = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const observations = env.restore({ ...log, actions });
  if (stoppedAt && !Array.from(stoppedAt).every((v, i) => v === observations[i])) {
    throw new Error(
      `resume: replaying ${log.steps} env steps of ${dir} did not reach the observations the run ` +
        'stopped at; the env is not deterministic under replay (was it changed since?)',
    );
  }
  return observations;
}
