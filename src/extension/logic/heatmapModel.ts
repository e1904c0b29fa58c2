// The heatmap shows the traced model or nothing (issue 16 point 3). No `vscode` import.

/** A message when the trace's model is not the engine's (hashes differ, or the trace has none); undefined when they match. */
export function modelMismatchMessage(traced: { path: string; hash?: string }, current: { path: string; hash: string }): string | undefined {
  if (traced.hash && traced.hash === current.hash) return undefined;
  const short = (h?: string) => (h ? h.slice(0, 12) : 'unknown');
  return `This trace was made with another model (${traced.path}, hash ${short(traced.hash)}) than the one loaded now (${current.path}, hash ${short(current.hash)}): its attention cannot be computed with the current model. Re-trace the prompt with the current model, or select the traced model again.`;
}
