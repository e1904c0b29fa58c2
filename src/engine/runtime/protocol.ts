// Messages between EngineClient (main thread) and the engine worker.
import type { ModelConfig, ModelIdentity, ProgressEvent } from '../types';
import type { OpenSessionOptions } from '../engine';

/** What the worker opens: openEngineSession's options (progress comes back as messages instead of a callback). */
export type WorkerStartData = Omit<OpenSessionOptions, 'onProgress'> & { modelDir: string };

export interface SessionInfo {
  identity: ModelIdentity;
  ep: string;
  computeDType: 'float32' | 'float16';
  /** how knockout rows go through the layers (Provenance.sweep) */
  sweep: 'fused' | 'layers';
  /** why the fused chunk graph could not be loaded (the sweep then runs layer by layer); absent when it loaded or was not asked for */
  fusedSweepError?: string;
  config: ModelConfig;
  /** CUDA only: exact float32 ('float32', default) or TF32 matrix products, and the GPU index */
  cudaMath?: 'float32' | 'tf32';
  device?: number;
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type ToWorker =
  | { type: 'call'; id: number; method: string; params: unknown; cancel: SharedArrayBuffer }
  | { type: 'dispose' };

export type FromWorker =
  | { type: 'ready'; info: SessionInfo }
  | { type: 'open-error'; error: SerializedError }
  | { type: 'open-progress'; progress: ProgressEvent }
  | { type: 'progress'; id: number; progress: ProgressEvent }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'disposed' };
