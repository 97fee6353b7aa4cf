/**
 * @file A typical small consumer of tessera, bundled by scripts/bundle-size.ts to measure what an
 * application that trains a model with the core API (and none of the paper modules) pays.
 */
import { nn, optim, randn, tensor } from '../src/index.ts'

const model = new nn.Sequential(new nn.Linear(3, 16), new nn.ReLU(), new nn.Linear(16, 2))
const opt = new optim.AdamW(model.parameters(), { lr: 1e-3 })
const loss = model.forward(randn([4, 3])).sub(tensor([[1, 2]])).pow(2).mean()
loss.backward()
opt.step()
console.log(loss.item())
