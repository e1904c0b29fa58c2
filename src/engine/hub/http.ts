// Minimal HTTP(S) client on node:http / node:https (no dependencies): one request, manual redirects.
import * as http from 'node:http';
import * as https from 'node:https';
import { CancelledError } from '../types';

export interface HttpRequest {
  method: 'GET' | 'HEAD';
  url: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** socket inactivity limit (ms) */
  timeoutMs?: number;
}

/** Network-level failure (connection refused/reset, timeout): worth a retry. */
export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkError';
  }
}

/** Sends one request and resolves with the response (body not yet read). Redirects are NOT followed. */
export function send(r: HttpRequest): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (r.signal?.aborted) return reject(new CancelledError());
    let url: URL;
    try {
      url = new URL(r.url);
    } catch {
      return reject(new NetworkError(`invalid URL ${r.url}`));
    }
    const mod = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (!mod) return reject(new NetworkError(`unsupported URL ${r.url}`));
    const req = mod.request(url, { method: r.method, headers: { 'User-Agent': 'mamba-explain', 'Accept-Encoding': 'identity', ...r.headers } });
    const onAbort = () => req.destroy(new CancelledError());
    r.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => r.signal?.removeEventListener('abort', onAbort);
    req.setTimeout(r.timeoutMs ?? 30_000, () => req.destroy(new NetworkError(`no data from ${url.host} for ${Math.round((r.timeoutMs ?? 30_000) / 1000)} s`)));
    req.on('response', (res) => {
      res.on('close', cleanup);
      resolve(res);
    });
    req.on('error', (e) => {
      cleanup();
      if (e instanceof CancelledError || r.signal?.aborted) reject(new CancelledError());
      else if (e instanceof NetworkError) reject(e);
      else reject(new NetworkError(`${url.host}: ${(e as Error).message}`));
    });
    req.end();
  });
}

/** Reads a whole (small) body as text. */
export async function readText(res: http.IncomingMessage, limit = 16 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res) {
      n += (c as Buffer).length;
      if (n > limit) throw new NetworkError('response too large');
      chunks.push(c as Buffer);
    }
  } catch (e) {
    if (e instanceof NetworkError || e instanceof CancelledError) throw e;
    throw new NetworkError(`connection lost: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function discard(res: http.IncomingMessage): void {
  res.resume();
  res.on('error', () => undefined);
}

export function header(res: http.IncomingMessage, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function isRedirect(status: number | undefined): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/**
 * Sends a request and follows redirects (up to 10). Authorization is only sent to the first host.
 * `onlyRelative`: follow only relative redirects (a renamed repository) and return the first absolute one unfollowed,
 * which is how the Hub's HEAD answers are read (the metadata is on the redirect, not on the CDN).
 */
export async function sendFollow(r: HttpRequest, onlyRelative = false): Promise<{ res: http.IncomingMessage; url: string }> {
  let url = r.url;
  const firstHost = new URL(url).host;
  for (let hop = 0; hop < 10; hop++) {
    const headers = { ...r.headers };
    if (new URL(url).host !== firstHost) delete headers.Authorization;
    const res = await send({ ...r, url, headers });
    const loc = header(res, 'location');
    if (!isRedirect(res.statusCode) || !loc) return { res, url };
    if (onlyRelative && (/^[a-z][a-z0-9+.-]*:/i.test(loc) || loc.startsWith('//'))) return { res, url };
    const next = new URL(loc, url);
    discard(res);
    url = next.toString();
  }
  throw new NetworkError(`too many redirects from ${r.url}`);
}
