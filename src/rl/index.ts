// The rl layer's public face: PPO and its parts, the model-based agent (PPO in a learned model), CEM and
// PETS planning, the world models (./world-model), and the vector-env contract they all train on. It imports
// only tensor and nn; an env reaches it through the contract in vector-env.ts.

export { ActorCritic, type ActorCriticOptions, clipToBox, OBSERVATION_CLIP } from './actor-critic.ts';
export { CemPlanner, type PlanEvaluator, type PlanResult, type PlanStart } from './cem.ts';
export { type CemConfig, defaultCemConfig, resolveCemConfig } from './cem-config.ts';
export { Categorical, DiagonalGaussian } from './distributions.ts';
export { computeGae, type GaeInput, type GaeOutput } from './gae.ts';
export { cemController, MpcController } from './mpc-controller.ts';
export { Pets, type PetsIterationMetrics, type PetsState } from './pets.ts';
export { defaultPetsConfig, type PetsConfig, resolvePetsConfig } from './pets-config.ts';
export { type PolicyFile, type PolicyShape, policyFromSafetensors } from './policy-file.ts';
export {
  Ppo,
  type PpoParts,
  type PpoState,
  type PpoUpdateMetrics,
  plannedUpdates,
} from './ppo.ts';
export { defaultPpoConfig, type PpoConfig, ppoDefaultsForLander, resolvePpoConfig } from './ppo-config.ts';
export { type ActionLog, RecordedVectorEnv } from './recorded-env.ts';
export { normalizeRows, RunningMeanStd } from './running-stats.ts';
export { Simple, type SimpleIterationMetrics, type SimpleState } from './simple.ts';
export { defaultSimpleConfig, resolveSimpleConfig, type SimpleConfig } from './simple-config.ts';
export { TORCH_POLICY_FILE, torchPolicy, torchPolicySafetensors } from './torch-export.ts';
export {
  actionSize,
  checkActions,
  isDiscrete,
  type RlActionSpace,
  type RlVectorEnv,
  type RlVectorStep,
} from './vector-env.ts';
export * as worldModel from './world-model/index.ts';
