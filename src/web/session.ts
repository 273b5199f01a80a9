/**
 * A training session as the page runs it, with no DOM and no worker API, so Node runs the very same code
 * (the `web` benchmark's Node side and the tests): one update at a time, the steps per second of the
 * updates alone, greedy episodes of the current policy, and its weights as a policy.safetensors that
 * `npm run eval` reads (the metadata names the env).
 */
import { recordEpisode } from '../env/replay-html.ts';
import { moduleToSafetensors } from '../nn/serialize.ts';
import type { ActorCritic } from '../rl/actor-critic.ts';
import { type LanderEnv, landerEnv } from './landers.ts';
import type { Episode, ModelPath, TrainSettings, UpdatePoint } from './protocol.ts';

export interface TrainingSession {
  readonly settings: TrainSettings;
  /** The policy being trained (acting in the real env). */
  readonly policy: ActorCritic;
  readonly done: boolean;
  /** One PPO update, or one iteration of the model-based agent. */
  update(): UpdatePoint;
  /** One greedy episode of the current policy from `seed`. */
  episode(seed: number): Episode;
  weights(): Uint8Array;
  /** The model-based agent's open-loop prediction of its latest finished real episode; null for PPO. */
  modelPath(): ModelPath | null;
}

export function checkSettings(settings: TrainSettings): void {
  if (!Number.isSafeInteger(settings.seed) || settings.seed < 0) {
    throw new Error(`seed = ${settings.seed} is invalid; expected a whole number, 0 or more`);
  }
  if (!Number.isSafeInteger(settings.steps) || settings.steps < 1) {
    throw new Error(`steps = ${settings.steps} is invalid; expected a positive whole number of real steps`);
  }
  landerEnv(settings.lander);
}

/** What the two agents share: timing the updates alone, episodes and weights of the policy. */
export abstract class TimedSession implements TrainingSession {
  private updateSeconds = 0;

  constructor(readonly settings: TrainSettings) {}

  abstract get policy(): ActorCritic;
  abstract get done(): boolean;
  /** The update itself; its point without the rate, which `update` adds. */
  protected abstract advance(): Omit<UpdatePoint, 'stepsPerSecond'>;
  /** 'update 12' or 'iteration 3': what the policy has been through, for captions. */
  protected abstract progress(): string;

  update(): UpdatePoint {
    const started = performance.now();
    const point = this.advance();
    this.updateSeconds += (performance.now() - started) / 1000;
    return { ...point, stepsPerSecond: point.steps / this.updateSeconds };
  }

  episode(seed: number): Episode {
    return greedyEpisode(this.policy, landerEnv(this.settings.lander), seed, 'training', this.progress());
  }

  weights(): Uint8Array {
    const { envId, envOptions } = landerEnv(this.settings.lander);
    return moduleToSafetensors(this.policy, {
      algorithm: this.settings.agent,
      progress: this.progress(),
      seed: String(this.settings.seed),
      envId,
      envOptions: JSON.stringify(envOptions),
      trainedBy: 'lander-engine web page',
    });
  }

  modelPath(): ModelPath | null {
    return null;
  }
}

/** An episode acting as the CLI's evaluation does: the argmax action, or the Gaussian mean clipped. */
export function greedyEpisode(
  policy: ActorCritic,
  { envId, envOptions }: LanderEnv,
  seed: number,
  source: Episode['source'],
  label: string,
): Episode {
  const action = new Float32Array(policy.discrete ? 1 : policy.actionOutputs);
  const recording = recordEpisode({
    envId,
    envOptions,
    seed,
    policy: (observation) => {
      policy.act(observation, action);
      return policy.discrete ? action[0]! : Array.from(action);
    },
  });
  return { source, label, seed, totalReward: recording.totalReward, frames: recording.frames };
}
