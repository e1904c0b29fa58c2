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

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  const tmp = path.join(dir, `.${path.basename(abs)}.${process.pid}.${Date.now()}.${counter++}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w', 0o644);
    if (typeof data === 'string') fs.writeSync(fd, data, null, 'utf8');
    else fs.writeSync(fd, data);
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
