#!/usr/bin/env python3
"""
@file Writes test/fixtures/torch-mlp.safetensors and test/fixtures/torch-mlp.json for
test/io/safetensors.test.ts: a PyTorch-made safetensors file that tessera must load bit for bit.

Run:  /usr/bin/python3 scripts/gen_safetensors_fixture.py      (PyTorch 1.13, NumPy)

The safetensors format (https://github.com/huggingface/safetensors) is written by hand here with
struct and json, since the `safetensors` package is not installed: an 8-byte little-endian u64
header length N, N bytes of JSON header padded with spaces to a multiple of 8, then each tensor's
little-endian row-major bytes, contiguous, in sorted-name order.

Contents:
  0.weight, 0.bias, 2.weight, 2.bias   state dict of a seeded nn.Sequential(Linear(4,8), ReLU(), Linear(8,3))
  probe.f32                            float32 values chosen to exercise F16/BF16 rounding (ties,
                                       subnormals, overflow, inf, nan)
  probe.f16, probe.bf16                probe.f32 converted by torch (.half(), .bfloat16()), raw bits
  probe.f16_as_f32, probe.bf16_as_f32  the same converted back to float32 by torch
  probe.i64, probe.i8, probe.u8, probe.bool   integer and bool dtypes as torch writes them
The JSON holds the MLP input, its output, and the tensor names of the probes.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / 'test' / 'fixtures'

DTYPE_NAMES = {
    torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.bfloat16: 'BF16',
    torch.int64: 'I64', torch.int32: 'I32', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL',
}


def tensor_bytes(t: torch.Tensor) -> bytes:
    """Little-endian row-major bytes of t (bfloat16 through its int16 bit pattern: NumPy has no bfloat16)."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    arr = t.numpy()
    return arr.astype(arr.dtype.newbyteorder('<'), copy=False).tobytes()


def save_safetensors(tensors: dict, metadata: dict, path: Path) -> None:
    header = {'__metadata__': metadata}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        data = tensor_bytes(t)
        header[name] = {'dtype': DTYPE_NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    path.write_bytes(struct.pack('<Q', len(text)) + text + b''.join(chunks))


def main() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)

    tiny = 2.0 ** -24  # smallest F16 subnormal
    probe = torch.tensor([
        0.0, -0.0, 1.0, -1.0, 0.1, -2.5, 3.14159265, 1000.5,
        65504.0, 65519.99, 65520.0, 65536.0, -70000.0,       # F16 max, just below / at the overflow tie, beyond
        tiny, tiny / 2, 3 * tiny / 2, 5 * tiny / 2, tiny / 3, 2.0 ** -14, 2.0 ** -14 - tiny / 2,  # F16 subnormal ties
        1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 1 + 2.0 ** -8 + 2.0 ** -20,  # F16 / BF16 mantissa ties
        3.4028234663852886e38, 3.3e38, 1e-40, 2.0 ** -133, 2.0 ** -134, 1e-30,  # BF16 overflow and subnormals
        float('inf'), float('-inf'), float('nan'),
    ], dtype=torch.float32)
    probe = torch.cat([probe, torch.randn(16, generator=torch.Generator().manual_seed(2)) * 100])

    tensors = {name: p.detach() for name, p in model.state_dict().items()}
    tensors.update({
        'probe.f32': probe,
        'probe.f16': probe.half(),
        'probe.bf16': probe.bfloat16(),
        'probe.f16_as_f32': probe.half().float(),
        'probe.bf16_as_f32': probe.bfloat16().float(),
        'probe.i64': torch.tensor([[0, -1, 2 ** 31 - 1], [-2 ** 31, 123456789, -42]], dtype=torch.int64),
        'probe.i8': torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
        'probe.u8': torch.tensor([0, 1, 200, 255], dtype=torch.uint8),
        'probe.bool': torch.tensor([[True, False], [False, True]]),
    })
    OUT.mkdir(parents=True, exist_ok=True)
    metadata = {'format': 'pt', 'generator': 'scripts/gen_safetensors_fixture.py'}
    save_safetensors(tensors, metadata, OUT / 'torch-mlp.safetensors')

    fixture = {
        'command': '/usr/bin/python3 scripts/gen_safetensors_fixture.py',
        'torch': torch.__version__,
        'python': sys.version.split()[0],
        'model': 'torch.manual_seed(0); nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))',
        'metadata': metadata,
        'stateDictKeys': list(model.state_dict().keys()),
        'probeKeys': sorted(k for k in tensors if k.startswith('probe.')),
        'input': x.tolist(),
        'output': y.tolist(),
    }
    (OUT / 'torch-mlp.json').write_text(json.dumps(fixture, indent=1) + '\n')
    print(f'wrote {OUT / "torch-mlp.safetensors"} and {OUT / "torch-mlp.json"}')


if __name__ == '__main__':
    main()
