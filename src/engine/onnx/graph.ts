// A tiny ONNX graph-building helper: nodes, inline constants, external initializers, dynamic-dim inputs/outputs.
import { closeSync, openSync, writeSync } from 'node:fs';
import { AttributeType, DataType, encodeModel } from './proto';

export const OPSET = 17;
export const IR_VERSION = 8;

export type AttrValue = number | number[] | string | { floats: number[] } | { int: number } | { float: number };

type Dim = number | string;

/** Appends tensors to one external data file, each at a 64-byte aligned offset. */
export class WeightsFile {
  private fd: number;
  private pos = 0;
  constructor(readonly path: string, readonly location: string) {
    this.fd = openSync(path, 'w');
  }
  /** Writes the bytes at the next multiple of `align` (64 by default; 1 continues a tensor), returns where they went. */
  append(bytes: Uint8Array, align = 64): { offset: number; length: number } {
    const pad = (align - (this.pos % align)) % align;
    if (pad) {
      writeSync(this.fd, Buffer.alloc(pad));
      this.pos += pad;
    }
    const offset = this.pos;
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(this.fd, bytes, done, bytes.byteLength - done);
    this.pos += bytes.byteLength;
    return { offset, length: bytes.byteLength };
  }
  get size(): number {
    return this.pos;
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export class GraphBuilder {
  private nodes: Record<string, unknown>[] = [];
  private initializers: Record<string, unknown>[] = [];
  private inputs: Record<string, unknown>[] = [];
  private outputs: Record<string, unknown>[] = [];
  private counter = 0;
  private consts = new Map<string, string>();
  private externals = new Set<string>();

  constructor(readonly name: string) {}

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  private static valueInfo(name: string, elemType: number, dims: Dim[]) {
    return {
      name,
      type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
    };
  }

  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(GraphBuilder.valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: Dim[]): void {
    this.outputs.push(GraphBuilder.valueInfo(name, elemType, dims));
  }

  /** Adds a node; returns its output names (one unless nOut given). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, nOut = 1, outNames?: string[]): string[] {
    const outs = outNames ?? Array.from({ length: nOut }, () => this.fresh(opType.toLowerCase()));
    const attribute = Object.entries(attrs).map(([name, v]) => {
      if (typeof v === 'string') return { name, type: AttributeType.STRING, s: Buffer.from(v) };
      if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: v };
      if (typeof v === 'number') return Number.isInteger(v) ? { name, type: AttributeType.INT, i: v } : { name, type: AttributeType.FLOAT, f: v };
      if ('floats' in v) return { name, type: AttributeType.FLOATS, floats: v.floats };
      if ('int' in v) return { name, type: AttributeType.INT, i: v.int };
      return { name, type: AttributeType.FLOAT, f: v.float };
    });
    this.nodes.push({ input: inputs, output: outs, name: this.fresh(`n_${opType}`), opType, attribute });
    return outs;
  }

  /** Single-output node. */
  n(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outName?: string): string {
    return this.op(opType, inputs, attrs, 1, outName ? [outName] : undefined)[0];
  }

  /** Inline constant initializer (small tensors only), deduplicated. */
  constF32(values: number[] | Float32Array, dims: number[]): string {
    const data = Float32Array.from(values);
    return this.inline(DataType.FLOAT, Buffer.from(data.buffer, data.byteOffset, data.byteLength), dims);
  }
  constI64(values: number[], dims: number[] = [values.length]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    return this.inline(DataType.INT64, Buffer.from(data.buffer), dims);
  }
  private inline(dataType: number, raw: Buffer, dims: number[]): string {
    const key = `${dataType}|${dims.join(',')}|${raw.toString('base64')}`;
    const known = this.consts.get(key);
    if (known) return known;
    const name = this.fresh('const');
    this.initializers.push({ name, dataType, dims, rawData: raw });
    this.consts.set(key, name);
    return name;
  }

  /** Initializer stored in the external weights file. */
  external(name: string, dataType: number, dims: number[], where: { location: string; offset: number; length: number }): string {
    // a graph with several copies of a layer (the chunk graph: clean forward and knockout rows) declares its weights once
    if (this.externals.has(name)) return name;
    this.externals.add(name);
    this.initializers.push({
      name,
      dataType,
      dims,
      dataLocation: 1,
      externalData: [
        { key: 'location', value: where.location },
        { key: 'offset', value: String(where.offset) },
        { key: 'length', value: String(where.length) },
      ],
    });
    return name;
  }

  encode(docString = ''): Uint8Array {
    return encodeModel({
      irVersion: IR_VERSION,
      producerName: 'mamba-explain',
      producerVersion: '1',
      docString,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
  }
}

export { DataType };
