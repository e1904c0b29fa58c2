// Registry of CLI commands. One line per command.
import type { Command } from '../command';
import { traceCommand } from './trace';
import { microCommand } from './micro';
import { runCommand } from './run';
import { mergeCommand } from './merge';
import { downloadCommand } from './download';
import { demoCommand } from './demo';
import { predictCommand } from './predict';
import { attentionCommand } from './attention';
import { tokenizeCommand } from './tokenize';
import { reportCommand } from './report';
import { featuresCommand } from './features';
import { generateCommand } from './generate';
import { bottlenecksCommand } from './bottlenecks';
import { steerSweepCommand } from './steer-sweep';

export const commands: Command[] = [
  downloadCommand,
  traceCommand,
  microCommand,
  runCommand,
  mergeCommand,
  demoCommand,
  predictCommand,
  attentionCommand,
  tokenizeCommand,
  reportCommand,
  featuresCommand,
  generateCommand,
  bottlenecksCommand,
  steerSweepCommand,
];
