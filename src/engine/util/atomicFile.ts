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
    throw new UserError(`${what} '${file}': folder '${dir}' does not exist`);
  }
  if (!st.isDirectory()) throw new UserError(`${what} '${file}': '${dir}' is not a folder`);
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
