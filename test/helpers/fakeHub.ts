// A local stand-in for the Hugging Face Hub (http on 127.0.0.1, nothing reaches the network). It mimics the
// endpoints the downloader uses:
//   GET  /api/models/{org}/{name}/revision/{rev}      -> {id, sha, siblings:[{rfilename}]}, 404 + X-Error-Code
//   HEAD /{org}/{name}/resolve/{rev}/{file}          -> small files: 200, ETag = git sha1, Content-Length
//                                                       LFS files: 302 to /cdn/..., X-Linked-Etag = sha256, X-Linked-Size
//   GET  /{org}/{name}/resolve/{rev}/{file}          -> same, with the body (small files) or the redirect (LFS)
//   GET  /cdn/{sha256}                               -> the bytes, with Range support (206 / 416)
// Knobs: cut the connection after N bytes, serve corrupted bytes, stall, refuse Range, answer 404.
import * as http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface FakeFile {
  data: Buffer;
  /** served through the LFS redirect (default: files over 1 KiB or named *.bin / *.safetensors) */
  lfs?: boolean;
}

export interface FakeRepo {
  /** branch/tag -> commit */
  refs: Record<string, string>;
  /** commit -> files */
  commits: Record<string, Record<string, FakeFile>>;
}

export interface RequestLog {
  method: string;
  url: string;
  range?: string;
}

export interface Knobs {
  /** cut the connection after this many body bytes of the next `cutTimes` CDN/file responses */
  cutAfterBytes?: number;
  cutTimes?: number;
  /** flip bytes of every LFS (CDN) body: wrong content, right length */
  corrupt?: boolean;
  /** flip bytes of small (non-LFS) files too */
  corruptSmall?: boolean;
  /** after this many bytes, stop sending (keep the connection open) */
  stallAfterBytes?: number;
  /** ignore Range headers (always answer 200 with the whole file) */
  ignoreRange?: boolean;
  /** answer 500 to the next N file GETs */
  failTimes?: number;
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export function gitSha1(b: Buffer): string {
  return createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
}

/** A deterministic pseudo-random buffer. */
export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export class FakeHub {
  readonly repos = new Map<string, FakeRepo>();
  readonly log: RequestLog[] = [];
  knobs: Knobs = {};
  private server?: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();
  endpoint = '';

  addRepo(id: string, repo: FakeRepo): this {
    this.repos.set(id, repo);
    return this;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.endpoint;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** requests other than HEAD/GET of the API (i.e. every request) */
  get requestCount(): number {
    return this.log.length;
  }

  private isLfs(name: string, f: FakeFile): boolean {
    return f.lfs ?? (f.data.length > 1024 || /\.(bin|safetensors)$/.test(name));
  }

  private findFile(sha: string): Buffer | undefined {
    for (const repo of this.repos.values()) for (const files of Object.values(repo.commits)) for (const f of Object.values(files)) if (sha256(f.data) === sha) return f.data;
    return undefined;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.log.push({ method: req.method ?? '', url: url.pathname, range: req.headers.range });
    const p = decodeURIComponent(url.pathname);
    const notFound = (code: string) => {
      res.writeHead(404, { 'X-Error-Code': code, 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: code }));
    };
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(p);
    if (m) {
      const repo = this.repos.get(m[1]);
      if (!repo) return notFound('RepoNotFound');
      const commit = repo.refs[m[2]] ?? (repo.commits[m[2]] ? m[2] : undefined);
      if (!commit) return notFound('RevisionNotFound');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id: m[1], sha: commit, siblings: Object.keys(repo.commits[commit]).map((rfilename) => ({ rfilename })) }));
      return;
    }
    m = /^\/cdn\/([0-9a-f]{64})$/.exec(p);
    if (m) {
      const data = this.findFile(m[1]);
      if (!data) return notFound('EntryNotFound');
      return this.serveBytes(req, res, data, {}, true);
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    if (m) {
      const repo = this.repos.get(m[1]);
      if (!repo) {
        res.writeHead(401, { 'X-Error-Code': 'RepoNotFound' });
        return void res.end();
      }
      const commit = repo.refs[m[2]] ?? (repo.commits[m[2]] ? m[2] : undefined);
      if (!commit) return notFound('RevisionNotFound');
      const f = repo.commits[commit][m[3]];
      if (!f) return notFound('EntryNotFound');
      const common = { 'X-Repo-Commit': commit };
      if (this.isLfs(m[3], f)) {
        const sha = sha256(f.data);
        res.writeHead(302, {
          ...common,
          Location: `${this.endpoint}/cdn/${sha}?X-Amz-Signature=fake`,
          'X-Linked-Etag': `"${sha}"`,
          'X-Linked-Size': String(f.data.length),
          ETag: `"${gitSha1(Buffer.from('pointer'))}"`,
          'Content-Length': '0',
        });
        return void res.end();
      }
      return this.serveBytes(req, res, f.data, { ...common, ETag: `"${gitSha1(f.data)}"` });
    }
    notFound('NotFound');
  }

  private serveBytes(req: http.IncomingMessage, res: http.ServerResponse, data: Buffer, headers: Record<string, string>, cdn = false): void {
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'Content-Length': String(data.length), 'Accept-Ranges': 'bytes' });
      return void res.end();
    }
    const k = this.knobs;
    if (k.failTimes && k.failTimes > 0) {
      k.failTimes--;
      res.writeHead(500);
      return void res.end('boom');
    }
    let start = 0;
    let status = 200;
    const range = req.headers.range;
    if (range && !k.ignoreRange) {
      const rm = /^bytes=(\d+)-$/.exec(range);
      if (rm) {
        start = Number(rm[1]);
        if (start >= data.length) {
          res.writeHead(416, { ...headers, 'Content-Range': `bytes */${data.length}` });
          return void res.end();
        }
        status = 206;
      }
    }
    let body = data.subarray(start);
    if (cdn ? k.corrupt : k.corruptSmall) body = Buffer.from(body.map((b) => b ^ 0x5a));
    const h: Record<string, string> = { ...headers, 'Content-Length': String(body.length), 'Accept-Ranges': 'bytes' };
    if (status === 206) h['Content-Range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
    res.writeHead(status, h);
    if (k.cutAfterBytes !== undefined && (k.cutTimes ?? 1) > 0 && body.length > k.cutAfterBytes) {
      k.cutTimes = (k.cutTimes ?? 1) - 1;
      res.write(body.subarray(0, k.cutAfterBytes), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (k.stallAfterBytes !== undefined && body.length > k.stallAfterBytes) {
      res.write(body.subarray(0, k.stallAfterBytes));
      return; // never ends; stop() destroys the socket
    }
    res.end(body);
  }
}
