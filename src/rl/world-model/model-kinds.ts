/**
 * Every model kind by name, made and loaded alike: the three dynamics models (mlp, ensemble, gru), the
 * article's own model (article: the baseline of the first ablation row, article-model.ts) and the two
 * helpers that judge imagined transitions (dae: how familiar a state and action are; inverse: which action
 * could have made a transition). All fit on real transitions with the shared trainer and save to one
 * safetensors file whose metadata names the kind.
 */
import { ArticleModel } from './article-model.ts';
import type { DynamicsModel, EpisodeTransitions } from './dynamics-model.ts';
import { EnsembleModel } from './ensemble-model.ts';
import { FamiliarityModel } from './familiarity-model.ts';
import { GruModel } from './gru-model.ts';
import { InverseModel } from './inverse-model.ts';
import type { ModelActionSpace } from './lander-layout.ts';
import { MlpModel } from './mlp-model.ts';
import { readModelFile } from './model-file.ts';
import type { FitOptions, FitReport } from './trainer.ts';

export const MODEL_KINDS = ['mlp', 'ensemble', 'gru', 'dae', 'inverse', 'article'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];
/** The kinds `train-model --model all` fits: the five, not the article's baseline. */
export const STANDARD_MODEL_KINDS = [
  'mlp',
  'ensemble',
  'gru',
  'dae',
  'inverse',
] as const satisfies readonly ModelKind[];
export const DYNAMICS_KINDS = ['mlp', 'ensemble', 'gru', 'article'] as const;

/** What every kind offers. */
export interface FittableModel {
  fit(train: EpisodeTransitions, validation: EpisodeTransitions, options?: Partial<FitOptions>): FitReport;
  save(file: string, metadata?: Record<string, string>): void;
}

export type AnyModel = MlpModel | EnsembleModel | GruModel | FamiliarityModel | InverseModel | ArticleModel;

export function isModelKind(value: string): value is ModelKind {
  return (MODEL_KINDS as readonly string[]).includes(value);
}

/** A new model of `kind` with its default config, weights drawn from `seed`. */
export function makeModel(kind: ModelKind, space: ModelActionSpace, seed: number): AnyModel {
  switch (kind) {
    case 'mlp':
      return new MlpModel(space, { seed });
    case 'ensemble':
      return new EnsembleModel(space, { seed });
    case 'gru':
      return new GruModel(space, { seed });
    case 'dae':
      return new FamiliarityModel(space, { seed });
    case 'inverse':
      return new InverseModel(space, { seed });
    case 'article':
      return new ArticleModel(space, { seed });
  }
}

/** The model saved in `file`, whatever its kind. */
export function loadModel(file: string): AnyModel {
  const kind = readModelFile(file).kind;
  switch (kind) {
    case 'mlp':
      return MlpModel.load(file);
    case 'ensemble':
      return EnsembleModel.load(file);
    case 'gru':
      return GruModel.load(file);
    case 'dae':
      return FamiliarityModel.load(file);
    case 'inverse':
      return InverseModel.load(file);
    case 'article':
      return ArticleModel.load(file);
    default:
      throw new Error(
        `loadModel: ${file} holds a model of unknown kind '${kind}'; expected one of ${MODEL_KINDS.join(', ')}`,
      );
  }
}

/** The dynamics model saved in `file` (mlp, ensemble, gru or article), or a clear error. */
export function loadDynamicsModel(file: string): DynamicsModel {
  const model = loadModel(file);
  if (!('memorySize' in model)) {
    throw new Error(
      `loadDynamicsModel: ${file} holds a '${readModelFile(file).kind}' model, not a dynamics model`,
    );
  }
  return model;
}
