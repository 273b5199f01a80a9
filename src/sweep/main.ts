/**
 * The sweep commands: `npm run sweep -- <sweep-file> ...` and `npm run worker -- --redis URL --store DIR`.
 * They sit above src/cli (reusing its parser, train commands and runMain: a usage error exits 2); nothing
 * in src/cli or below imports them.
 */
import { UsageError } from '../cli/args.ts';
import { runMain } from '../cli/run-main.ts';
import { sweepCommand } from './sweep-command.ts';
import { workerCommand } from './worker-command.ts';

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'sweep') return sweepCommand(rest);
  if (command === 'worker') return workerCommand(rest);
  throw new UsageError(`unknown command '${command ?? ''}'; expected 'sweep' or 'worker'`);
}

runMain(main);
