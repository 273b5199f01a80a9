/**
 * `npm run plot -- <run-dir> [run-dir ...]`: an SVG learning curve, return against real environment
 * steps, several runs overlaid (PPO's and the model-based loop's on the same axis): the mean training return
 * of the recent episodes as a line, and the greedy evaluations as points. When any run is a model-based one,
 * a second SVG, model.svg, shows its dynamics model's fresh error and the horizon H against real steps.
 * Drawn by Vega-Lite, which renders SVG in Node without native code.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../nn/index.ts';
import { errorAtHorizon, type FreshErrors } from '../rl/world-model/diagnostics/fresh-errors.ts';
import { type CommandSpec, parseArgs } from './args.ts';
import { readJson, readMetrics, runPaths } from './run-folder.ts';

export const plotSpec: CommandSpec = {
  command: 'plot',
  positionals: '<run-dir> [run-dir ...]',
  minPositionals: 1,
  maxPositionals: Number.POSITIVE_INFINITY,
  flags: [
    {
      name: 'out',
      type: 'string',
      help:
        'SVG file to write (default <first run-dir>/plots/learning-curve.svg; the model chart goes beside ' +
        'it, as model.svg by default, else <out>-model.svg)',
    },
    { name: 'title', type: 'string', help: 'chart title' },
  ],
};

/** What plot reads of a metrics line, PPO's (steps, meanReturn) or the model-based loop's (realSteps...). */
interface MetricsRow {
  steps: number;
  meanReturn?: number | null;
  evalMeanReturn?: number;
  realSteps?: number;
  realMeanReturn?: number | null;
  horizon?: number;
  fresh?: FreshErrors | null;
}

interface Point {
  run: string;
  steps: number;
  value: number;
  kind: string;
}

export function learningCurveSpec(points: Point[], title: string): TopLevelSpec {
  const x = { field: 'steps', type: 'quantitative', title: 'real environment steps' } as const;
  const y = { field: 'value', type: 'quantitative', title: 'return' } as const;
  const color = { field: 'run', type: 'nominal', title: 'run' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 640,
    height: 360,
    data: { values: points },
    layer: [
      {
        transform: [{ filter: "datum.kind === 'train'" }],
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: { x, y, color },
      },
      {
        transform: [{ filter: "datum.kind === 'eval'" }],
        mark: { type: 'point', filled: true, size: 40 },
        encoding: {
          x,
          y,
          color,
          shape: { field: 'kind', type: 'nominal', title: 'greedy eval' },
        },
      },
      { mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { datum: 200 } } },
    ],
  } as TopLevelSpec;
}

export async function renderChartSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

/** The model chart's series (fresh-errors.ts): open-loop error at the iteration's H, one-step error, H. */
const OPEN_LOOP = 'open-loop';
const ONE_STEP = 'one-step';
const HORIZON = 'horizon';

/** Model error and horizon against real steps, one panel each, one colour per run (model-based runs only). */
export function modelChartSpec(points: Point[], title: string): TopLevelSpec {
  const x = { field: 'steps', type: 'quantitative', title: 'real environment steps' } as const;
  const color = { field: 'run', type: 'nominal', title: 'run' } as const;
  const panel = (kind: string, yTitle: string, height: number, step = false) => ({
    width: 640,
    height,
    transform: [{ filter: `datum.kind === '${kind}'` }],
    mark: { type: 'line', point: true, strokeWidth: 1.5, ...(step ? { interpolate: 'step-after' } : {}) },
    encoding: { x, y: { field: 'value', type: 'quantitative', title: yTitle }, color },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points },
    resolve: { scale: { x: 'shared', color: 'shared' } },
    vconcat: [
      panel(OPEN_LOOP, 'open-loop error at H (RMSE / value std)', 200),
      panel(ONE_STEP, 'one-step error (/ change std)', 160),
      panel(HORIZON, 'horizon H', 140, true),
    ],
  } as TopLevelSpec;
}

