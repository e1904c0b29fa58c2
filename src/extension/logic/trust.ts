// Workspace-trust check for model folders. No `vscode` import.
import * as path from 'node:path';

/** true when `file` is `folder` or inside it (after resolving; case-sensitive on POSIX). */
export function isInside(file: string, folder: string): boolean {
  const rel = path.relative(path.resolve(folder), path.resolve(file));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * In an untrusted workspace a model (or a pickle) inside a workspace folder must not be loaded.
 * Returns the error message to show, or undefined when loading is allowed.
 */
export function checkModelTrust(modelPath: string, opts: { trusted: boolean; workspaceFolders: readonly string[] }): string | undefined {
  if (opts.trusted) return undefined;
  const folder = opts.workspaceFolders.find((f) => isInside(modelPath, f));
  if (!folder) return undefined;
  return (
    `Mamba Explain: the model ${modelPath} is inside the untrusted workspace folder ${folder}; models (and pickled weights) ` +
    `from an untrusted workspace are not loaded. Trust the workspace (Manage Workspace Trust) or use a model outside it.`
  );
}
