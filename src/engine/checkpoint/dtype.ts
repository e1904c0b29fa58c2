// Exact half-precision → float32 conversion and round-to-nearest-even float32 → half conversion.
import { DType } from '../types';

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float32' ? 4 : 2;
}

let f16Table: Float32Array | undefined;

function f16ToF32Scalar(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Lookup table of all 65536 half values (built once, 256 KiB). */
function table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16ToF32Scalar(i);
  }
  return f16Table;
}

/** IEEE binary16 → float32 (exact). */
export function f16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const t = table();
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]];
  return dst;
}

/** bfloat16 → float32 (exact: the bits become the high half). */
export function bf16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
  return dst;
}

const scratchF = new Float32Array(1);
const scratchU = new Uint32Array(scratchF.buffer);

/** float32 → bfloat16 bits, round to nearest even; NaN stays NaN. */
export function f32ToBf16Bits(x: number): number {
  scratchF[0] = x;
  const u = scratchU[0];
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return ((u >>> 16) | 0x40) & 0xffff; // quiet NaN
  const rounded = u + 0x7fff + ((u >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** float32 → IEEE binary16 bits, round to nearest even (subnormals, overflow to ±Inf, NaN). */
export function f32ToF16Bits(x: number): number {
  scratchF[0] = x;
  const u = scratchU[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  // unbiased exponent
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    // normal half: keep 10 mantissa bits, round the 13 dropped ones
    let h = ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h += 1; // may carry into exponent (and to Inf): correct
    return sign | h;
  }
  if (e < -25) return sign; // below half of the smallest subnormal → ±0
  // subnormal half: value = m · 2^-24 with m = (1.mant) · 2^(e+24)
  mant |= 0x800000;
  const shift = -e - 1; // bits dropped from the 24-bit significand: 24 - (e + 25) = -e - 1 ... in [14, 24]
  const h = mant >>> shift;
  const rest = mant & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  let r = h;
  if (rest > half || (rest === half && (h & 1) === 1)) r += 1;
  return sign | r;
}

/** float32 array → half/bfloat16 bit patterns. */
export function f32ToHalfBits(src: ArrayLike<number>, dtype: 'float16' | 'bfloat16'): Uint16Array {
  const out = new Uint16Array(src.length);
  const f = dtype === 'float16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]);
  return out;
}

/** Converts raw little-endian bytes of `dtype` to float32. `bytes` is consumed (may be reused as the result's storage). */
export function bytesToF32(bytes: Buffer, dtype: DType): Float32Array {
  const n = bytes.length / bytesPerElement(dtype);
  if (dtype === 'float32') {
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const src =
    bytes.byteOffset % 2 === 0
      ? new Uint16Array(bytes.buffer, bytes.byteOffset, n)
      : new Uint16Array(new Uint8Array(bytes).buffer, 0, n);
  return dtype === 'float16' ? f16ToF32(src) : bf16ToF32(src);
}
