/**
 * runs/<sweep>/report.md and its charts: the sweep in a paragraph, the real steps the whole sweep took (a
 * population spends real samples too: a claim about its best trial's sample efficiency must count them),
 * the best trial and its configuration (for PBT, the schedule its lineage followed), a table of every trial,
 * and the charts (charts.ts).
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../nn/index.ts';
import { hyperparameterChart, hyperparameterChartFile, populationChart } from './charts.ts';
import { lineage, lineageEvals } from './lineage.ts';
import { searchedKeys } from './sweep-file.ts';
import type { SweepState, TrialRecord } from './sweep-state.ts';
import { freshArgs } from './trial-args.ts';
import type { EvalPoint } from './trial-job.ts';

/** The return at which the lander counts as solved. */
const SOLVED = 200;

/** A value in a table: numbers to 4 significant digits, the rest as JSON. */
export function showValue(value: unknown): string {
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : value.toPrecision(4).replace(/\.?0+(e|$)/, '$1');
  return JSON.stringify(value);
}

const showReturn = (value: number | null | undefined) =>
  value === null || value === undefined ? '-' : value.toFixed(1);

/** A command-line word as a shell needs it: quoted when it holds anything but plain characters. */
const shellWord = (word: string) => (/^[\w.,=:/+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`);

/** The real steps of the first evaluation at or above 200, or null. */
export function stepsToSolve(evals: readonly EvalPoint[]): number | null {
  return evals.find((e) => e.meanReturn >= SOLVED)?.steps ?? null;
}

function describeSearch(state: SweepState): string {
  const { search } = state.sweep;
  if (search.kind === 'grid') return `a grid over ${Object.keys(search.parameters).join(', ')}`;
  if (search.kind === 'random')
    return `${search.trials} configurations drawn at random over ${Object.keys(search.parameters).join(', ')}`;
  return (
    `population-based training: ${search.population} members, ready every ${search.readyInterval} real steps, ` +
    `the bottom ${Math.round(search.truncation * 100)}% copying the top ${Math.round(search.truncation * 100)}% and ` +
    `exploring ${Object.keys(search.explore).join(', ')}`
  );
}

function trialRow(t: TrialRecord, keys: readonly string[]): string {
  const best = t.evals.length ? Math.max(...t.evals.map((e) => e.meanReturn)) : null;
  const cells = [
    `\`${t.name}\``,
    String(t.seed),
    ...keys.map((k) => showValue(t.hyperparameters[k])),
    t.status === 'failed' ? `failed: ${t.error ?? ''}` : t.status,
    String(t.spentRealSteps),
    showReturn(t.evals.at(-1)?.meanReturn),
    showReturn(best),
    String(stepsToSolve(t.evals) ?? 'never'),
  ];
  return `| ${cells.join(' | ')} |`;
}

function bestSection(state: SweepState, keys: readonly string[]): string[] {
  const best = state.trials.find((t) => t.name === state.best);
  if (!best) return ['## Best', '', 'No trial has an evaluation yet.'];
  const pbt = state.sweep.search.kind === 'pbt';
  // A PBT winner's history is its lineage's: before it copied another member, its weights were that one's.
  const solved = stepsToSolve(pbt ? lineageEvals(state.trials, best.name) : best.evals);
  const lines = [
    `## Best: \`${best.name}\``,
    '',
    `Final evaluation ${showReturn(best.evals.at(-1)?.meanReturn)} (mean greedy return); ` +
      (solved === null
        ? `it never reached ${SOLVED}${pbt ? ' along its lineage' : ''}.`
        : `first at or above ${SOLVED} at ${solved} real steps of its own${pbt ? ' lineage' : ''}.`),
    '',
  ];
  if (!pbt) {
    const args = freshArgs(state.sweep, best.seed, best.hyperparameters).filter((a) => a !== '--quiet');
    return [
      ...lines,
      'Its configuration, to train it again:',
      '',
      '```sh',
      `npm run train -- ${state.sweep.algorithm} ${args.map(shellWord).join(' ')}`,
      '```',
    ];
  }
  const path = lineage(state.trials, best.name);
  return [
    ...lines,
    'The schedule it followed (its lineage: the member whose weights it descends from in each round):',
    '',
    `| round | real steps | member | ${keys.join(' | ')} | copied from |`,
    `| ${['---', '---', '---', ...keys.map(() => '---'), '---'].join(' | ')} |`,
    ...path.map(
      (s) =>
        `| ${s.round + 1} | ${s.fromSteps}-${s.toSteps ?? ''} | \`${s.member}\` | ${keys.map((k) => showValue(s.hyperparameters[k])).join(' | ')} | ${s.copiedFrom ?? ''} |`,
    ),
  ];
}

export async function writeReport(
  out: string,
  state: SweepState,
  log: (line: string) => void,
): Promise<void> {
  const keys = searchedKeys(state.sweep.search);
  const pbt = state.sweep.search.kind === 'pbt';
  const charts = [
    {
      file: 'population.svg',
      svg: await populationChart(state),
      what: 'evaluation return against real steps',
    },
  ];
  if (pbt) {
    for (const key of keys) {
      charts.push({
        file: hyperparameterChartFile(key),
        svg: await hyperparameterChart(state, key, state.best),
        what: `${key} against real steps`,
      });
    }
  }
  for (const chart of charts) writeFileAtomic(join(out, chart.file), chart.svg);
  const s = state.sweep;
  const lines = [
    `# Sweep \`${state.name}\``,
    '',
    `\`npm run train -- ${s.algorithm}\` on ${s.env}, ${s.steps} real steps per ${pbt ? 'member' : 'trial'}; ${describeSearch(state)}. ` +
      `Sweep file \`${state.file}\`, run through ${state.transportDescription}; status: ${state.status}. ` +
      `The run folders are \`${state.name}/<${pbt ? 'member' : 'trial'}>\` in the store.`,
    '',
    `**Real steps of the whole sweep: ${state.totalRealSteps}** (${state.trials.length} ${pbt ? 'members' : 'trials'}). ` +
      'The best result below cost all of them: a claim about its sample efficiency must count these, not only its own.',
    '',
    ...bestSection(state, keys),
    '',
    `## ${pbt ? 'Members' : 'Trials'}`,
    '',
    ...(pbt
      ? [
          "Values are each member's last; real steps are those its own training took (an exploit copies steps, it does not take them).",
          '',
        ]
      : []),
    `| ${pbt ? 'member' : 'trial'} | seed | ${keys.join(' | ')} | status | real steps | final eval | best eval | real steps to ${SOLVED} |`,
    `| ${['---', '---', ...keys.map(() => '---'), '---', '---', '---', '---', '---'].join(' | ')} |`,
    ...state.trials.map((t) => trialRow(t, keys)),
    '',
    '## Charts',
    '',
    ...charts.map((c) => `![${c.what}](${c.file})`),
    '',
  ];
  writeFileAtomic(join(out, 'report.md'), lines.join('\n'));
  log(
    `report: ${join(out, 'report.md')} (best ${state.best ?? '-'}, ${state.totalRealSteps} real steps in all)`,
  );
}
