// Dataset runs (placeholder, being written).
import { UserError, type EngineSession, type MethodContext } from '../types';
import type { DatasetRunResult } from './resultTypes';

export interface DatasetRunParams {
  dataset: string;
  experiment: 'macro' | 'micro';
  windows?: number[];
  sets?: string[];
  limit?: number;
  seed?: number;
  filter?: boolean;
  split?: boolean;
  out: string;
  resume?: boolean;
  maxBatch?: number;
  chunkSize?: number;
}

export async function runDataset(_session: EngineSession, _params: DatasetRunParams, _ctx?: MethodContext): Promise<DatasetRunResult> {
  throw new UserError('runDataset is not implemented yet');
}
