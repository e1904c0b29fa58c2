// One queue of work items handed out in order to one or more executors (one per engine worker / device): a free
// executor takes the next item. `done` sees every finished item, in the order they finish. Cancellation is checked
// before each hand-out; the first failure (an executor's error, a cancellation, a `done` that throws) stops the
// hand-out, the items still in flight on other executors are awaited (and still passed to `done`, so that their work
// can be checkpointed), and then the failure is thrown.
import { CancelledError } from '../types';

export type Executor<T, O> = (item: T) => Promise<O>;

export interface QueueHooks<T, O> {
  cancelled(): boolean;
  done(item: T, outcome: O): void;
}

export async function drainQueue<T, O>(items: readonly T[], executors: readonly Executor<T, O>[], hooks: QueueHooks<T, O>): Promise<void> {
  if (executors.length === 0) throw new Error('drainQueue: no executor');
  let next = 0;
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failure ??= { error };
  };
  const serve = async (run: Executor<T, O>) => {
    while (!failure && next < items.length) {
      if (hooks.cancelled()) return fail(new CancelledError());
      const item = items[next++];
      let outcome: O;
      try {
        outcome = await run(item);
      } catch (e) {
        return fail(e);
      }
      try {
        hooks.done(item, outcome);
      } catch (e) {
        return fail(e);
      }
    }
  };
  await Promise.all(executors.map(serve));
  if (failure) throw failure.error;
}
