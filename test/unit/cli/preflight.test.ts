// Checks made before any work: output paths (nothing left behind), the execution-provider / dtype choice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkOutputFile } from '../../../src/engine/util/atomicFile';
import { checkProviderChoice, vulkanLoaderInstalled } from '../../../src/engine/util/providers';
import { webgpuPlausible } from '../../../src/engine/runtime/ortBackend';
import { UserError } from '../../../src/engine/types';

const isUser = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message);

test('checkOutputFile: a folder, a missing folder, a path ending in /, an unwritable folder; nothing is left behind', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'out-check-'));
  try {
    assert.equal(checkOutputFile(path.join(dir, 'r.json'), 'results file'), path.join(dir, 'r.json'));
    assert.throws(() => checkOutputFile(dir, 'results file'), isUser(/^results file '.*' is a folder: give a file name inside it, e\.g\. '.*results\.json'$/));
    assert.throws(() => checkOutputFile(path.join(dir, 'no', 'r.json'), 'results file'), isUser(/folder '.*no' does not exist \(create it first: mkdir -p .*no\)$/));
    assert.throws(() => checkOutputFile(path.join(dir, 'x') + '/', 'report file'), isUser(/names a folder|does not exist/));
    fs.writeFileSync(path.join(dir, 'f'), '');
    assert.throws(() => checkOutputFile(path.join(dir, 'f', 'r.json')), isUser(/is not a folder/));
    if (process.getuid?.() !== 0) {
      const ro = path.join(dir, 'ro');
      fs.mkdirSync(ro, 0o555);
      assert.throws(() => checkOutputFile(path.join(ro, 'r.json')), isUser(/cannot be written: no permission/));
    }
    // /proc refuses new files even for root
    if (fs.existsSync('/proc/self')) assert.throws(() => checkOutputFile('/proc/self/r.json'), UserError);
    assert.deepEqual(fs.readdirSync(dir).sort(), fs.existsSync(path.join(dir, 'ro')) ? ['f', 'ro'] : ['f'], 'no probe file left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('provider choice: float16 on the CPU or with auto and no GPU provider, webgpu without the Vulkan loader', () => {
  const saved = { ...process.env };
  try {
    delete process.env.MAMBA_EXPLAIN_TEST_CPU_FLOAT16;
    process.env.MAMBA_EXPLAIN_TEST_NO_GPU = '1';
    assert.throws(() => checkProviderChoice('cpu', 'float16'), isUser(/^float16 compute graphs are a GPU-only option: use --ep cuda or --ep webgpu, or float32 compute on the CPU$/));
    assert.throws(() => checkProviderChoice('auto', 'float16'), isUser(/^float16 compute graphs are a GPU-only option.*--ep auto found no GPU execution provider here/));
    assert.throws(() => checkProviderChoice('webgpu', undefined), isUser(/libvulkan\.so\.1 is not installed.*sudo apt-get install libvulkan1/));
    checkProviderChoice('auto', 'float32');
    checkProviderChoice('cpu', undefined);
    process.env.MAMBA_EXPLAIN_TEST_CPU_FLOAT16 = '1';
    checkProviderChoice('cpu', 'float16');
    delete process.env.MAMBA_EXPLAIN_TEST_NO_GPU;
    assert.equal(vulkanLoaderInstalled(), webgpuPlausible() || !!process.env.LD_LIBRARY_PATH, 'the same loader check as the backend');
  } finally {
    process.env = saved;
  }
});
