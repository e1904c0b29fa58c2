// Atomic file writes: write a temp file in the same folder, fsync it, rename over the target, fsync the folder.
// A reader (or a crash / Ctrl-C) never sees a half-written file at the target path.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../types';

/** Throws a UserError when the folder that would hold `file` does not exist or is not a folder. */
export function assertParentFolderExists(file: string, what = 'output file'): void {
  const dir = path.dirname(path.resolve(file));
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UserError(`${what} '${file}': folder '${dir}' does not exist (create it first: mkdir -p ${shellQuote(dir)})`);
  }
  if (!st.isDirectory()) throw new UserError(`${what} '${file}': '${dir}' is not a folder`);
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Checks, before any work, that `file` can be written the way writeFileAtomic writes it: its folder exists and is a
 * folder, `file` itself is not a folder (nor anything but a regular file), and a file can be created in the folder
 * (a probe file is created and removed at once, so nothing is left behind). Each failure is one UserError naming
 * `what`, the path and the reason. Returns the absolute path.
 */
export function checkOutputFile(file: string, what = 'output file'): string {
  if (typeof file !== 'string' || file.trim() === '') throw new UserError(`${what}: no file name given`);
  const abs = path.resolve(file);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new UserError(`${what} '${file}' is a folder: give a file name inside it, e.g. '${path.join(file, 'results.json')}'`);
  if (st && !st.isFile()) throw new UserError(`${what} '${file}' exists and is not a regular file`);
  if (file.endsWith('/') || file.endsWith(path.sep)) throw new UserError(`${what} '${file}' names a folder: give a file name`);
  assertParentFolderExists(abs, what);
  const dir = path.dirname(abs);
  const probe = path.join(dir, `.${path.basename(abs)}.${process.pid}.${Date.now()}.${counter++}.probe`);
  try {
    fs.closeSync(fs.openSync(probe, 'wx', 0o600));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'no permission to create files there' : code === 'EROFS' ? 'the file system is read-only' : code === 'ENOSPC' ? 'no space left on the device' : (e as Error).message;
    throw new UserError(`${what} '${file}' cannot be written: ${why} (folder '${dir}')`);
  }
  try {
    fs.unlinkSync(probe);
  } catch {
    /* it was just created; nothing else to do */
  }
  return abs;
}

let counter = 0;

/** Whether process `pid` runs on this machine (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files that writeFileAtomic and checkOutputFile leave beside `file` when their process dies
 * mid-write (SIGKILL, a crash, a power cut): `.<name>.<pid>.<time>.<n>.tmp` (or `.probe`) whose process no longer
 * runs. A temp file of a live process is left alone. Returns the paths removed.
 */
export function removeStaleTempFiles(file: string): string[] {
  const abs = path.resolve(file);
  const base = path.basename(abs).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^\\.${base}\\.(\\d+)\\.\\d+\\.\\d+\\.(tmp|probe)$`);
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(abs));
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = re.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    const p = path.join(path.dirname(abs), name);
    try {
      fs.unlinkSync(p);
      removed.push(p);
    } catch {
      /* gone already, or not ours to remove */
    }
  }
  return removed;
}

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  const tmp = path.join(dir, `.${path.basename(abs)}.${process.pid}.${Date.now()}.${counter++}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w', 0o644);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    // writeSync may write less than asked (a signal, a full pipe of a FUSE file system): until every byte is out
    for (let done = 0; done < bytes.byteLength; ) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, abs);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* ignore */
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* ignore */
    }
    throw e;
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    /* some platforms (Windows) cannot fsync a folder */
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 1) + '\n');
}
