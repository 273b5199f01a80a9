// The env layer's public face: Gymnasium's LunarLander-v3 on planck, its spaces, the reference heuristic,
// vector envs (in-thread and worker_threads) with the contract PPO trains on, and SVG/HTML rendering.
// It stands alone: nothing here imports another layer of the engine, only the leaves src/rng (the seeded
// generator every layer shares) and src/node-builtins (Node's modules for the worker threads, on use).

export { Rng } from '../rng/index.ts';
export * as constants from './constants.ts';
export type { LanderFrame } from './frame.ts';
export { heuristicAction } from './heuristic.ts';
export {
  type LanderAction,
  type LanderInfo,
  LunarLander,
  OBSERVATION_HIGH,
  OBSERVATION_LOW,
  type ResetResult,
  type StepResult,
} from './lunar-lander.ts';
export { ENV_IDS, type EnvId, envFromRecord, landerSpaces, makeEnv, optionsForId } from './make-env.ts';
export { type MakeVectorEnvOptions, makeVectorEnv } from './make-vector-env.ts';
export type { LunarLanderOptions, RenderMode, ResolvedLunarLanderOptions } from './options.ts';
export { renderSvg } from './render-svg.ts';
export {
  type EpisodeRecording,
  type Policy,
  type RecordEpisodeOptions,
  recordEpisode,
  recordReplayHtml,
  replayHtml,
} from './replay-html.ts';
export { Box, Discrete, type Space } from './spaces.ts';
export {
  SyncVectorEnv,
  type VectorEnv,
  type VectorEnvOptions,
  type VectorResetResult,
  type VectorStepResult,
} from './vector.ts';
export { WorkerVectorEnv, type WorkerVectorEnvOptions } from './worker-vector.ts';
