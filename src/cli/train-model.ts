/**
 * `npm run train -- model --data data/<a>[,data/<b>...] --model ensemble|mlp|gru|dae|inverse|article|all
 * --seed 1 --out runs/<name>`: fits world models of the lander on collected data into a run folder:
 *   config.json     what was asked for (data, kinds, seed, fit options) and the split's sizes
 *   metrics.jsonl   one line per model and epoch: training loss, the validation error of every predicted
 *                   dimension, seconds
 *   <kind>.safetensors  the fitted model (weights, scalers, calibration), loadable by `loadModel`
 *   summary.json    per model: best epoch, why it stopped, seconds, its best validation errors
 * `--model all` fits every kind but the article's baseline on the same split. Rows are split into training
 * and validation by episode.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  defaultFitOptions,
  type FitOptions,
  type FitReport,
  isModelKind,
  MODEL_KINDS,
  type ModelKind,
  makeModel,
  resolveFitOptions,
  STANDARD_MODEL_KINDS,
} from '../rl/world-model/index.ts';
import { type CommandSpec, parseArgs, parseOverrides, UsageError } from './args.ts';
import { loadDataFolders, splitTransitions } from './data-folders.ts';
import { ProgressBar } from './progress.ts';
import { appendMetrics, runPaths, writeJson } from './run-folder.ts';

const FIT_KEYS = Object.keys(defaultFitOptions);

export const trainModelSpec: CommandSpec = {
  command: 'train model',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    { name: 'data', type: 'string', help: 'collected data folders, comma-separated (required)' },
    {
      name: 'model',
      type: 'string',
      help: 'which kind to fit, or all (every kind but article; default ensemble)',
      choices: [...MODEL_KINDS, 'all'],
    },
    {
      name: 'seed',
      type: 'int',
      min: 0,
      help: 'seed of the weights, the split and the minibatches (default 1)',
    },
    {
      name: 'validation',
      type: 'number',
      min: 0,
      help: 'fraction of episodes held out for validation (default 0.1)',
    },
    { name: 'out', type: 'string', help: 'run folder (default runs/model-<kind>-s<seed>)' },
    {
      name: 'set',
      type: 'list',
      help: `fit option, repeatable, e.g. --set patience=3 (${FIT_KEYS.join(', ')})`,
    },
    { name: 'quiet', type: 'boolean', help: 'no progress bar' },
  ],
};

export interface TrainModelOptions {
  data: string[];
  kinds: ModelKind[];
  seed: number;
  validationFraction: number;
  out: string;
  fit: Partial<FitOptions>;
  quiet?: boolean;
  log?: (line: string) => void;
}

export interface ModelSummary {
  kind: ModelKind;
  file: string;
  bestEpoch: number;
  stoppedBecause: FitReport['stoppedBecause'];
  epochs: number;
  gradientSteps: number;
  seconds: number;
  validation: FitReport['epochs'][number]['validation'] | null;
}

export function trainModelOptionsFromArgs(argv: readonly string[]): TrainModelOptions {
  const { flags } = parseArgs(argv, trainModelSpec);
  const data = ((flags.data as string | undefined) ?? '').split(',').filter((d) => d !== '');
  if (data.length === 0)
    throw new UsageError('--data is required: one or more folders made by npm run collect', trainModelSpec);
  const model = (flags.model as string | undefined) ?? 'ensemble';
  const kinds = model === 'all' ? [...STANDARD_MODEL_KINDS] : isModelKind(model) ? [model] : [];
  const seed = (flags.seed as number | undefined) ?? 1;
  const validationFraction = (flags.validation as number | undefined) ?? 0.1;
  if (!(validationFraction > 0 && validationFraction < 1)) {
    throw new UsageError(`--validation ${validationFraction}: expected a fraction in (0, 1)`, trainModelSpec);
  }
  const fit = parseOverrides(
    (flags.set as string[] | undefined) ?? [],
    FIT_KEYS,
    trainModelSpec,
  ) as Partial<FitOptions>;
  try {
    resolveFitOptions(fit);
  } catch (error) {
    throw new UsageError((error as Error).message, trainModelSpec);
  }
  return {
    data,
    kinds,
    seed,
    validationFraction,
    out: (flags.out as string | undefined) ?? join('runs', `model-${model}-s${seed}`),
    fit,
    quiet: flags.quiet === true,
  };
}

/** Fits every asked-for kind on one split of the data and writes the run folder. */
export function trainModels(options: TrainModelOptions): ModelSummary[] {
  const log = options.log ?? ((line: string) => console.log(line));
  const paths = runPaths(options.out);
  if (existsSync(paths.config)) {
    throw new Error(`train model: ${options.out} already holds a run; choose another --out`);
  }
  mkdirSync(options.out, { recursive: true });
  const data = loadDataFolders(options.data);
  const { train, validation } = splitTransitions(data, options.validationFraction, options.seed);
  const fit = { seed: options.seed, ...options.fit };
  writeJson(paths.config, {
    algorithm: 'model',
    data: options.data,
    kinds: options.kinds,
    seed: options.seed,
    validationFraction: options.validationFraction,
    actionSpace: data.actionSpace,
    fit: resolveFitOptions(fit),
    rows: { train: train.count, validation: validation.count },
  });
  log(
    `fitting ${options.kinds.join(', ')} on ${train.count} transitions (${validation.count} held out for validation)`,
  );
  const summaries: ModelSummary[] = [];
  for (const kind of options.kinds) {
    const model = makeModel(kind, data.actionSpace, options.seed);
    const maxEpochs = resolveFitOptions(fit).maxEpochs;
    const progress = new ProgressBar(maxEpochs, 0, process.stderr, !options.quiet);
    const report = model.fit(train, validation, {
      ...fit,
      onEpoch: (e) => {
        appendMetrics(options.out, { kind, ...e });
        progress.update({
          steps: e.epoch,
          meanReturn: null,
          extra: `${kind} validation loss ${e.validation.loss.toFixed(4)}`,
        });
      },
    });
    progress.finish();
    const file = join(options.out, `${kind}.safetensors`);
    model.save(file, { data: options.data.join(','), seed: String(options.seed) });
    const best = report.epochs.find((e) => e.epoch === report.bestEpoch);
    const summary: ModelSummary = {
      kind,
      file,
      bestEpoch: report.bestEpoch,
      stoppedBecause: report.stoppedBecause,
      epochs: report.epochs.length,
      gradientSteps: report.gradientSteps,
      seconds: report.seconds,
      validation: best?.validation ?? null,
    };
    summaries.push(summary);
    log(
      `${kind}: best epoch ${report.bestEpoch} of ${report.epochs.length} (${report.stoppedBecause}), ` +
        `${report.seconds.toFixed(1)} s -> ${file}`,
    );
    writeJson(join(options.out, 'summary.json'), summaries);
  }
  return summaries;
}
