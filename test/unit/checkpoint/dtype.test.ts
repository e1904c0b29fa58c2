import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16ToF32, f16ToF32, f32ToBf16Bits, f32ToF16Bits } from '../../../src/engine/checkpoint/dtype';

test('f16 → f32 is exact for every half value and f32 → f16 round-trips', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const f = f16ToF32(all);
  for (let i = 0; i < 65536; i++) {
    const v = f[i];
    if (Number.isNaN(v)) {
      assert.ok((i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0);
      continue;
    }
    assert.equal(f32ToF16Bits(v), i, `half 0x${i.toString(16)}`);
  }
  assert.equal(f[0x3c00], 1);
  assert.equal(f[0xc000], -2);
  assert.equal(f[0x0001], 2 ** -24);
  assert.equal(f[0x7bff], 65504);
});

test('f32 → f16 rounds to nearest even, handles overflow and subnormals', () => {
  assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // tie → even (down)
  assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(f32ToF16Bits(1 + 2 ** -11 + 2 ** -20), 0x3c01);
  assert.equal(f32ToF16Bits(65520), 0x7c00);
  assert.equal(f32ToF16Bits(65519), 0x7bff);
  assert.equal(f32ToF16Bits(2 ** -25), 0); // tie between 0 and smallest subnormal → 0
  assert.equal(f32ToF16Bits(1.5 * 2 ** -25), 1);
  assert.equal(f32ToF16Bits(3 * 2 ** -25), 2); // 1.5 units → even 2
  assert.equal(f32ToF16Bits(-0), 0x8000);
  assert.equal(f32ToF16Bits(2 ** -14 - 2 ** -25), 0x0400); // rounds up into the smallest normal
});

test('bf16 ↔ f32 exact and round-to-nearest-even', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const f = bf16ToF32(all);
  for (let i = 0; i < 65536; i++) {
    if (Number.isNaN(f[i])) continue;
    assert.equal(f32ToBf16Bits(f[i]), i);
  }
  assert.equal(f32ToBf16Bits(1 + 2 ** -8), 0x3f80); // tie → even
  assert.equal(f32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82);
  assert.ok(Number.isNaN(bf16ToF32(new Uint16Array([f32ToBf16Bits(NaN)]))[0]));
});
