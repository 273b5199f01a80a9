// PPO as the page trains it: the CLI's default 16 in-thread envs and its PPO defaults for the lander.
import { SyncVectorEnv } from '../env/vector.ts';
import type { ActorCritic } from '../rl/actor-critic.ts';
import { Ppo } from '../rl/ppo.ts';
import { ppoDefaultsForLander, resolvePpoConfig } from '../rl/ppo-config.ts';
import { landerEnv } from './landers.ts';
import type { TrainSettings, UpdatePoint } from './protocol.ts';
import { TimedSession } from './session.ts';

/** The CLI's default number of env copies (`npm run train -- ppo --envs`). */
export const WEB_NUM_ENVS = 16;

export class PpoSession extends TimedSession {
  readonly ppo: Ppo;

  constructor(settings: TrainSettings) {
    super(settings);
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

  get policy(): ActorCritic {
    return this.ppo.policy;
  }

  get done(): boolean {
    return this.ppo.done;
  }

  protected advance(): Omit<UpdatePoint, 'stepsPerSecond'> {
    const m = this.ppo.update();
    return { update: m.update, steps: m.steps, meanReturn: m.meanReturn };
  }

  protected progress(): string {
    return `update ${this.ppo.updates}`;
  }
}
