/**
 * @file `npm run bench`: runs every benchmark family and prints one markdown table.
 *   --quick            small sizes, short sampling (a smoke run)
 *   --filter REGEX     only workloads whose key matches
 *   --compare          add @tensorflow/tfjs-backend-cpu and -wasm (dev dependencies) and compare with tfjs-cpu
 *   --time MS          sampling time per implementation (default 1000, quick 150)
 */
import { markdown, runWorkloads, type Workload } from './harness.ts'
import { gemmWorkloads } from './gemm.bench.ts'
import { rowWorkloads, tapeWorkloads } from './rows.bench.ts'
import { convWorkloads } from './conv.bench.ts'
import { trainWorkloads } from './train.bench.ts'
import { scanWorkloads } from './scan.bench.ts'
import { quantWorkloads } from './quant.bench.ts'
import { sparseWorkloads } from './sparse.bench.ts'
import { attentionWorkloads } from './attention.bench.ts'
import { bandedAttentionWorkloads } from './banded-attention.bench.ts'
import { emov2Workloads } from './emov2.bench.ts'
import { hypernetCascadeWorkloads } from './hypernet-cascade.bench.ts'
import { vitWorkloads } from './vit.bench.ts'
import { efficientNetWorkloads } from './efficientnet.bench.ts'
import { resnetRSWorkloads } from './resnet-rs.bench.ts'
import { simpleNetWorkloads } from './simplenet.bench.ts'
import { efficientFormerWorkloads } from './efficientformer.bench.ts'
import { mimoVPWorkloads } from './mimo-vp.bench.ts'
import { elementwiseWasmWorkloads } from './elementwise-wasm.bench.ts'
import { depthwiseWasmWorkloads } from './depthwise-wasm.bench.ts'
import { quantWasmWorkloads } from './quant-wasm.bench.ts'
import { scanWasmWorkloads } from './scan-wasm.bench.ts'
import { setBackend } from '../src/backend.ts'

const args = process.argv.slice(2)
const flag = (name: string): boolean => args.includes(name)
const value = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
const known = new Set(['--quick', '--filter', '--compare', '--time'])
for (let i = 0; i < args.length; i++) {
  if (!known.has(args[i])) { console.error(`bench: unknown option ${args[i]}`); process.exit(2) }
  if (args[i] === '--filter' || args[i] === '--time') i++
}
const quick = flag('--quick')
// Rows labelled 'tessera' are the typed-array kernels; 'tessera wasm' rows select the WASM backend
// for their own run (harness.ts wasmImpl). The automatic choice would otherwise make both WASM.
setBackend('js')
const filter = value('--filter') ? new RegExp(value('--filter')!) : null

let workloads: Workload[] = [...gemmWorkloads({ quick }), ...rowWorkloads({ quick }), ...tapeWorkloads({ quick }), ...convWorkloads({ quick }), ...trainWorkloads(), ...attentionWorkloads({ quick }), ...bandedAttentionWorkloads({ quick }), ...emov2Workloads(), ...hypernetCascadeWorkloads(), ...vitWorkloads(), ...efficientNetWorkloads(), ...resnetRSWorkloads(), ...simpleNetWorkloads(), ...efficientFormerWorkloads(), ...mimoVPWorkloads(), ...scanWorkloads({ quick }), ...quantWorkloads({ quick }), ...sparseWorkloads({ quick }),
  ...elementwiseWasmWorkloads({ quick }), ...depthwiseWasmWorkloads({ quick }), ...quantWasmWorkloads({ quick }), ...scanWasmWorkloads({ quick })]
if (filter) workloads = workloads.filter((w) => filter.test(w.key))
if (flag('--compare')) {
  const { addPeers } = await import('./peers.ts')
  workloads = await addPeers(workloads)
}
const time = Number(value('--time') ?? (quick ? 150 : 1000))
console.log(`# tessera benchmarks (${quick ? 'quick' : 'full'}; ${time} ms per implementation; node ${process.version}; one thread unless stated)\n`)
const rows = await runWorkloads(workloads, { time, baseline: flag('--compare') ? 'tfjs-cpu' : undefined, log: (l) => console.error(l) })
console.log(markdown(rows))
