// Registry of CLI commands. One line per command.
import type { Command } from '../command';

export const commands: Command[] = [];
