/** `npm run replay -- <run-dir>`: one episode of the run's greedy policy as a self-contained HTML page. */
import { recordReplayHtml } from '../env/index.ts';
import { writeFileAtomic } from '../nn/index.ts';
import { type CommandSpec, parseArgs } from './args.ts';
import { EVAL_SEED_BASE } from './evaluate.ts';
import { runPaths } from './run-folder.ts';
import { algorithmLabel, checkpointUnit, loadRunPolicy } from './run-policy.ts';

export const replaySpec: CommandSpec = {
  command: 'replay',
  positionals: '<run-dir>',
  minPositionals: 1,
  maxPositionals: 1,
  flags: [
    { name: 'seed', type: 'int', min: 0, help: `episode seed (default ${EVAL_SEED_BASE})` },
    { name: 'out', type: 'string', help: 'HTML file to write (default <run-dir>/replay.html)' },
  ],
};

export function replayRun(argv: readonly string[], log: (line: string) => void = console.log): string {
  const { positionals, flags } = parseArgs(argv, replaySpec);
  const dir = positionals[0]!;
  const { config, policy, update } = loadRunPolicy(dir);
  const seed = (flags.seed as number | undefined) ?? EVAL_SEED_BASE;
  const action = new Float32Array(policy.discrete ? 1 : policy.actionOutputs);
  const { html, recording } = recordReplayHtml({
    envId: config.envId,
    envOptions: config.envOptions,
    seed,
    title: `${config.envId}: ${algorithmLabel(config)} ${dir}, ${checkpointUnit(config)} ${update}, seed ${seed}`,
    policy: (observation) => {
      policy.act(observation, action);
      return policy.discrete ? action[0]! : [action[0]!, action[1]!];
    },
  });
  const out = (flags.out as string | undefined) ?? runPaths(dir).replay;
  writeFileAtomic(out, html);
  log(
    `replay of seed ${seed}: return ${recording.totalReward.toFixed(1)} in ${recording.steps} steps -> ${out}`,
  );
  return out;
}
