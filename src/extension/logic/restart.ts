// When the engine settings change (model, provider, dtype, sweep), the engine worker restarts — but never under a
// call in flight (issue 16): the restart waits until the running calls are answered, or until the user agrees to
// cancel them (through the calls' own cancellation, so a dataset run keeps its checkpoint and offers Resume).
// Pure (no `vscode`): EngineManager supplies the host.

/** The notice's action that cancels the running calls and restarts at once. */
export const RESTART_NOW = 'Restart now (cancel the run)';
/** The notice's action that keeps waiting (the same as dismissing it). */
export const WAIT = 'Wait';

const JOB_LABELS: Record<string, string> = {
  runDataset: 'dataset run',
  trace: 'trace',
  traceKept: 'trace',
  micro: 'micro experiment',
  steerSweep: 'scale sweep',
  bottlenecks: 'bottleneck search',
  generate: 'generation',
  predict: 'prediction',
  attention: 'attention computation',
  attentionLayer: 'attention computation',
  features: 'decay-score computation',
};

/** What the notice calls the running calls: the longest-running kind first ('dataset run', 'trace', …). */
export function jobLabel(methods: readonly string[]): string {
  const order = Object.keys(JOB_LABELS);
  const known = methods.filter((m) => m in JOB_LABELS).sort((a, b) => order.indexOf(a) - order.indexOf(b));
  return known.length ? JOB_LABELS[known[0]] : 'engine call';
}

export function restartNotice(job: string): string {
  return `Mamba Explain: engine settings changed; the engine restarts when the running ${job} finishes.`;
}

export interface RestartHost {
  /** the methods of the engine's calls in flight */
  inFlight(): readonly string[];
  /** resolves once no call is in flight */
  whenIdle(): Promise<void>;
  /** cancels every call in flight through its own cancellation */
  cancelAll(): void;
  /** whether the settings still differ from the running engine's (re-read once the calls are done) */
  stillChanged(): boolean;
  /** stops the engine (the next call starts one with the new settings) */
  stop(): Promise<void>;
  /** shows a notification with actions; resolves with the one picked (undefined: dismissed) */
  ask(message: string, ...actions: string[]): PromiseLike<string | undefined>;
}

export interface RestartOptions {
  /** calls that finish within this time restart the engine without a notification */
  noticeDelayMs?: number;
}

/**
 * One pending restart at a time: `request()` after a settings change stops the engine at once when it is idle,
 * otherwise when the calls in flight are answered (a notice names the job and offers RESTART_NOW). Calls started on
 * the old engine while waiting are waited for too (and cancelled, once the user chose RESTART_NOW). A change back to
 * the running engine's settings while waiting means no restart.
 */
export class RestartScheduler {
  private pending?: Promise<void>;
  private cancelling = false;
  /** the notices shown (test hook) */
  readonly notices: string[] = [];

  constructor(private readonly host: RestartHost, private readonly opts: RestartOptions = {}) {}

  /** Whether a restart is waiting for calls in flight. */
  get waiting(): boolean {
    return this.pending !== undefined;
  }

  /** Restarts when needed; resolves once restarted (or once it turned out not to be needed). */
  request(): Promise<void> {
    if (this.pending) return this.pending;
    const p = this.run().finally(() => {
      if (this.pending === p) this.pending = undefined;
      this.cancelling = false;
    });
    this.pending = p;
    return p;
  }

  private async run(): Promise<void> {
    if (!this.host.stillChanged()) return;
    if (this.host.inFlight().length > 0) {
      const delay = this.opts.noticeDelayMs ?? 500;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const quick = await Promise.race([
        this.host.whenIdle().then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), delay))),
      ]);
      clearTimeout(timer);
      if (!quick) {
        const message = restartNotice(jobLabel(this.host.inFlight()));
        this.notices.push(message);
        let done = false;
        void Promise.resolve(this.host.ask(message, RESTART_NOW, WAIT)).then(
          (pick) => {
            if (pick !== RESTART_NOW || done) return;
            this.cancelling = true;
            this.host.cancelAll();
          },
          () => undefined,
        );
        try {
          // calls made on the old engine meanwhile are waited for (and cancelled once the user asked to)
          while (this.host.inFlight().length > 0) {
            if (this.cancelling) this.host.cancelAll();
            await this.host.whenIdle();
          }
        } finally {
          done = true;
        }
      }
    }
    if (this.host.stillChanged()) await this.host.stop();
  }
}
