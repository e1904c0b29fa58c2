// Results that move their typed arrays to the main thread instead of copying them: a method returns
// withTransfer(result, buffers) and the worker posts the result with those buffers in the transfer list. The mark is
// a non-enumerable symbol: in-process callers (tests, the CLI) see the plain result, and it does not cross threads.
const TRANSFER = Symbol('mamba-explain.transfer');

export function withTransfer<T extends object>(result: T, buffers: ArrayBuffer[]): T {
  Object.defineProperty(result, TRANSFER, { value: [...new Set(buffers)], enumerable: false });
  return result;
}

/** The buffers a result asked to be transferred ([] for any other value). */
export function transferList(result: unknown): ArrayBuffer[] {
  if (typeof result !== 'object' || result === null) return [];
  const b = (result as Record<symbol, unknown>)[TRANSFER];
  return Array.isArray(b) ? (b as ArrayBuffer[]) : [];
}
