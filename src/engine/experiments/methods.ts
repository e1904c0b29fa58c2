// Engine-worker methods of the knockout experiments, merged into src/engine/runtime/methods.ts.
// Params mirror the CLI options (see src/cli/commands/{trace,micro,run}.ts).
import type { MethodHandler } from '../types';
import { runTrace, type TraceParams } from './macro';
import { runMicro, type MicroParams } from './micro';
import { planDatasetRun, runChunk, runDataset, type Chunk, type DatasetRunParams, type RunSetup } from './dataset';

export type { TraceParams, MicroParams, DatasetRunParams };

export const experimentMethods: Record<string, MethodHandler> = {
  /** params: TraceParams → TraceResult */
  trace: (session, params: TraceParams, ctx) => runTrace(session, params, ctx),
  /** params: MicroParams → MicroResult */
  micro: (session, params: MicroParams, ctx) => runMicro(session, params, ctx),
  /** params: DatasetRunParams → DatasetRunResult; progress {done, total, rate, etaSeconds} in prompts */
  runDataset: (session, params: DatasetRunParams, ctx) => runDataset(session, params, ctx),
  /** several engine workers (runtime/pool.ts): the first plans the run (params: DatasetRunParams → RunPlan) … */
  datasetPlan: async (session, params: DatasetRunParams) => planDatasetRun(session, params),
  /** … and each runs chunks of it (params: {setup, chunk} → ChunkOutcome) */
  datasetChunk: (session, params: { setup: RunSetup; chunk: Chunk }, ctx) => runChunk(session, params.setup, params.chunk, ctx),
};
