/**
 * PPO training as the page runs it, with no DOM and no worker API, so Node runs the very same code (the
 * `web` benchmark's Node side): the in-thread vector env of the CLI's default 16 copies, the CLI's PPO
 * defaults for the lander, and greedy episodes of the current policy for the canvas.
 */
import { recordEpisode } from '../env/replay-html.ts';
import { SyncVectorEnv } from '../env/vector.ts';
import { moduleToSafetensors } from '../nn/serialize.ts';
import type { ActorCritic } from '../rl/actor-critic.ts';
import { Ppo } from '../rl/ppo.ts';
import { ppoDefaultsForLander, resolvePpoConfig } from '../rl/ppo-config.ts';
import { type LanderKind, landerEnv } from './landers.ts';
import type { Episode, TrainSettings, UpdatePoint } from './protocol.ts';

/** The CLI's default number of env copies (`npm run train -- ppo --envs`). */
export const WEB_NUM_ENVS = 16;

export class TrainingSession {
  readonly ppo: Ppo;
  private updateSeconds = 0;

  constructor(readonly settings: TrainSettings) {
    if (settings.agent !== 'ppo') {
      throw new Error(`agent '${String(settings.agent)}' is not offered in the page; expected 'ppo'`);
    }
    if (!Number.isSafeInteger(settings.seed) || settings.seed < 0) {
      throw new Error(`seed = ${settings.seed} is invalid; expected a whole number, 0 or more`);
    }
    const { envId, envOptions } = landerEnv(settings.lander);
    const env = new SyncVectorEnv({ numEnvs: WEB_NUM_ENVS, envOptions });
    const config = resolvePpoConfig(
      {
        ...ppoDefaultsForLander(envId === 'LunarLanderContinuous-v3'),
        seed: settings.seed,
        totalSteps: settings.steps,
      },
      WEB_NUM_ENVS,
    );
    this.ppo = new Ppo(env, config);
    this.ppo.start();
  }

  get done(): boolean {
    return this.ppo.done;
  }

  /** One PPO update, timed on its own (replays and messages are not training). */
  update(): UpdatePoint {
    const started = performance.now();
    const m = this.ppo.update();
    this.updateSeconds += (performance.now() - started) / 1000;
    return {
      update: m.update,
      steps: m.steps,
      meanReturn: m.meanReturn,
      stepsPerSecond: m.steps / this.updateSeconds,
    };
  }

  /** One greedy episode of the current policy from `seed`. */
  episode(seed: number): Episode {
    return greedyEpisode(
      this.ppo.policy,
      this.settings.lander,
      seed,
      'training',
      `update ${this.ppo.updates}`,
    );
  }

  /** The current policy as a policy.safetensors that `npm run eval` reads (its metadata names the env). */
  weights(): Uint8Array {
    const { envId, envOptions } = landerEnv(this.settings.lander);
    return moduleToSafetensors(this.ppo.policy, {
      algorithm: 'ppo',
      update: String(this.ppo.updates),
      steps: String(this.ppo.steps),
      seed: String(this.settings.seed),
      envId,
      envOptions: JSON.stringify(envOptions),
      trainedBy: 'lander-engine web page',
    });
  }
}

/** An episode acting as the CLI's evaluation does: the argmax action, or the Gaussian mean clipped. */
export function greedyEpisode(
  policy: ActorCritic,
  lander: LanderKind,
  seed: number,
  source: Episode['source'],
  label: string,
): Episode {
  const { envId, envOptions } = landerEnv(lander);
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
