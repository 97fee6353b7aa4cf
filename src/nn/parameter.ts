/**
 * @file `Parameter`: a tensor that a Module owns as a learnable weight (like `torch.nn.Parameter`).
 * It shares storage with the tensor it wraps and is a leaf that requires grad unless told otherwise.
 */
import { Tensor } from '../tensor.ts'

export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    const leaf = data.detach()
    super(leaf._store, leaf.shape, leaf.strides, leaf.offset, leaf.dtype)
    if (requiresGrad) this.requiresGrad_(true)
  }
}
