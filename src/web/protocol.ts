// The messages between the page and its training worker. Typed arrays and ArrayBuffers travel as they are
// (structured clone); the worker never shares memory with the page.
import type { LanderFrame } from '../env/frame.ts';
import type { LanderKind } from './landers.ts';

export const AGENTS = ['ppo', 'simple'] as const;
export type AgentKind = (typeof AGENTS)[number];

export interface TrainSettings {
  lander: LanderKind;
  agent: AgentKind;
  seed: number;
  /** Real steps to train for. */
  steps: number;
}

export type ToWorker =
  | { type: 'start'; settings: TrainSettings }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'download' }
  /**
   * Play a policy file greedily from `seed` (the CLI's evaluation: argmax or mean), on the env its metadata
   * names, or on `lander` where it names none.
   */
  | { type: 'load-policy'; lander: LanderKind; seed: number; name: string; bytes: ArrayBuffer };

export interface UpdatePoint {
  update: number;
  /** Real environment steps so far. */
  steps: number;
  /** Mean return of the last (up to) 100 training episodes; null before one ends. */
  meanReturn: number | null;
  /** Real steps per second of the updates so far (collecting and optimising, not the replays). */
  stepsPerSecond: number;
  /** The model-based agent's model after this iteration; absent for PPO. */
  model?: ModelPoint;
}

export interface ModelPoint {
  /** The horizon H of this iteration's imagined rollouts. */
  horizon: number;
  /**
   * The open-loop error at H of the model PPO trained in last iteration, on the new real episodes it had
   * never seen (mean over state numbers of RMSE / their spread), as `npm run plot`'s model chart; null on
   * the first iteration.
   */
  openLoopError: number | null;
}

/** A real episode's path and the model's open-loop prediction of it under the same actions. */
export interface ModelPath {
  label: string;
  /** Flat [x0, y0, x1, y1, ...] of the observation's position (Gymnasium's scaled units). */
  real: number[];
  predicted: number[];
}

export interface Episode {
  /** Whose episode: the policy being trained, or a file loaded by the user. */
  source: 'training' | 'file';
  /** The training update it was played after (training) or the file's name. */
  label: string;
  seed: number;
  totalReward: number;
  frames: LanderFrame[];
}

export type FromWorker =
  | { type: 'ready'; kernels: string; relaxedSimd: boolean }
  /** 'failed' follows the error that ended training (an 'error' message). */
  | { type: 'state'; state: 'running' | 'paused' | 'finished' | 'failed' }
  | { type: 'update'; point: UpdatePoint }
  | { type: 'episode'; episode: Episode }
  | { type: 'model-path'; path: ModelPath }
  | { type: 'weights'; fileName: string; bytes: ArrayBuffer }
  | { type: 'error'; message: string };
