// A SAFE pickle reader: a small stack machine that understands only the opcodes a torch state dict uses and
// never executes anything. Globals are resolved through an allow-list supplied by the caller; everything else
// is refused with a UserError.
import { UserError } from '../types';
import { quoted } from './io';

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyDict {
  readonly map = new Map<PyValue, PyValue>();
  /** state applied by BUILD (e.g. a state dict's _metadata), kept but unused */
  state?: PyValue;
}
/** A callable/class allowed by the caller. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
/** Opaque value produced by a caller hook (tensor, storage…). */
export class PyOpaque {
  constructor(
    readonly kind: string,
    readonly value: unknown,
  ) {}
}

export type PyValue = null | boolean | number | bigint | string | Buffer | PyValue[] | PyTuple | PyDict | PyGlobal | PyOpaque;

export interface UnpickleHooks {
  /** Returns true when module.name may be referenced. */
  allowGlobal(module: string, name: string): boolean;
  /** Applies an allowed global to its arguments (REDUCE). */
  call(fn: PyGlobal, args: PyValue[]): PyValue;
  /** BINPERSID */
  persistentLoad(pid: PyValue): PyValue;
}

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

/** Runs the pickle `data` (from `file`, for messages) and returns the top-level object. */
export function unpickle(data: Buffer, file: string, hooks: UnpickleHooks): PyValue {
  const stack: StackItem[] = [];
  const memo = new Map<number, PyValue>();
  let p = 0;

  const fail = (what: string): never => {
    throw new UserError(`${file}: ${what}`);
  };
  const need = (n: number): void => {
    if (p + n > data.length) fail('pickle is truncated');
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) fail('malformed pickle (stack underflow)');
    return v as PyValue;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail('malformed pickle (stack underflow)');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    let i = stack.length - 1;
    while (i >= 0 && stack[i] !== MARK) i--;
    if (i < 0) fail('malformed pickle (missing MARK)');
    const items = stack.splice(i + 1) as PyValue[];
    stack.pop();
    return items;
  };
  const readLine = (): string => {
    const end = data.indexOf(0x0a, p);
    if (end < 0) fail('pickle is truncated');
    const s = data.toString('latin1', p, end);
    p = end + 1;
    return s;
  };
  const str = (n: number): string => {
    need(n);
    const s = data.toString('utf8', p, p + n);
    p += n;
    return s;
  };
  const global = (module: string, name: string): PyGlobal => {
    if (!hooks.allowGlobal(module, name)) fail(`pickle refers to forbidden global ${quoted(`${module}.${name}`)}`);
    return new PyGlobal(module, name);
  };
  const setItems = (d: PyValue, items: PyValue[]): void => {
    if (!(d instanceof PyDict)) fail('malformed pickle (SETITEM on a non-dict)');
    if (items.length % 2) fail('malformed pickle (odd SETITEMS)');
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i];
      if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint' && typeof k !== 'boolean' && k !== null) {
        fail('malformed pickle (unsupported dict key)');
      }
      (d as PyDict).map.set(k, items[i + 1]);
    }
  };
  const appendItems = (l: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(l)) fail('malformed pickle (APPEND on a non-list)');
    // one by one: push(...items) overflows the call stack for a MARK group of some 100k items
    for (const x of items) (l as PyValue[]).push(x);
  };

  for (;;) {
    need(1);
    const at = p;
    const op = data[p++];
    switch (op) {
      case 0x80: // PROTO
        need(1);
        if (data[p] > 5) fail(`unsupported pickle protocol ${data[p]}`);
        p += 1;
        break;
      case 0x95: // FRAME
        need(8);
        p += 8;
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail('malformed pickle (stack not empty at STOP)');
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x4a: // BININT
        need(4);
        stack.push(data.readInt32LE(p));
        p += 4;
        break;
      case 0x4b: // BININT1
        need(1);
        stack.push(data[p]);
        p += 1;
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(data.readUInt16LE(p));
        p += 2;
        break;
      case 0x8a: {
        // LONG1
        need(1);
        const n = data[p++];
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[p + i]);
        if (n > 0 && data[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(data.readDoubleBE(p));
        p += 8;
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x58: {
        // BINUNICODE
        need(4);
        const n = data.readUInt32LE(p);
        p += 4;
        stack.push(str(n));
        break;
      }
      case 0x8c: {
        // SHORT_BINUNICODE
        need(1);
        const n = data[p++];
        stack.push(str(n));
        break;
      }
      case 0x43: {
        // SHORT_BINBYTES
        need(1);
        const n = data[p++];
        need(n);
        stack.push(Buffer.from(data.subarray(p, p + n)));
        p += n;
        break;
      }
      case 0x42: {
        // BINBYTES
        need(4);
        const n = data.readUInt32LE(p);
        p += 4;
        need(n);
        stack.push(Buffer.from(data.subarray(p, p + n)));
        p += n;
        break;
      }
      case 0x71: // BINPUT
        need(1);
        memo.set(data[p++], top());
        break;
      case 0x72: // LONG_BINPUT
        need(4);
        memo.set(data.readUInt32LE(p), top());
        p += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: {
        // BINGET
        need(1);
        const k = data[p++];
        if (!memo.has(k)) fail('malformed pickle (BINGET of an unknown memo key)');
        stack.push(memo.get(k)!);
        break;
      }
      case 0x6a: {
        // LONG_BINGET
        need(4);
        const k = data.readUInt32LE(p);
        p += 4;
        if (!memo.has(k)) fail('malformed pickle (LONG_BINGET of an unknown memo key)');
        stack.push(memo.get(k)!);
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = readLine();
        const name = readLine();
        stack.push(global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('malformed pickle (STACK_GLOBAL)');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal)) fail('malformed pickle (REDUCE of a non-callable)');
        if (!(args instanceof PyTuple)) fail('malformed pickle (REDUCE arguments are not a tuple)');
        stack.push(hooks.call(fn as PyGlobal, (args as PyTuple).items));
        break;
      }
      case 0x62: {
        // BUILD: only a plain dict state on a dict (a state dict's _metadata) is accepted
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict) || !(state instanceof PyDict || state === null)) {
          fail('pickle uses BUILD on an object that is not a state dict');
        }
        (obj as PyDict).state = state;
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x30: // POP
        if (stack.pop() === undefined) fail('malformed pickle (stack underflow)');
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      default:
        fail(`pickle uses unsupported opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
    }
  }
}