/** The algorithm of a run folder: config.json's, or guessed from its metrics when it has none. */
function runAlgorithm(dir: string, rows: MetricsRow[]): string {
  const file = runPaths(dir).config;
  if (existsSync(file)) return readJson<{ algorithm?: string }>(file, 'plot').algorithm ?? 'ppo';
  return rows.some((r) => typeof r.realSteps === 'number') ? 'simple' : 'ppo';
}

/** Both charts' file names: the learning curve's, and the model chart's beside it. */
function outputFiles(out: string | undefined, firstDir: string): { curve: string; model: string } {
  if (out === undefined) {
    const plots = runPaths(firstDir).plots;
    return { curve: join(plots, 'learning-curve.svg'), model: join(plots, 'model.svg') };
  }
  const stem = basename(out).replace(/\.svg$/i, '');
  return { curve: out, model: join(dirname(out), `${stem}-model.svg`) };
}

export interface PlotFiles {
  /** The learning curve. */
  curve: string;
  /** The model chart, when any run is a model-based one. */
  model: string | null;
}

/** `plot`: writes the learning curve (and the model chart when a run is model-based); returns both files. */
export async function plotRunFiles(
  argv: readonly string[],
  log: (line: string) => void = console.log,
): Promise<PlotFiles> {
  const { positionals, flags } = parseArgs(argv, plotSpec);
  const points: Point[] = [];
  const modelPoints: Point[] = [];
  for (const dir of positionals) {
    const rows = readMetrics<MetricsRow>(dir);
    if (rows.length === 0) throw new Error(`plot: ${dir} has no metrics (expected ${runPaths(dir).metrics})`);
    const run = basename(dir);
    const algorithm = runAlgorithm(dir, rows);
    // The model-based runs count real steps apart from imagined ones; PPO's steps are all real.
    const simple = algorithm === 'simple' || algorithm === 'pets';
    for (const r of rows) {
      const steps = simple ? (r.realSteps ?? r.steps) : r.steps;
      const train = simple ? r.realMeanReturn : r.meanReturn;
      if (typeof train === 'number') points.push({ run, steps, value: train, kind: 'train' });
      if (typeof r.evalMeanReturn === 'number')
        points.push({ run, steps, value: r.evalMeanReturn, kind: 'eval' });
      if (algorithm !== 'simple') continue;
      if (typeof r.horizon === 'number') modelPoints.push({ run, steps, value: r.horizon, kind: HORIZON });
      if (r.fresh && typeof r.horizon === 'number') {
        const atH = errorAtHorizon(r.fresh, r.horizon);
        if (atH !== null) modelPoints.push({ run, steps, value: atH, kind: OPEN_LOOP });
        modelPoints.push({ run, steps, value: r.fresh.meanOneStepError, kind: ONE_STEP });
      }
    }
  }
  const title = (flags.title as string | undefined) ?? 'Return against real environment steps';
  const files = outputFiles(flags.out as string | undefined, positionals[0]!);
  writeFileAtomic(files.curve, await renderChartSvg(learningCurveSpec(points, title)));
  log(`learning curve of ${positionals.length} run(s) -> ${files.curve}`);
  const anySimple = modelPoints.length > 0;
  if (anySimple) {
    const modelTitle = 'Dynamics model: fresh error and horizon H against real environment steps';
    writeFileAtomic(files.model, await renderChartSvg(modelChartSpec(modelPoints, modelTitle)));
    log(`model error and horizon of the model-based run(s) -> ${files.model}`);
  }
  return { curve: files.curve, model: anySimple ? files.model : null };
}

/** `plot`, returning the learning curve's file (the model chart, when written, lies beside it). */
export async function plotRuns(
  argv: readonly string[],
  log: (line: string) => void = console.log,
): Promise<string> {
  return (await plotRunFiles(argv, log)).curve;
}
