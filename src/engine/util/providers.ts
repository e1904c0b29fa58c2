// Checks of an execution-provider choice that can be made before any work (no onnxruntime import, no model
// conversion): whether the libraries a GPU provider needs are installed at all. A check that passes does not promise
// that the provider loads (drivers, devices); the backend still reports that when it opens the graphs.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../types';

/** The float16 refusal on the CPU, worded as the backend's. */
export const FLOAT16_GPU_ONLY = 'float16 compute graphs are a GPU-only option: use --ep cuda or --ep webgpu, or float32 compute on the CPU';

/** Folders the Linux dynamic loader searches for libvulkan.so.1 (LD_LIBRARY_PATH first, then the usual ones). */
function libDirs(): string[] {
  const env = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return [...env, '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu', '/lib64'];
}

/** Whether the Vulkan loader that ORT's WebGPU provider (Dawn) needs on Linux is installed; true elsewhere. */
export function vulkanLoaderInstalled(): boolean {
  if (process.env.MAMBA_EXPLAIN_TEST_NO_GPU === '1') return false;
  if (process.platform !== 'linux') return true;
  return libDirs().some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

/** onnxruntime-node's native folder (bin/napi-v6/<platform>/<arch>), or undefined when it cannot be located. */
export function ortNativeDir(): string | undefined {
  try {
    const pkg = require.resolve('onnxruntime-node/package.json');
    return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/**
 * Whether onnxruntime-node has its CUDA provider libraries (fetched by its install script with
 * ONNXRUNTIME_NODE_INSTALL=cuda12; not in the npm package). Unknown (undefined) when onnxruntime-node is not found.
 */
export function cudaProviderInstalled(): boolean | undefined {
  if (process.env.MAMBA_EXPLAIN_TEST_NO_GPU === '1') return false;
  if (process.platform !== 'linux' && process.platform !== 'win32') return false;
  const dir = ortNativeDir();
  if (!dir || !existsSync(dir)) return undefined;
  return existsSync(join(dir, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'));
}

/** The WebGPU refusal when the Vulkan loader is missing (Linux). */
export function webgpuNeedsVulkanMessage(): string {
  return (
    'cannot use the WebGPU execution provider: the Vulkan loader libvulkan.so.1 is not installed. ' +
    'Install it (Debian/Ubuntu: `sudo apt-get install libvulkan1`) together with a GPU driver that provides a Vulkan ICD, or use --ep cpu'
  );
}

/**
 * Refuses, before anything is loaded or converted, an execution-provider / dtype choice that cannot work here:
 *  - `--ep webgpu` on Linux without the Vulkan loader (names the libvulkan1 package);
 *  - `--dtype float16` on the CPU, or with `--ep auto` when neither GPU provider is installed (the float16 message).
 * MAMBA_EXPLAIN_TEST_CPU_FLOAT16=1 (tests) allows float16 on the CPU, as the backend does.
 */
export function checkProviderChoice(ep: string | undefined, dtype: 'float32' | 'float16' | undefined): void {
  const choice = ep ?? 'auto';
  if (choice === 'webgpu' && !vulkanLoaderInstalled()) throw new UserError(webgpuNeedsVulkanMessage());
  if (dtype !== 'float16' || process.env.MAMBA_EXPLAIN_TEST_CPU_FLOAT16 === '1') return;
  if (choice === 'cpu') throw new UserError(FLOAT16_GPU_ONLY);
  if (choice === 'auto') {
    const cuda = cudaProviderInstalled();
    const vulkan = vulkanLoaderInstalled();
    if (cuda === false && !vulkan) {
      throw new UserError(
        `${FLOAT16_GPU_ONLY} (--ep auto found no GPU execution provider here: onnxruntime-node has no CUDA provider libraries, ` +
          'and the Vulkan loader libvulkan.so.1 that WebGPU needs is not installed)',
      );
    }
  }
}
