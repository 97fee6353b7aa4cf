/**
 * @file The `dist` namespace: distributed-execution tools simulated in one process. Tensor
 * parallelism with an explicit event-time model of all-reduce latency (paper 76, Ladder Residual,
 * https://arxiv.org/abs/2501.06589): the numerics are exact, only the timing is simulated.
 */
export {
  TensorParallel, ringAllReduce, type CommModel, type TPEvent, type AllReduceHandle, type TensorParallelOptions, type TPResult,
} from '../nn/arch/76-ladder-residual.ts'
