/**
 * A sweep's charts, drawn by Vega-Lite as `npm run plot` draws a run's (renderChartSvg): every trial's
 * evaluation return against real steps, and for PBT each explored hyperparameter against real steps, every
 * member faint and the winner's lineage in bold: the schedule PBT found.
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderChartSvg } from '../cli/plot.ts';
import { lineage } from './lineage.ts';
import type { SweepState } from './sweep-state.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const X = { field: 'steps', type: 'quantitative', title: 'real environment steps' } as const;

/** Every trial's evaluations (its mean greedy return) against its real steps, one line each. */
export function populationChart(state: SweepState): Promise<string> {
  const values = state.trials.flatMap((t) =>
    t.evals.map((e) => ({ trial: t.name, steps: e.steps, value: e.meanReturn })),
  );
  const spec = {
    $schema: SCHEMA,
    title: `${state.name}: evaluation return of every ${state.sweep.search.kind === 'pbt' ? 'member' : 'trial'}`,
    width: 640,
    height: 360,
    data: { values },
    layer: [
      {
        mark: { type: 'line', point: true, strokeWidth: 1.5 },
        encoding: {
          x: X,
          y: { field: 'value', type: 'quantitative', title: 'evaluation mean return' },
          color: {
            field: 'trial',
            type: 'nominal',
            title: state.sweep.search.kind === 'pbt' ? 'member' : 'trial',
          },
        },
      },
      { mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { datum: 200 } } },
    ],
  };
  return renderChartSvg(spec as TopLevelSpec);
}

/** The file name of a hyperparameter's chart. */
export const hyperparameterChartFile = (key: string) =>
  `hyperparameter-${key.replace(/[^A-Za-z0-9_.-]/g, '_')}.svg`;

/** One explored hyperparameter against real steps: each member's value per segment, the winner's lineage bold. */
export function hyperparameterChart(state: SweepState, key: string, winner: string | null): Promise<string> {
  const search = state.sweep.search;
  const logScale = search.kind === 'pbt' && 'logUniform' in (search.explore[key]?.initial ?? {});
  const series = (
    name: string,
    segments: { fromSteps: number; toSteps: number | null; hyperparameters: Record<string, unknown> }[],
  ) =>
    segments
      .flatMap((s) => [
        { series: name, steps: s.fromSteps, value: s.hyperparameters[key] },
        ...(s.toSteps === null ? [] : [{ series: name, steps: s.toSteps, value: s.hyperparameters[key] }]),
      ])
      // A step: each change is two points at the same real steps, kept in order.
      .map((point, order) => ({ ...point, order }));
  const members = state.trials.flatMap((t) => series(t.name, t.segments));
  const path = winner ? series(`${winner}'s lineage`, lineage(state.trials, winner)) : [];
  const numeric = [...members, ...path].every((p) => typeof p.value === 'number');
  const y = {
    field: 'value',
    type: numeric ? 'quantitative' : 'nominal',
    title: key,
    ...(numeric && logScale ? { scale: { type: 'log' } } : {}),
  };
  const spec = {
    $schema: SCHEMA,
    title: `${state.name}: ${key} of every member, and the winner's lineage (bold)`,
    width: 640,
    height: 280,
    layer: [
      {
        data: { values: members },
        mark: { type: 'line', strokeWidth: 1.5, opacity: 0.6 },
        encoding: {
          x: X,
          y,
          order: { field: 'order' },
          color: { field: 'series', type: 'nominal', title: 'member' },
        },
      },
      {
        data: { values: path },
        mark: { type: 'line', strokeWidth: 3.5, color: 'black' },
        encoding: { x: X, y, order: { field: 'order' }, detail: { field: 'series' } },
      },
    ],
  };
  return renderChartSvg(spec as TopLevelSpec);
}
