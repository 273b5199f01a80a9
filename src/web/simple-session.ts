/**
 * The model-based agent as the page trains it: `Simple` on its default config (the one the README's results
 * use), with the lander and seed from the page and `steps` as its real-step budget. Its iterations are
 * heavy (a model fit and 100k imagined steps each), so updates arrive tens of seconds apart. After each
 * one, the model the agent now trains in is rolled open-loop along the latest finished real episode under
 * its real actions: the path the page draws beside the real one.
 */
import { SyncVectorEnv } from '../env/vector.ts';
import type { ActorCritic } from '../rl/actor-critic.ts';
import { Simple } from '../rl/simple.ts';
import { resolveSimpleConfig, type SimpleConfig } from '../rl/simple-config.ts';
import { bufferTransitions } from '../rl/world-model/buffer-transitions.ts';
import { errorAtHorizon } from '../rl/world-model/diagnostics/fresh-errors.ts';
import { rollOpenLoop } from '../rl/world-model/diagnostics/predictions.ts';
import type { EpisodeTransitions } from '../rl/world-model/dynamics-model.ts';
import { type EpisodeIndex, followRows, indexEpisodes } from '../rl/world-model/episode-index.ts';
import { OBSERVATION_SIZE } from '../rl/world-model/lander-layout.ts';
import { landerEnv } from './landers.ts';
import type { ModelPath, TrainSettings, UpdatePoint } from './protocol.ts';
import { TimedSession } from './session.ts';

/** The open-loop path is drawn for at most this many steps of the episode. */
const PATH_STEPS = 300;

export class SimpleSession extends TimedSession {
  readonly simple: Simple;
  private readonly maxEpisodeSteps: number;

  /** `overrides` change the default config (the tests' small one); the page passes none. */
  constructor(settings: TrainSettings, overrides: Partial<SimpleConfig> = {}) {
    super(settings);
    const { envOptions } = landerEnv(settings.lander);
    const config = resolveSimpleConfig(
      {
        // One thread: the refit's helper thread needs Node's worker_threads.
        threads: 1,
        ...overrides,
        seed: settings.seed,
        totalRealSteps: settings.steps,
      },
      envOptions.continuous === true,
    );
    const env = new SyncVectorEnv({ numEnvs: config.realEnvs, envOptions });
    this.maxEpisodeSteps = envOptions.maxEpisodeSteps ?? 1000;
    const trialEnv = config.trialEpisodes > 0 ? new SyncVectorEnv({ numEnvs: 1, envOptions }) : undefined;
    this.simple = new Simple(env, config, { trialEnv });
    this.simple.start();
  }

  get policy(): ActorCritic {
    return this.simple.policy;
  }

  get done(): boolean {
    return this.simple.done;
  }

  protected advance(): Omit<UpdatePoint, 'stepsPerSecond'> {
    const m = this.simple.iterate();
    return {
      update: m.iteration,
      steps: m.realSteps,
      meanReturn: m.realMeanReturn,
      model: { horizon: m.horizon, openLoopError: m.fresh ? errorAtHorizon(m.fresh, m.horizon) : null },
    };
  }

  protected progress(): string {
    return `iteration ${this.simple.iteration}`;
  }

  override modelPath(): ModelPath | null {
    const t = bufferTransitions(this.simple.buffer);
    const index = indexEpisodes(t, 'SimpleSession.modelPath');
    const rows = this.latestFinishedEpisode(t, index);
    if (rows === null) return null;
    const steps = Math.min(rows.length, PATH_STEPS);
    const rollout = rollOpenLoop(this.simple.model, t, index, [rows[0]!], steps);
    const O = OBSERVATION_SIZE;
    const real = [t.observations[rows[0]! * O]!, t.observations[rows[0]! * O + 1]!];
    const predicted = [...real];
    for (let s = 0; s < rollout.lengths[0]!; s++) {
      const row = rows[s]!;
      real.push(t.nextObservations[row * O]!, t.nextObservations[row * O + 1]!);
      predicted.push(rollout.predicted[s * O]!, rollout.predicted[s * O + 1]!);
    }
    return { label: this.progress(), real, predicted };
  }

  /** The rows of the newest episode that ended (landed, crashed or ran out of time); null before one has. */
  private latestFinishedEpisode(t: EpisodeTransitions, index: EpisodeIndex): number[] | null {
    for (let e = index.firstRows.length - 1; e >= 0; e--) {
      const rows = followRows(index, index.firstRows[e]!, this.maxEpisodeSteps);
      const last = rows[rows.length - 1]!;
      if (t.terminated[last] === 1 || rows.length >= this.maxEpisodeSteps) return rows;
    }
    return null;
  }
}
