// How a comparison opens its models, one at a time: in an engine worker each (the CLI and the extension: a second
// worker beside the extension's own, which keeps its model and its running jobs), or in this thread (tests, tools).
import { EngineClient, type EngineClientOptions } from '../runtime/client';
import { methods } from '../runtime/methods';
import { closeEngineSession, openEngineSession, type OpenSessionOptions } from '../engine';
import type { ModelOpener } from './compare';
import type { ComparedResult } from './resultTypes';

/** Each model in its own engine worker, disposed when the model is done. */
export function workerOpener(start: Omit<EngineClientOptions, 'modelDir' | 'onProgress'>): ModelOpener {
  return async (m, onProgress) => {
    const client = await EngineClient.start({ ...start, modelDir: m.dir, onProgress });
    return {
      run: (method, params, hooks) => client.call<ComparedResult>(method, params, hooks),
      close: () => client.dispose(),
    };
  };
}

/** Each model in an in-process session (the worker's methods, called directly), closed when the model is done. */
export function inProcessOpener(opts: Omit<OpenSessionOptions, 'onProgress'> = {}): ModelOpener {
  return async (m, onProgress) => {
    const session = await openEngineSession(m.dir, { ...opts, onProgress });
    return {
      run: (method, params, hooks) =>
        methods[method](session, params, { progress: (p) => hooks.onProgress?.(p), cancelled: () => hooks.signal?.aborted === true }) as Promise<ComparedResult>,
      close: () => closeEngineSession(session),
    };
  };
}
