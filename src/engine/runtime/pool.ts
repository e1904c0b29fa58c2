// Several engine workers, one per device (`run --devices 0,1,…`, or `--devices cpu,cpu` to test on a CPU), and a
// dataset run over them: the first worker plans the run (dataset, prompts, fixed chunks, checkpoint), the chunks are
// handed out from one queue to whichever worker is free (experiments/chunkQueue.ts), and this thread writes the one
// checkpoint and the one results file (experiments/dataset.ts's executePlan, as a single worker does). A chunk's
// prompts are measured together on one device whichever device it is, so the file equals a one-device run's.
import { UserError, type MethodContext, type ProgressEvent } from '../types';
import { EngineClient, type EngineClientOptions } from './client';
import { executePlan, type Chunk, type ChunkOutcome, type DatasetRunParams, type RunPlan } from '../experiments/dataset';
import type { DatasetRunResult } from '../experiments/resultTypes';

/** One device of `--devices`: the CPU, or a GPU index (CUDA; WebGPU only 0). */
export type DeviceSpec = 'cpu' | number;

/** The most workers one run may start (each holds the whole model). */
export const MAX_DEVICES = 64;

/**
 * Parses `--devices 0,1[,…]` or `cpu,cpu[,…]` against `--ep` (auto when absent); every bad value is one UserError.
 * A device may repeat (two workers on one GPU); CPU and GPU entries do not mix (their numbers would differ).
 */
export function parseDevices(value: string, ep: string = 'auto'): DeviceSpec[] {
  const items = value.split(',').map((s) => s.trim().toLowerCase());
  const devices: DeviceSpec[] = items.map((s) => {
    if (s === 'cpu') return 'cpu';
    if (/^\d+$/.test(s) && Number(s) <= 1024) return Number(s);
    throw new UserError(`--devices must be a comma-separated list of GPU indices (0,1,…) or cpu (cpu,cpu), got '${value}'`);
  });
  if (devices.length > MAX_DEVICES) throw new UserError(`--devices: at most ${MAX_DEVICES} devices, got ${devices.length}`);
  const cpu = devices.filter((d) => d === 'cpu').length;
  if (cpu > 0 && cpu < devices.length) throw new UserError(`--devices '${value}' mixes cpu and GPU indices: one run uses one kind of device (the CPU and a GPU round differently)`);
  if (cpu > 0 && ep !== 'auto' && ep !== 'cpu') throw new UserError(`--devices '${value}' runs on the CPU, but --ep is ${ep}: leave --ep out or give --ep cpu`);
  if (cpu === 0 && ep === 'cpu') throw new UserError(`--devices '${value}' are GPU indices, but --ep is cpu: give --devices ${devices.map(() => 'cpu').join(',')} for several CPU workers`);
  if (cpu === 0 && ep === 'webgpu' && devices.some((d) => d !== 0))
    throw new UserError(`--devices '${value}': onnxruntime-node cannot choose a WebGPU adapter (it takes the first one Dawn finds), so only device 0 works with --ep webgpu; use --ep cuda`);
  return devices;
}

/** The worker options of one device: the CPU provider, or the GPU index for the chosen provider. */
export function deviceStartOptions(base: EngineClientOptions, device: DeviceSpec): EngineClientOptions {
  const { device: _none, ...rest } = base;
  return device === 'cpu' ? { ...rest, ep: 'cpu' } : { ...rest, device };
}

/** Describes a worker for messages: `device 1 (cuda)`. */
const label = (d: DeviceSpec, ep: string) => (d === 'cpu' ? `worker on the cpu` : `device ${d} (${ep})`);

/** One engine worker per device, opened on the same model with the same options; they must agree on how they compute. */
export class EnginePool {
  private constructor(readonly clients: EngineClient[], readonly devices: DeviceSpec[]) {}

  /**
   * Starts the workers: the first one alone (it converts the model to the ONNX cache on first use, with progress), then
   * the others together. Any failure disposes the workers already started.
   */
  static async start(base: EngineClientOptions, devices: readonly DeviceSpec[]): Promise<EnginePool> {
    if (devices.length === 0) throw new UserError('--devices: no device given');
    const clients: EngineClient[] = [];
    try {
      clients.push(await EngineClient.start(deviceStartOptions(base, devices[0])));
      const { onProgress: _quiet, ...rest } = base;
      const others = await Promise.allSettled(devices.slice(1).map((d) => EngineClient.start(deviceStartOptions(rest, d))));
      for (const o of others) if (o.status === 'fulfilled') clients.push(o.value);
      const failed = others.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
      const first = clients[0].info;
      clients.forEach((c, i) => {
        for (const key of ['ep', 'computeDType', 'sweep', 'cudaMath'] as const) {
          if (c.info[key] !== first[key])
            throw new UserError(
              `--devices: ${label(devices[i], c.info.ep)} runs with ${key} ${String(c.info[key])} but ${label(devices[0], first.ep)} with ${String(first[key])}; ` +
                `every device of a run must compute the same way (give --ep explicitly, or check that every GPU is usable)`,
            );
        }
      });
      return new EnginePool(clients, devices.slice());
    } catch (e) {
      await Promise.all(clients.map((c) => c.dispose()));
      throw e;
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.dispose()));
  }
}

/**
 * A dataset run over every worker of the pool. Progress (prompts) and cancellation (the signal: the chunks in flight
 * are cancelled, the finished ones are kept in the checkpoint) are those of a one-worker run.
 */
export async function runDatasetOnPool(
  pool: EnginePool,
  params: DatasetRunParams & { steer?: unknown },
  opts: { signal?: AbortSignal; onProgress?: (p: ProgressEvent) => void } = {},
): Promise<DatasetRunResult> {
  const { signal, onProgress } = opts;
  const plan = await pool.clients[0].call<RunPlan>('datasetPlan', params, { signal });
  const gpus = pool.clients.map((c) => c.info.device).filter((d): d is number => d !== undefined);
  if (gpus.length > 1) plan.provenance = { ...plan.provenance, devices: gpus };
  const steer = params.steer !== undefined ? { steer: params.steer } : {};
  const executors = pool.clients.map((c) => (chunk: Chunk) => c.call<ChunkOutcome>('datasetChunk', { setup: plan.setup, chunk, ...steer }, { signal }));
  const ctx: MethodContext = { progress: (p) => onProgress?.(p), cancelled: () => signal?.aborted === true };
  return executePlan(plan, executors, ctx);
}
