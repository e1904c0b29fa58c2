// The README's examples are the tool's real output (digit for digit), and the page a user installing the VSIX sees
// starts with what they do (install, select a model, right-click), not with the development commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '../../..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function cli(args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** The ```text block that starts with `first`, without its first line when that is the command. */
function block(first: string): string[] {
  const blocks = [...README.matchAll(/```text\n([\s\S]*?)```/g)].map((m) => m[1]);
  const b = blocks.find((x) => x.startsWith(first));
  assert.ok(b, `README block starting with ${first}`);
  return b!.split('\n').filter((l) => l !== '');
}

test('README: the demo and trace examples match the real output line for line', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'me-readme-'));
  try {
    const demo = cli(['demo', '--report', path.join(tmp, 'demo-report.html')]).split('\n');
    for (const line of block('prompt   "The Eiffel Tower')) {
      if (line.startsWith('report written to')) continue; // the path differs
      assert.ok(demo.includes(line), `demo output lacks README line ${JSON.stringify(line)}`);
    }
    const cmd = block('$ mamba-explain trace');
    const trace = cli(cmd[0].replace(/^\$ mamba-explain /, '').match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ''))).trimEnd().split('\n').filter((l) => l !== '');
    assert.deepEqual(trace, cmd.slice(1));
    // the comparison example (--compare-model): three models on one relative-depth axis
    const cmp = block('$ mamba-explain trace --compare-model');
    const compared = cli(cmp[0].replace(/^\$ mamba-explain /, '').match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ''))).trimEnd().split('\n').filter((l) => l !== '');
    assert.deepEqual(compared, cmp.slice(1));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('README: the first section is for a user installing the extension (install, select, right-click)', () => {
  const sections = [...README.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  assert.equal(sections[0], 'Using the extension');
  const install = README.slice(README.indexOf('### Install'), README.indexOf('### Tracing a prompt'));
  const steps = ['Install from VSIX', 'Select Model', 'Trace Factual'];
  let at = -1;
  for (const s of steps) {
    const i = install.indexOf(s);
    assert.ok(i > at, `${s} in order in the install steps`);
    at = i;
  }
  assert.ok(README.indexOf('## Using the extension') < README.indexOf('npm ci && npm run demo'), 'development commands come later');
});
