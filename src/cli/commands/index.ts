// Registry of CLI commands. One line per command.
import type { Command } from '../command';
import { traceCommand } from './trace';
import { microCommand } from './micro';
import { runCommand } from './run';
import { downloadCommand } from './download';
import { demoCommand } from './demo';

export const commands: Command[] = [
  downloadCommand,
  traceCommand,
  microCommand,
  runCommand,
  demoCommand,
];
