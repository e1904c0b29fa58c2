// mamba-explain CLI entry point. Errors: one line on stderr, exit code != 0, no stack trace for user errors.
import { parseArgs, Options } from './args';
import { commands } from './commands/index';
import { UserError, CancelledError } from '../engine/types';
import { TOOL_VERSION } from '../engine/version';

const COMMON_FLAGS = ['json', 'help'];

function usage(): string {
  const lines = [`mamba-explain ${TOOL_VERSION}`, '', 'Usage: mamba-explain <command> [options] [--json]', '', 'Commands:'];
  const width = Math.max(...commands.map((c) => c.name.length));
  for (const c of commands) lines.push(`  ${c.name.padEnd(width)} ${c.summary}`);
  lines.push('', 'Run `mamba-explain <command> --help` for the options of a command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write(TOOL_VERSION + '\n');
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on('SIGINT', onSigint);
  try {
    if (!cmd) throw new UserError(`unknown command '${name}' (try --help)`);
    // --tf32 goes with every command that opens an engine (the ones with --ep)
    const flags = new Set([...COMMON_FLAGS, ...(cmd.flags ?? []), ...((cmd.options ?? []).includes('ep') ? ['tf32'] : [])]);
    const known = new Set([...flags, ...(cmd.options ?? [])]);
    const opts = new Options(parseArgs(rest, flags, known), known);
    if (opts.flag('help')) {
      process.stdout.write(`${cmd.usage}\n`);
      return 0;
    }
    const json = opts.flag('json');
    const result = await cmd.run(opts, {
      json,
      out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
      err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
      signal: controller.signal,
    });
    if (json) process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof CancelledError || controller.signal.aborted) {
      process.stderr.write('mamba-explain: cancelled\n');
      return 130;
    }
    if (e instanceof UserError) {
      process.stderr.write(`mamba-explain: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return 1;
    }
    const err = e as Error;
    process.stderr.write(`mamba-explain: internal error: ${err?.message ?? String(e)}\n`);
    if (process.env.MAMBA_EXPLAIN_DEBUG) process.stderr.write(`${err?.stack}\n`);
    return 3;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Exits once stdout has drained: process.exit right after a large write to a pipe would cut the output (64 KiB). */
function exitAfterFlush(code: number): void {
  process.exitCode = code;
  if (process.stdout.writableLength === 0) process.exit(code);
  else process.stdout.once('drain', () => process.exit(code));
}

if (require.main === module) {
  main(process.argv.slice(2)).then(exitAfterFlush, () => exitAfterFlush(3));
}
