// Engine worker (worker_threads entry, bundled to dist/worker.js): holds ONE open session and serves
// {id, method, params} requests one at a time, with progress events and cancellation through a shared Int32 flag.
import { parentPort, workerData } from 'node:worker_threads';
import { closeEngineSession, openEngineSession } from '../engine';
import { sweepInUse } from '../experiments/runner';
import { methods } from './methods';
import type { EngineSession } from '../types';
import type { FromWorker, SerializedError, ToWorker, WorkerStartData } from './protocol';
import { transferList } from './transfer';

function serialize(e: unknown): SerializedError {
  const err = e as Error;
  return { name: err?.name ?? 'Error', message: err?.message ?? String(e), stack: err?.stack };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('worker.ts must run in a worker thread');
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  const data = workerData as WorkerStartData;
  let session: EngineSession;
  try {
    session = await openEngineSession(data.modelDir, { ...data, onProgress: (progress) => post({ type: 'open-progress', progress }) });
  } catch (e) {
    post({ type: 'open-error', error: serialize(e) });
    port.close();
    return;
  }
  const fusedSweepError = (session.backend as { fusedSweepError?: unknown }).fusedSweepError;
  post({
    type: 'ready',
    info: {
      identity: session.identity, ep: session.backend.ep, computeDType: session.computeDType, sweep: sweepInUse(session.backend), config: session.backend.config,
      ...(typeof fusedSweepError === 'string' && fusedSweepError ? { fusedSweepError } : {}),
      ...(session.cudaMath ? { cudaMath: session.cudaMath, device: session.device } : {}),
    },
  });

  let queue: Promise<void> = Promise.resolve();
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'dispose') {
      queue = queue.then(async () => {
        await closeEngineSession(session).catch(() => undefined);
        post({ type: 'disposed' });
        port.close();
      });
      return;
    }
    if (msg.type !== 'call') return;
    const flag = new Int32Array(msg.cancel);
    queue = queue.then(async () => {
      const handler = methods[msg.method];
      try {
        if (!handler) throw new Error(`unknown engine method '${msg.method}'`);
        const result = await handler(session, msg.params, {
          progress: (progress) => post({ type: 'progress', id: msg.id, progress }),
          cancelled: () => Atomics.load(flag, 0) !== 0,
        });
        // typed arrays a method marked (withTransfer) move to the main thread instead of being copied
        post({ type: 'result', id: msg.id, result }, transferList(result));
      } catch (e) {
        post({ type: 'error', id: msg.id, error: serialize(e) });
      }
    });
  });
}

void main();
