/**
 * Model-predictive control of the real lander: before every real step, plan in the learned model from the
 * real observation (cem.ts) and carry out the plan's first action. The controller keeps what the
 * observation does not show and the model env needs: how many steps in a row the real lander has stood
 * still with no engine firing (the sleep rule's count), so a plan made on the pad knows how close it is to
 * resting.
 */
import type { ActorCritic } from './actor-critic.ts';
import { CemPlanner, type PlanResult } from './cem.ts';
import type { CemConfig } from './cem-config.ts';
import { ModelPlanEvaluator } from './model-plan-evaluator.ts';
import { isDiscrete } from './vector-env.ts';
import type { DynamicsModel } from './world-model/dynamics-model.ts';
import { type ModelEnvConfig, resolveModelEnvConfig } from './world-model/model-env-config.ts';
import type { FamiliarityScorer } from './world-model/model-vector-env.ts';
import { engineFires, type SleepTolerance, standsStill } from './world-model/sleep-rule.ts';

/** What a controller may plan with besides the model: the autoencoder, a policy, the model env's rules. */
export interface CemControllerParts {
  /** The autoencoder's scorer, for cem.lambdaFamiliarity > 0. */
  familiarity?: FamiliarityScorer;
  /** The policy for prior candidates and the critic for the terminal value. */
  policy?: ActorCritic;
  /** The model env's rules (restRule, its tolerances, reward), as the model was trained or planned with. */
  env?: Partial<ModelEnvConfig>;
}

/**
 * A CEM controller on `model` with the planner settings `cem`: the evaluator, the planner and the
 * controller, which counts the real lander's stillness by the same tolerances the model env applies.
 */
export function cemController(
  model: DynamicsModel,
  cem: CemConfig,
  parts: CemControllerParts = {},
): MpcController {
  const evaluator = new ModelPlanEvaluator({
    model,
    population: cem.population,
    particles: cem.particles,
    particleMode: cem.particleMode,
    gamma: cem.gamma,
    lambdaUncertainty: cem.lambdaUncertainty,
    lambdaFamiliarity: cem.lambdaFamiliarity,
    familiarity: parts.familiarity,
    policy: parts.policy,
    terminalValue: cem.terminalValue,
    env: parts.env,
    seed: cem.seed,
  });
  const rules = resolveModelEnvConfig(parts.env);
  return new MpcController(new CemPlanner(evaluator, cem), {
    sleepSpeed: rules.sleepSpeed,
    sleepSpin: rules.sleepSpin,
  });
}

export class MpcController {
  private stillSteps = 0;
  private lastAction: Float32Array | null = null;
  /** Seconds spent planning, and actions planned, since the controller was made. */
  planSeconds = 0;
  plannedActions = 0;
  /** The last plan's result. */
  last: PlanResult | null = null;

  constructor(
    readonly planner: CemPlanner,
    private readonly tolerance: SleepTolerance,
  ) {}

  /** A new episode: a fresh plan and no stillness behind the lander. */
  reset(): void {
    this.planner.reset();
    this.stillSteps = 0;
    this.lastAction = null;
  }

  /** The action for the real observation the last action led to (or the episode's first). */
  act(observation: Float32Array): Float32Array {
    const discrete = isDiscrete(this.planner.actionSpace);
    if (this.lastAction) {
      const quiet = standsStill(observation, 0, this.tolerance) && !engineFires(discrete, this.lastAction, 0);
      this.stillSteps = quiet ? this.stillSteps + 1 : 0;
    }
    const started = performance.now();
    this.last = this.planner.plan({ observation, stillSteps: this.stillSteps });
    this.planSeconds += (performance.now() - started) / 1000;
    this.plannedActions++;
    this.lastAction = this.last.action;
    return this.last.action;
  }
}
