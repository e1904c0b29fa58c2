// One quick reachability check of an http(s) endpoint: name lookup and a TCP connection, nothing sent. Used before a
// download so that a machine without a network is told so at once instead of after a series of silent retries.
import { lookup } from 'node:dns/promises';
import * as net from 'node:net';

export interface Unreachable {
  /** 'dns' (the host name does not resolve), 'connect' (refused, unreachable, timed out) */
  stage: 'dns' | 'connect';
  reason: string;
}

/** Resolves to undefined when a TCP connection to the endpoint's host and port opens within `timeoutMs`. */
export async function checkReachable(endpoint: string, timeoutMs = 5000, signal?: AbortSignal): Promise<Unreachable | undefined> {
  const url = new URL(endpoint);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
  let address: string;
  try {
    address = net.isIP(host) ? host : (await withTimeout(lookup(host), timeoutMs, `looking up ${host} took more than ${timeoutMs / 1000} s`)).address;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { stage: 'dns', reason: err.code ? `${err.code} ${host}` : err.message };
  }
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (r: Unreachable | undefined) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ stage: 'connect', reason: `no answer from ${host}:${port} within ${timeoutMs / 1000} s` }), timeoutMs);
    const onAbort = () => done({ stage: 'connect', reason: 'cancelled' });
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done(undefined));
    socket.once('error', (e: NodeJS.ErrnoException) => done({ stage: 'connect', reason: `${e.code ?? e.message} ${host}:${port}` }));
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
