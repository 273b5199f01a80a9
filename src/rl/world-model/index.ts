/** World models apart from the algorithms that use them (see ../shared/design.md, "rl"). */

export {
  ARTICLE_OUTPUT_SIZE,
  ARTICLE_REWARD_SCALE,
  ArticleModel,
  type ArticleModelConfig,
  articleFitDefaults,
  articleInputSize,
  defaultArticleModelConfig,
  encodeArticleInputs,
} from './article-model.ts';
export { bufferTransitions, joinTransitions } from './buffer-transitions.ts';
export { allocatePrediction, decodeOutputs } from './decode-outputs.ts';
export type {
  DynamicsKind,
  DynamicsModel,
  DynamicsPrediction,
  EpisodeTransitions,
} from './dynamics-model.ts';
export { defaultEnsembleModelConfig, EnsembleModel, type EnsembleModelConfig } from './ensemble-model.ts';
export { type EpisodeSplit, episodeUniform, splitByEpisode } from './episode-split.ts';
export {
  defaultFamiliarityModelConfig,
  type FamiliarityCalibration,
  FamiliarityModel,
  type FamiliarityModelConfig,
} from './familiarity-model.ts';
export { defaultGruModelConfig, GruModel, type GruModelConfig, type WindowEvaluation } from './gru-model.ts';
export {
  defaultInverseModelConfig,
  type InverseEvaluation,
  InverseModel,
  type InverseModelConfig,
} from './inverse-model.ts';
export * from './lander-layout.ts';
export { defaultMlpModelConfig, MlpModel, type MlpModelConfig } from './mlp-model.ts';
export {
  encodeInputs,
  LanderScalers,
  type ModelData,
  modelInputSize,
  outcomeWeights,
  prepareModelData,
} from './model-data.ts';
export {
  defaultModelEnvConfig,
  type ModelEnvConfig,
  REST_RULES,
  type RestRule,
  resolveModelEnvConfig,
} from './model-env-config.ts';
export { readModelFile, saveModelFile } from './model-file.ts';
export {
  type AnyModel,
  DYNAMICS_KINDS,
  type FittableModel,
  isModelKind,
  loadDynamicsModel,
  loadModel,
  MODEL_KINDS,
  type ModelKind,
  makeModel,
  STANDARD_MODEL_KINDS,
} from './model-kinds.ts';
export { type LossParts, landerModelLoss } from './model-loss.ts';
export {
  type FamiliarityScorer,
  familiarityScorer,
  type ModelEnvCounters,
  type ModelEnvState,
  ModelVectorEnv,
  type ModelVectorEnvOptions,
  type ModelVectorStep,
} from './model-vector-env.ts';
export {
  ReplayBuffer,
  type ReplayBufferOptions,
  type ReplayWindows,
  type StoredTransition,
  type Transition,
  type TransitionBatch,
} from './replay-buffer.ts';
export {
  decodeReplayBuffer,
  type ExpectedReplayBufferSizes,
  encodeReplayBuffer,
  type ReplayBufferState,
} from './replay-buffer-file.ts';
export { sampleRecentIndices, sampleUniformIndices } from './replay-sampling.ts';
export { engineFires, type SleepTolerance, standsStill, stillStepsBefore } from './sleep-rule.ts';
export { FitThreads } from './split-fit.ts';
export { Standardizer } from './standardizer.ts';
export { branchStarts, lastSteps, type StartHistory, type StartSet } from './start-states.ts';
export {
  clipGradValue,
  defaultFitOptions,
  type EpochMetrics,
  type FitOptions,
  type FitReport,
  fitLearner,
  fitLearnerSteps,
  type Learner,
  resolveFitOptions,
  runToEnd,
  stepsOf,
  type ValidationErrors,
} from './trainer.ts';
