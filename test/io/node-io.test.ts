/** @file tessera/node safetensors file helpers: write, read back, errors carry the path. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tensor } from '../../src/index.ts'
import { readSafetensors, writeSafetensors } from '../../src/node/index.ts'
import { assertThrows } from '../helpers.ts'

test('writeSafetensors then readSafetensors round-trips tensors and metadata; bad files name their path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-io-'))
  try {
    const path = join(dir, 'w.safetensors')
    writeSafetensors(path, { w: tensor([[1, 2], [3, 4]]), h: { tensor: tensor([0.5]), dtype: 'F16' } }, { metadata: { step: '1' } })
    const { tensors, metadata } = readSafetensors(path)
    assert.equal(tensors.w.toArray(), [[1, 2], [3, 4]])
    assert.equal(tensors.h.toArray(), [0.5])
    assert.equal(metadata, { step: '1' })
    const bad = join(dir, 'bad.safetensors')
    writeFileSync(bad, new Uint8Array([1, 2, 3]))
    assertThrows(() => readSafetensors(bad), /^safetensors: file is 3 bytes, shorter than the 8-byte header length \(in .*bad\.safetensors\)$/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
