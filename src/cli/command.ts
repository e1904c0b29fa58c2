// The shape of one CLI command. Each command lives in src/cli/commands/<name>.ts and is listed in commands/index.ts.
import type { Options } from './args';

export interface CommandIO {
  /** --json given: print exactly one JSON object to stdout */
  json: boolean;
  out(text: string): void;
  /** progress and diagnostics (stderr) */
  err(text: string): void;
  /** aborted on SIGINT */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** options that take no value */
  flags?: string[];
  /** options that take a value */
  options?: string[];
  /** returns the JSON result (printed with --json) after printing its human form unless io.json */
  run(opts: Options, io: CommandIO): Promise<unknown>;
}
