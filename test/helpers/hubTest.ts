// What the download tests (test/unit/hub/download.test.ts, families.test.ts) share: one FakeHub per test file,
// started before its tests and stopped after, and for each test a fresh temporary folder (Hub cache in hub/, managed
// folders in managed/) with the hub's request log and knobs cleared.
import { after, before, beforeEach } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeHub } from './fakeHub';
import type { DownloadOptions } from '../../src/engine/hub/index';

export interface HubTest {
  /** add the repositories in the file's own before() */
  hub: FakeHub;
  /** the current test's temporary folder */
  tmp(): string;
  /** download options: cache and managed folders under tmp(), the fake Hub, fast retries, 5 s timeout, no token */
  opts(extra?: DownloadOptions): DownloadOptions;
  /** the Hub cache folder of a repository (models--org--name) */
  repoDir(id: string): string;
}

export function useFakeHub(tag: string): HubTest {
  const hub = new FakeHub();
  let tmp = '';
  before(async () => {
    await hub.start();
  });
  after(async () => {
    await hub.stop();
  });
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${tag}-`));
    hub.log.length = 0;
    hub.knobs = {};
  });
  return {
    hub,
    tmp: () => tmp,
    opts: (extra = {}) => ({ cacheDir: path.join(tmp, 'hub'), managedDir: path.join(tmp, 'managed'), endpoint: hub.endpoint, offline: false, retryDelayMs: 1, timeoutMs: 5000, token: '', ...extra }),
    repoDir: (id) => path.join(tmp, 'hub', `models--${id.replace('/', '--')}`),
  };
}
