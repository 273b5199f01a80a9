/**
 * `npm run plot -- <run-dir> [run-dir ...]`: an SVG learning curve, return against real environment
 * steps, several runs overlaid: the mean training return of the last 100 episodes as a line, and the greedy
 * evaluations as points. Drawn by Vega-Lite, which renders SVG in Node without native code.
 */
import { basename, join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../nn/index.ts';
import { type CommandSpec, parseArgs } from './args.ts';
import { readMetrics, runPaths } from './run-folder.ts';

export const plotSpec: CommandSpec = {
  command: 'plot',
  positionals: '<run-dir> [run-dir ...]',
  minPositionals: 1,
  maxPositionals: Number.POSITIVE_INFINITY,
  flags: [
    {
      name: 'out',
      type: 'string',
      help: 'SVG file to write (default <first run-dir>/plots/learning-curve.svg)',
    },
    { name: 'title', type: 'string', help: 'chart title' },
  ],
};

interface MetricsRow {
  steps: number;
  meanReturn: number | null;
  evalMeanReturn?: number;
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
          shape: { field: 'kind', type: 'nominal', title: 'greedy eval (100 episodes)' },
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

export async function plotRuns(
  argv: readonly string[],
  log: (line: string) => void = console.log,
): Promise<string> {
  const { positionals, flags } = parseArgs(argv, plotSpec);
  const points: Point[] = [];
  for (const dir of positionals) {
    const rows = readMetrics<MetricsRow>(dir);
    if (rows.length === 0) throw new Error(`plot: ${dir} has no metrics (expected ${runPaths(dir).metrics})`);
    const run = basename(dir);
    for (const r of rows) {
      if (r.meanReturn !== null) points.push({ run, steps: r.steps, value: r.meanReturn, kind: 'train' });
      if (typeof r.evalMeanReturn === 'number')
        points.push({ run, steps: r.steps, value: r.evalMeanReturn, kind: 'eval' });
    }
  }
  const title = (flags.title as string | undefined) ?? 'Return against real environment steps';
  const svg = await renderChartSvg(learningCurveSpec(points, title));
  const out =
    (flags.out as string | undefined) ?? join(runPaths(positionals[0]!).plots, 'learning-curve.svg');
  writeFileAtomic(out, svg);
  log(`learning curve of ${positionals.length} run(s) -> ${out}`);
  return out;
}
