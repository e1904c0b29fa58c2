// Choosing knockout window sizes for a model depth. No `vscode` import.

export type WindowChoice = { ok: true; windows: number[] } | { ok: false; message: string };

/** Parses "9, 15" / "9 15" into window sizes; undefined when not a list of positive integers. */
export function parseWindows(text: string): number[] | undefined {
  const parts = text.split(/[\s,]+/u).filter((p) => p.length > 0);
  if (parts.length === 0) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d+$/u.test(p)) return undefined;
    const n = Number(p);
    if (n < 1) return undefined;
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/**
 * Window sizes to use on a model of `nLayer` layers: the requested ones (settings or user input) when every one
 * is ≤ nLayer; otherwise an error naming the offending sizes and the depth. Empty/invalid input is an error too.
 */
export function chooseWindows(requested: unknown, nLayer: number, source = 'mambaExplain.defaultWindows'): WindowChoice {
  if (!Array.isArray(requested) || requested.length === 0) return { ok: false, message: `${source} must be a non-empty list of window sizes, e.g. [9, 15].` };
  const windows: number[] = [];
  for (const w of requested) {
    if (typeof w !== 'number' || !Number.isInteger(w) || w < 1) return { ok: false, message: `${source}: '${String(w)}' is not a positive integer window size.` };
    if (!windows.includes(w)) windows.push(w);
  }
  const tooBig = windows.filter((w) => w > nLayer);
  if (tooBig.length > 0) {
    return {
      ok: false,
      message: `${source} [${windows.join(', ')}]: window size${tooBig.length > 1 ? 's' : ''} ${tooBig.join(', ')} exceed${tooBig.length > 1 ? '' : 's'} the model's ${nLayer} layers; use sizes from 1 to ${nLayer}.`,
    };
  }
  return { ok: true, windows };
}

/** A sensible default for a model when the settings don't fit: about a third of the depth (at least 1). */
export function suggestWindow(nLayer: number): number {
  return Math.max(1, Math.min(nLayer, Math.round(nLayer / 3)));
}

/**
 * Windows from the mambaExplain.defaultWindows setting. A value the user set must fit the model (else an error);
 * the built-in default [9, 15] is clipped for shallow models (e.g. the 8-layer demo): the sizes that fit, or
 * half the depth when none does.
 */
export function windowsFromSetting(value: unknown, userSet: boolean, nLayer: number): WindowChoice {
  const c = chooseWindows(value, nLayer);
  if (c.ok || userSet || !Array.isArray(value)) return c;
  const fit = (value as unknown[]).filter((w): w is number => typeof w === 'number' && Number.isInteger(w) && w >= 1 && w <= nLayer);
  return { ok: true, windows: fit.length > 0 ? [...new Set(fit)] : [Math.max(1, Math.floor(nLayer / 2))] };
}
