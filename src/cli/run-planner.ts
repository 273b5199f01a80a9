/**
 * Model-predictive control on top of a run folder: its newest checkpoint's world model (and autoencoder,
 * where the run fitted one) under a CEM planner, with the run's policy as the optional prior and its critic
 * as the optional terminal value; the model env's rules are the ones the run trained with.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type CemConfig, defaultCemConfig, resolveCemConfig } from '../rl/cem-config.ts';
import { cemController, type MpcController } from '../rl/mpc-controller.ts';
import { petsCemConfig } from '../rl/pets-config.ts';
import { FamiliarityModel, familiarityScorer, loadDynamicsModel } from '../rl/world-model/index.ts';
import type { ModelEnvConfig } from '../rl/world-model/model-env-config.ts';
import { parseSetValue, UsageError } from './args.ts';
import { latestCheckpoint } from './run-folder.ts';
import { loadRunPolicy, type RunConfig, readRunConfig } from './run-policy.ts';

export const PLANNERS = ['cem'] as const;
export const CEM_KEYS = Object.keys(defaultCemConfig);

/** `cem.<field>=value` entries as planner overrides; anything else is an error naming what is known. */
export function parseCemOverrides(entries: readonly string[]): Partial<CemConfig> {
  const overrides: Record<string, unknown> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = entry.slice(0, eq);
    const raw = entry.slice(eq + 1);
    const field = key.startsWith('cem.') ? key.slice(4) : '';
    if (!CEM_KEYS.includes(field)) {
      throw new Error(
        `--set ${entry}: unknown option '${key}'; expected cem.<one of ${CEM_KEYS.join(', ')}>`,
      );
    }
    overrides[field] = parseSetValue(raw, (defaultCemConfig as Record<string, unknown>)[field]);
  }
  return overrides as Partial<CemConfig>;
}

/** The model env rules a run trained (or planned) in, or the env's defaults. */
export function runModelEnvRules(config: RunConfig): Partial<ModelEnvConfig> {
  if (config.algorithm === 'pets') return { restRule: config.pets.restRule };
  if (config.algorithm !== 'simple') return {};
  const s = config.simple;
  return { reward: s.modelReward, outOfBoundsCrash: s.outOfBoundsCrash, restRule: s.restRule };
}

export interface RunPlanner {
  controller: MpcController;
  config: CemConfig;
  /** The checkpoint's iteration or update the model and policy come from. */
  update: number;
}

/** An MPC controller on a run's newest model, with the planner settings `overrides`. */
export function loadRunPlanner(dir: string, overrides: Partial<CemConfig>): RunPlanner {
  const checkpoint = latestCheckpoint(dir);
  const modelFile = checkpoint ? join(checkpoint.path, 'model.safetensors') : '';
  if (!checkpoint || !existsSync(modelFile)) {
    throw new UsageError(
      `run ${dir}: no world model in its newest checkpoint; --planner needs a run with a model`,
    );
  }
  const run = readRunConfig(dir);
  // A PETS run's own planner settings are the base; the flags change them.
  const config = resolveCemConfig(
    run.algorithm === 'pets' ? { ...petsCemConfig(run.pets), ...overrides } : overrides,
  );
  const usesPolicy = config.priorShare > 0 || config.terminalValue;
  if (usesPolicy && run.algorithm === 'pets') {
    throw new UsageError(`run ${dir}: a PETS run has no policy for cem.priorShare or cem.terminalValue`);
  }
  const policy = usesPolicy ? loadRunPolicy(dir, checkpoint.update).policy : undefined;
  const model = loadDynamicsModel(modelFile);
  const familiarityFile = join(checkpoint.path, 'familiarity.safetensors');
  const familiarity =
    config.lambdaFamiliarity > 0
      ? existsSync(familiarityFile)
        ? familiarityScorer(FamiliarityModel.load(familiarityFile))
        : (() => {
            throw new Error(
              `run ${dir}: cem.lambdaFamiliarity > 0 needs an autoencoder; the checkpoint has none`,
            );
          })()
      : undefined;
  const controller = cemController(model, config, { familiarity, policy, env: runModelEnvRules(run) });
  return { controller, config, update: checkpoint.update };
}
