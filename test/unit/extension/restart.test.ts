// RestartScheduler (src/extension/logic/restart.ts): a settings change never stops the engine under a call in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jobLabel, restartNotice, RestartScheduler, RESTART_NOW, WAIT, type RestartHost } from '../../../src/extension/logic/restart';

/** An engine seen as the scheduler sees it: calls in flight that finish (or are cancelled) when the test says. */
class Engine {
  calls: { method: string; cancelled: boolean; finish(): void }[] = [];
  stops = 0;
  events: string[] = [];
  changed = true;
  picks: (string | undefined)[] = [];
  asked: { message: string; actions: string[] }[] = [];
  private idle: (() => void)[] = [];
  private answer?: (v: string | undefined) => void;

  start(method: string): Promise<'done' | 'cancelled'> {
    return new Promise((resolve) => {
      const call = {
        method,
        cancelled: false,
        finish: () => {
          this.calls = this.calls.filter((c) => c !== call);
          this.events.push(`${method} ${call.cancelled ? 'cancelled' : 'done'}`);
          resolve(call.cancelled ? 'cancelled' : 'done');
          if (this.calls.length === 0) for (const r of this.idle.splice(0)) r();
        },
      };
      this.calls.push(call);
    });
  }
  /** the user clicks an action of the notice */
  pick(action: string | undefined): void {
    this.answer?.(action);
  }
  host(): RestartHost {
    return {
      inFlight: () => this.calls.map((c) => c.method),
      whenIdle: () => (this.calls.length ? new Promise((r) => this.idle.push(r)) : Promise.resolve()),
      cancelAll: () => {
        this.events.push('cancelAll');
        // the worker stops at its next check: the call ends, cancelled
        for (const c of [...this.calls]) {
          c.cancelled = true;
          setTimeout(() => c.finish(), 5);
        }
      },
      stillChanged: () => this.changed,
      stop: async () => {
        this.stops++;
        this.events.push('stop');
      },
      ask: (message, ...actions) => {
        this.asked.push({ message, actions });
        return new Promise((r) => (this.answer = r));
      },
    };
  }
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

test('idle engine: a settings change stops it at once, without a notice', async () => {
  const e = new Engine();
  await new RestartScheduler(e.host(), { noticeDelayMs: 10 }).request();
  assert.equal(e.stops, 1);
  assert.deepEqual(e.asked, []);
});

test('a setting the engine does not use (same key): nothing happens', async () => {
  const e = new Engine();
  e.changed = false;
  const run = e.start('runDataset');
  await new RestartScheduler(e.host(), { noticeDelayMs: 10 }).request();
  assert.equal(e.stops, 0);
  assert.deepEqual(e.asked, []);
  e.calls[0].finish();
  assert.equal(await run, 'done');
});

test('a dataset run in flight is not killed: the restart waits until it finishes, with a notice naming the job', async () => {
  const e = new Engine();
  const run = e.start('runDataset');
  const s = new RestartScheduler(e.host(), { noticeDelayMs: 10 });
  const restarted = s.request();
  await tick(50);
  assert.equal(e.stops, 0, 'not stopped while the run is in flight');
  assert.equal(s.waiting, true);
  assert.deepEqual(e.asked, [{ message: 'Mamba Explain: engine settings changed; the engine restarts when the running dataset run finishes.', actions: [RESTART_NOW, WAIT] }]);
  assert.deepEqual(s.notices, [e.asked[0].message]);
  // a second change while waiting: the same pending restart, no second notice
  assert.equal(s.request(), restarted);
  e.pick(WAIT);
  await tick();
  assert.equal(e.stops, 0, 'Wait keeps waiting');
  e.calls[0].finish();
  assert.equal(await run, 'done', 'the run completed');
  await restarted;
  assert.deepEqual(e.events, ['runDataset done', 'stop']);
  assert.equal(s.waiting, false);
});

test('Restart now cancels the run through its cancellation, then restarts', async () => {
  const e = new Engine();
  const run = e.start('runDataset');
  const restarted = new RestartScheduler(e.host(), { noticeDelayMs: 10 }).request();
  await tick(30);
  e.pick(RESTART_NOW);
  assert.equal(await run, 'cancelled');
  await restarted;
  assert.deepEqual(e.events, ['cancelAll', 'runDataset cancelled', 'stop']);
});

test('a call that finishes quickly restarts the engine without a notice', async () => {
  const e = new Engine();
  e.start('attentionLayer');
  const restarted = new RestartScheduler(e.host(), { noticeDelayMs: 200 }).request();
  await tick(10);
  e.calls[0].finish();
  await restarted;
  assert.deepEqual(e.asked, []);
  assert.deepEqual(e.events, ['attentionLayer done', 'stop']);
});

test('calls started on the old engine while waiting are waited for too; a change back means no restart', async () => {
  const e = new Engine();
  e.start('trace');
  const restarted = new RestartScheduler(e.host(), { noticeDelayMs: 10 }).request();
  await tick(30);
  assert.match(e.asked[0].message, /running trace finishes/);
  e.start('attentionLayer');
  e.calls[0].finish();
  await tick();
  assert.equal(e.stops, 0, 'the second call is still in flight');
  e.changed = false;
  e.calls[0].finish();
  await restarted;
  assert.equal(e.stops, 0, 'the settings are the running engine’s again');
});

test('the dismissed notice (undefined) keeps waiting; the job label prefers the long job', async () => {
  const e = new Engine();
  e.start('attentionLayer');
  e.start('runDataset');
  const restarted = new RestartScheduler(e.host(), { noticeDelayMs: 10 }).request();
  await tick(30);
  assert.match(e.asked[0].message, /running dataset run finishes/);
  e.pick(undefined);
  await tick();
  assert.equal(e.stops, 0);
  for (const c of [...e.calls]) c.finish();
  await restarted;
  assert.equal(e.stops, 1);
  assert.equal(jobLabel(['predict', 'micro']), 'micro experiment');
  assert.equal(jobLabel(['somethingNew']), 'engine call');
  assert.equal(restartNotice('trace'), 'Mamba Explain: engine settings changed; the engine restarts when the running trace finishes.');
});
