/**
 * Diagnostics of world models (issue 11, "Knowing how wrong"): plain functions that measure a model on
 * real transitions (one-step errors, rewards, outcomes, disagreement against error), roll it open-loop
 * along real episodes, run policies inside it, and the statistics they rest on (ranks, Spearman, AUROC,
 * F1). `npm run model-report` (src/cli/model-report.ts) puts them together.
 */
export { type EpisodeIndex, followRows, indexEpisodes } from '../episode-index.ts';
export {
  type EpisodeEnding,
  type EpisodeReturns,
  type ModelEpisodeOptions,
  modelEpisodeReturns,
  type PolicyAct,
} from './model-returns.ts';
export {
  allocateElitePredictions,
  canWarmMemory,
  chooseRows,
  defaultWarmSteps,
  type ElitePredictions,
  type HorizonError,
  type MemoryWarmer,
  memoryBefore,
  type OpenLoopRollout,
  openLoopErrors,
  type PredictOptions,
  predictTransitions,
  rollOpenLoop,
  writeEliteMean,
} from './predictions.ts';
export {
  auroc,
  averageRanks,
  type BinaryScores,
  bestF1Threshold,
  binaryScores,
  columnMoments,
  mean,
  pearson,
  scoresOf,
  separationAuroc,
  spearman,
  type ThresholdScores,
} from './statistics.ts';
export {
  type DisagreementCalibration,
  disagreementCalibration,
  expectedCounts,
  expectedReward,
  type OneStepErrors,
  type OutcomeClassMetrics,
  type OutcomeMetrics,
  oneStepErrorInSpread,
  oneStepErrors,
  outcomeMetrics,
  type RewardError,
  type RewardErrors,
  realChanges,
  rewardErrors,
  STATE_NAMES,
  stateValueStd,
} from './transition-errors.ts';
