// How a command-line entry point ends: --help prints the usage with status 0, a bad command line prints the
// usage with status 2, any other error one line with status 1.
import { HelpRequested, UsageError } from './args.ts';

export function runMain(main: (argv: string[]) => Promise<void>): void {
  main(process.argv.slice(2)).catch((error: Error) => {
    if (error instanceof HelpRequested) {
      console.log(error.message);
      return;
    }
    console.error(error instanceof UsageError ? error.message : `error: ${error.message}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  });
}
