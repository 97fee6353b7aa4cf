/**
 * @file Small-image augmentation (src/data/augment.ts): each op on hand images with known answers
 * (a one-pixel image moved by translate / randomCrop / flip, a 90° rotation = transpose + flip, a shear
 * moving rows by a known amount, contrast and brightness formulas, cutout zeroing an exact square),
 * RandAugment determinism under a seed, magnitude 0 = identity, and that it changes images otherwise.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, randn, tensor, zeros, type Tensor } from '../../src/index.ts'
import {
  AUGMENT_OPS, adjustBrightness, adjustContrast, cutout, horizontalFlip, randAugment, randomCrop, rotate, shear, translate,
} from '../../src/data/augment.ts'

const grid = (t: Tensor, n = 0, c = 0): number[][] => (t.toArray() as number[][][][])[n][c]
/** (1, 1, H, W) image with a single 1 at (y, x). */
function dot(H: number, W: number, y: number, x: number): Tensor {
  const a = new Array<number>(H * W).fill(0)
  a[y * W + x] = 1
  return tensor(a).reshape([1, 1, H, W])
}
const argOne = (t: Tensor): [number, number] => {
  const g = grid(t)
  for (let y = 0; y < g.length; y++) for (let x = 0; x < g[0].length; x++) if (g[y][x] === 1) return [y, x]
  return [-1, -1]
}

test('translate moves a pixel by (dy, dx) and fills zeros; out of frame vanishes', () => {
  assert.equal(argOne(translate(dot(8, 8, 2, 3), 1, -2)), [3, 1])
  assert.is(translate(dot(8, 8, 2, 3), 0, 6).sum().item(), 0)
  const x = randn([2, 3, 5, 5], { generator: new Generator(1) })
  assert.equal(translate(x, 0, 0).toArray(), x.toArray())
})

test('rotate 90° = transpose then flip rows (counter-clockwise); small angles keep mass near', () => {
  const x = tensor(Array.from({ length: 16 }, (_, i) => i + 1)).reshape([1, 1, 4, 4])
  const r = grid(rotate(x, 90, 'nearest'))
  const g = grid(x)
  // counter-clockwise: out[y][x] = in[x][W-1-y]
  for (let y = 0; y < 4; y++) for (let xx = 0; xx < 4; xx++) assert.is(r[y][xx], g[xx][3 - y])
  const b = grid(rotate(x, 90, 'bilinear'))
  for (let y = 0; y < 4; y++) for (let xx = 0; xx < 4; xx++) assert.ok(Math.abs(b[y][xx] - g[xx][3 - y]) < 1e-5)
  assert.ok(Math.abs(rotate(x, 0).sub(x).abs().amax().item()) < 1e-6)
})

test('shear: rows shift by sx·(y − cy); bilinear splits a half-pixel shift evenly', () => {
  // 5x5, centre 2: shearing x by 1 moves row y by (y − 2) pixels to the right.
  const img = dot(5, 5, 4, 1)
  assert.equal(argOne(shear(img, 0, 1, 'nearest')), [4, 3])
  const half = grid(shear(dot(5, 5, 3, 2), 0, 0.5, 'bilinear')) // row 3 shifts by 0.5
  assert.ok(Math.abs(half[3][2] - 0.5) < 1e-6 && Math.abs(half[3][3] - 0.5) < 1e-6)
})

test('contrast μ + f(x − μ) per image; brightness f·x', () => {
  const x = tensor([0, 1, 2, 5, 0, 0, 1, 1]).reshape([2, 1, 2, 2])
  assert.equal(adjustContrast(x, 0.5).toArray(), [[[[1, 1.5], [2, 3.5]]], [[[0.25, 0.25], [0.75, 0.75]]]])
  assert.equal(adjustContrast(x, 0).toArray(), [[[[2, 2], [2, 2]]], [[[0.5, 0.5], [0.5, 0.5]]]])
  assert.equal(adjustBrightness(x, 1.5).toArray(), [[[[0, 1.5], [3, 7.5]]], [[[0, 0], [1.5, 1.5]]]])
})

test('cutout zeroes exactly the size x size square, clipped at the border, all channels', () => {
  const x = zeros([1, 2, 6, 6]).add(1)
  const y = cutout(x, 1, 2, 3)
  assert.is(y.sum().item(), 2 * (36 - 9))
  assert.is(grid(y, 0, 1)[2][3], 0)
  assert.is(grid(y, 0, 1)[0][3], 1)
  assert.is(cutout(x, 4, 4, 4).sum().item(), 2 * (36 - 4))
})

test('randomCrop(padding) = per-image shift within ±padding; horizontalFlip mirrors columns', () => {
  const g = new Generator(3)
  const img = dot(8, 8, 4, 4)
  const seen = new Set<string>()
  for (let t = 0; t < 40; t++) {
    const [y, x] = argOne(randomCrop(img, 2, g))
    assert.ok(Math.abs(y - 4) <= 2 && Math.abs(x - 4) <= 2)
    seen.add(`${y},${x}`)
  }
  assert.ok(seen.size > 10, `varied offsets: ${seen.size}`)
  assert.equal(argOne(horizontalFlip(dot(4, 6, 1, 1), g, 1)), [1, 4])
  assert.equal(argOne(horizontalFlip(dot(4, 6, 1, 1), g, 0)), [1, 1])
})

test('randAugment: same seed → same output; magnitude 0 → identity; otherwise images change', () => {
  const x = randn([16, 1, 8, 8], { generator: new Generator(5) }).abs()
  const a = randAugment(x, { n: 2, magnitude: 9, generator: new Generator(42) })
  const b = randAugment(x, { n: 2, magnitude: 9, generator: new Generator(42) })
  assert.equal(a.toArray(), b.toArray())
  assert.equal(a.shape, [16, 1, 8, 8])
  const c = randAugment(x, { n: 2, magnitude: 9, generator: new Generator(43) })
  assert.ok(a.sub(c).abs().amax().item() > 0, 'another seed differs')
  const id = randAugment(x, { n: 3, magnitude: 0, generator: new Generator(1) })
  assert.ok(id.sub(x).abs().amax().item() < 1e-6, 'magnitude 0 is the identity')
  // every op at magnitude 10 changes a generic image
  for (const op of AUGMENT_OPS) {
    const y = randAugment(x, { n: 1, magnitude: 10, generator: new Generator(2), ops: [op] })
    assert.ok(y.sub(x).abs().amax().item() > 1e-3, `${op} changes images`)
  }
  assert.throws(() => randAugment(x, { n: 2, magnitude: 11, generator: new Generator(0) }), /magnitude in \[0, 10\]/)
  assert.throws(() => randAugment(randn([8, 8]), { generator: new Generator(0) }), /\(N, C, H, W\)/)
})

test.run()
