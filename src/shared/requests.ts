// Request / reply pairs between a webview and the host (as GitLens's IPC pairs them): every request carries an id,
// the host answers each one exactly once with the same id, and the webview shows only the reply to its LATEST
// request; replies to older ones (the user moved on, or a new trace was pushed meanwhile) are stale and dropped.
// No `vscode` import: the webview and tests use it.

export type ReplyState = 'current' | 'stale' | 'push';

export class LatestRequest<K = string> {
  private next: number;
  private latest?: { id: number; key: K };

  /** `start`: the first id (a reloaded document starts above the ids of the one before, e.g. from Date.now()) */
  constructor(start = 1) {
    this.next = Math.max(1, Math.floor(start));
  }

  /** A new request for `key`: its id. Every earlier request is stale from now on. */
  issue(key: K): number {
    const id = this.next++;
    this.latest = { id, key };
    return id;
  }

  /** The key of the latest request while its reply has not come. */
  get pendingKey(): K | undefined {
    return this.latest?.key;
  }

  /**
   * A message from the host: 'push' when it answers no request (no id), 'current' when it answers the latest request
   * (which is then settled), 'stale' for any other id.
   */
  settle(requestId: number | undefined): ReplyState {
    if (requestId === undefined) return 'push';
    if (this.latest?.id !== requestId) return 'stale';
    this.latest = undefined;
    return 'current';
  }

  /** Makes every request in flight stale (the host pushed something newer, e.g. another trace). */
  invalidate(): void {
    this.latest = undefined;
  }
}

/**
 * Host side: answers one request exactly once. The first reply goes out with the request's id; later attempts (a
 * second code path, an error after a reply) are dropped, and `settled` says whether it was answered.
 */
export class ReplyOnce<M extends object> {
  private done = false;
  constructor(private readonly requestId: number | undefined, private readonly send: (m: M & { requestId?: number }) => void) {}

  reply(m: M): boolean {
    if (this.done) return false;
    this.done = true;
    this.send(this.requestId === undefined ? m : { ...m, requestId: this.requestId });
    return true;
  }

  get settled(): boolean {
    return this.done;
  }
}
