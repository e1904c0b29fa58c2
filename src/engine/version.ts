// Tool version, injected at build time from package.json (falls back to reading it under tsx).
declare const __MAMBA_EXPLAIN_VERSION__: string | undefined;
export const TOOL_VERSION: string =
  typeof __MAMBA_EXPLAIN_VERSION__ !== 'undefined' ? __MAMBA_EXPLAIN_VERSION__ : (require('../../package.json') as { version: string }).version;
