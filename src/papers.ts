/**
 * @file The paper registry (issue 8): one entry per paper 01-77 of /work/shared/papers, with the
 * public tessera names it exports (dotted paths from the package root, e.g. `optim.MeZO`), the test
 * files that cover it and the command that runs its demo. Status is derived, never typed:
 * `paperStatus(entry, root)` walks every piece on the exported root object (pass
 * `import * as tessera from 'tessera'`; this module does not import the root itself, to avoid a cycle)
 * and answers 'implemented' only when every piece resolves, at least one test is listed and a demo
 * exists; 'partial' when some piece resolves; 'planned' otherwise. Pieces of papers not built yet come
 * from the spec-sheet index tables (_index-A/B/C.md) and mostly do not resolve — that is what the
 * status shows. Data and pure functions only: no Node APIs here (the CLI and tests check files).
 */

/** One paper of the 77. */
export interface PaperEntry {
  /** 1-77, the spec-sheet number. */
  readonly number: number
  /** Short name from the index tables. */
  readonly short: string
  /** Full title (from the abstracts list). */
  readonly title: string
  /** Kind from the index tables (architecture, optimizer, compression, ...). */
  readonly kind: string
  /** Public tessera names, as dotted paths from the package root ('optim.MeZO', 'ssm.S4D.prototype.step'). */
  readonly pieces: readonly string[]
  /** Test files (repository-relative paths) covering the paper. */
  readonly tests: readonly string[]
  /** Command that runs the paper's demo, or null when there is none yet. */
  readonly demo: string | null
}

/** Derived status of a paper. */
export type PaperStatus = 'implemented' | 'partial' | 'planned'

/** All 77 papers, in order. */
export const PAPERS: readonly PaperEntry[] = [
  { number: 1, short: 'EMO-PMS', title: 'An EMO Joint Pruning with Multiple Sub-networks: Fast and Effect', kind: 'compression + search',
    pieces: ['search.nsga2', 'prune.channelMask', 'prune.materialize', 'nn.FeatureDetector', 'prune.emoPMS', 'prune.gpir'], tests: [], demo: null },
  { number: 2, short: 'EMOv2', title: 'EMOv2: Pushing 5M Vision Model Frontier', kind: 'architecture',
    pieces: ['nn.I2RMB', 'nn.WindowMHSA', 'F.windowAttention', 'nn.LayerNorm2d', 'nn.LayerScale', 'nn.DropPath', 'models.EMOv2'],
    tests: ['test/nn/window-attention.test.ts', 'test/nn/arch/02-emov2.test.ts', 'test/examples/emov2-digits.test.ts'], demo: 'npx tsx examples/emov2-digits.ts' },
  { number: 3, short: 'ResNet-RS', title: 'Revisiting ResNets: Improved Training and Scaling Strategies', kind: 'architecture + training method',
    pieces: ['models.ResNetRS', 'models.RESNET_RS_PRESETS', 'models.resnetRS', 'nn.ResNetDShortcut', 'nn.RSBottleneck', 'nn.ResNetStem', 'nn.dropPathRates', 'nn.SqueezeExcite', 'nn.DropPath', 'optim.EMA', 'data.augment.randAugment', 'data.augment.randomCrop', 'data.augment.horizontalFlip', 'scaling.resnetRS'],
    tests: ['test/nn/arch/03-resnet-rs.test.ts', 'test/optim/ema.test.ts', 'test/data/augment.test.ts', 'test/examples/resnet-rs-digits.test.ts'], demo: 'npx tsx examples/resnet-rs-digits.ts' },
  { number: 4, short: 'SN-Net', title: 'Stitchable Neural Networks', kind: 'architecture / inference',
    pieces: ['models.SNNet', 'nn.StitchingLayer', 'stitch.pairedConfigs', 'stitch.stitchConfigs', 'stitch.initLeastSquares', 'stitch.leastSquaresStitch', 'linalg.pinv', 'linalg.lstsq', 'models.ViT'],
    tests: ['test/nn/arch/04-sn-net.test.ts', 'test/linalg/pinv.test.ts', 'test/nn/vit.test.ts', 'test/examples/sn-net-digits.test.ts'], demo: 'npx tsx examples/sn-net-digits.ts' },
  { number: 5, short: 'EMoE', title: 'Emergent Mixture-of-Experts: Can Dense Pre-trained Transformers Benefit from Emergent Modular Structures?', kind: 'training method',
    pieces: ['cluster.balancedKMeans', 'moe.emoeFromDense', 'nn.EMoEFFN'], tests: [], demo: null },
  { number: 6, short: 'SimpleNet', title: 'Lets keep it simple, Using simple architectures to outperform deeper and more complex architectures', kind: 'architecture',
    pieces: ['models.SimpleNet', 'models.SIMPLENET_CFGS', 'models.simpleNetParamCount', 'nn.GlobalMaxPool2d', 'nn.Dropout2d'],
    tests: ['test/nn/arch/06-simplenet.test.ts', 'test/examples/simplenet-digits.test.ts'], demo: 'npx tsx examples/simplenet-digits.ts' },
  { number: 7, short: 'AP', title: 'AP: Selective Activation for De-sparsifying Pruned Neural Networks', kind: 'compression',
    pieces: ['metrics.deadNeuronRate', 'prune.iterative', 'prune.globalMagnitude', 'prune.activatingWhilePruning'], tests: [], demo: null },
  { number: 8, short: 'STABLE-RPS', title: 'In defense of parameter sharing for model-compression', kind: 'compression',
    pieces: ['share.RPSMemory', 'share.maps.roast', 'share.maps.randomFold', 'nn.RPSLinear', 'nn.RPSConv2d', 'prune.snip', 'prune.synflow', 'prune.grasp', 'prune.lotteryRewind'], tests: [], demo: null },
  { number: 9, short: 'WideNet', title: 'Go Wider Instead of Deeper', kind: 'architecture',
    pieces: ['nn.MoE', 'losses.moeLoadBalance', 'models.WideNet'], tests: [], demo: null },
  { number: 10, short: 'N2N', title: 'N2N Learning: Network to Network Compression via Policy Gradient Reinforcement Learning', kind: 'compression (RL NAS)',
    pieces: ['nn.LSTM', 'rl.reinforce', 'compress.layerDescriptors', 'compress.n2n.removal', 'compress.n2n.shrink', 'distill.logitMSE'], tests: [], demo: null },
  { number: 11, short: 'RMoE', title: 'Layerwise Recurrent Router for Mixture-of-Experts', kind: 'architecture (router)',
    pieces: ['nn.GRUCell', 'nn.RecurrentRouter', 'nn.MoE', 'models.MoETransformer'], tests: [], demo: null },
  { number: 12, short: 'ReMax', title: 'ReMax: A Simple, Effective, and Efficient Reinforcement Learning Method for Aligning Large Language Models', kind: 'optimizer / RL training',
    pieces: ['rl.remax', 'rl.remaxLoss', 'generate.generate', 'generate.sample', 'generate.greedy', 'rl.policyGradientLoss', 'rl.RewardModel'], tests: ['test/rl/remax.test.ts', 'test/rl/reward-model.test.ts', 'test/generate/generate.test.ts', 'test/examples/remax-demo.test.ts'], demo: 'npx tsx examples/remax-names.ts' },
  { number: 13, short: 'HESSO', title: 'HESSO: Towards Automatic Efficient and User Friendly Any Neural Network Training and Pruning', kind: 'optimizer + compression',
    pieces: ['prune.groups', 'optim.HESSO', 'prune.construct'], tests: [], demo: null },
  { number: 14, short: 'MIP', title: 'Magnitude Invariant Parametrizations Improve Hypernetwork Learning', kind: 'architecture / training',
    pieces: ['nn.HyperNet', 'nn.functionalCall', 'nn.encodeHyperInput', 'nn.init.kaimingNormal_'],
    tests: ['test/nn/arch/14-mip.test.ts', 'test/examples/mip-digits.test.ts'], demo: 'npx tsx examples/mip-digits.ts' },
  { number: 15, short: 'RECE', title: 'Reliable and Efficient Concept Erasure of Text-to-Image Diffusion Models', kind: 'model editing (closed form)',
    pieces: ['nn.CrossAttention', 'edit.uce', 'edit.deriveAdversarialEmbedding', 'edit.rece', 'models.TinyDDPM'], tests: [], demo: null },
  { number: 16, short: 'Window cascades', title: 'Window-Based Early-Exit Cascades for Uncertainty Estimation: When Deep Ensembles are More Efficient than Single Models', kind: 'inference method',
    pieces: ['ensemble.Cascade', 'ensemble.cascadeOutputs', 'ensemble.fitWindow', 'uncertainty.score', 'metrics.riskCoverage', 'metrics.aurocFpr95'],
    tests: ['test/nn/arch/16-window-cascade.test.ts', 'test/examples/window-cascade-digits.test.ts'], demo: 'npx tsx examples/window-cascade-digits.ts' },
  { number: 17, short: 'OPTIN', title: 'The Need for Speed: Pruning Transformers with One Recipe', kind: 'compression (one-shot)',
    pieces: ['prune.optin', 'losses.manifoldDistill', 'prune.materialize', 'metrics.macs'], tests: [], demo: null },
  { number: 18, short: 'CIN (+SPA)', title: 'Efficient Online Processing with Deep Neural Networks', kind: 'inference method + compression',
    pieces: ['co.Conv1d', 'co.Conv2d', 'co.Conv3d', 'co.Residual', 'co.SingleOutputMHA', 'co.TransformerEncoderLayer', 'adapters.SPLoRA'],
    tests: ['test/nn/arch/18-continual-inference.test.ts', 'test/examples/continual-streaming.test.ts'], demo: 'npx tsx examples/continual-streaming.ts' },
  { number: 19, short: 'MoLA', title: 'Higher Layers Need More LoRA Experts', kind: 'training method (PEFT)',
    pieces: ['peft.LoRALinear', 'peft.MoLoRALinear', 'peft.mola'], tests: [], demo: null },
  { number: 20, short: 'DyNAS-T (LINAS)', title: 'A Hardware-Aware System for Accelerating Deep Neural Network Optimization', kind: 'search / system',
    pieces: ['nas.Supernet', 'nas.ElasticCNN', 'predict.Ridge', 'predict.SVR', 'nas.linas', 'metrics.hypervolume', 'metrics.latency'], tests: [], demo: null },
  { number: 21, short: 'Greenformers', title: 'Greenformers: Improving Computation and Memory Efficiency in Transformer Models via Low-Rank Approximation', kind: 'architecture / compression',
    pieces: ['nn.LED', 'nn.CED', 'compress.autoFactorize', 'compress.factorRank', 'models.LowRankTransformer', 'nn.LinformerAttention', 'nn.attentionFlops', 'linalg.svd'],
    tests: ['test/nn/arch/21-greenformers.test.ts', 'test/linalg/svd.test.ts', 'test/examples/greenformers.test.ts'], demo: 'npx tsx examples/greenformers.ts' },
  { number: 22, short: 'MP-PTQ (aug. Hessian)', title: 'Augmenting Hessians with Inter-Layer Dependencies for Mixed-Precision Post-Training Quantization', kind: 'compression (PTQ)',
    pieces: ['quant.fakeQuant', 'quant.calibrate', 'hessian.hvp', 'hessian.traceHutchinson', 'quant.sensitivity', 'quant.bisectionSearch', 'quant.costModel'], tests: ['test/quant/fake.test.ts'], demo: null },
  { number: 23, short: 'Tryage', title: 'Tryage: Real-time, intelligent Routing of User Prompts to Large Language Models', kind: 'system / inference',
    pieces: ['route.ModelLibrary', 'route.PerceptiveRouter', 'route.trainRouter', 'route.decide', 'route.paretoSweep'], tests: [], demo: null },
  { number: 24, short: 'Sparse MeZO', title: 'Sparse MeZO: Less Parameters for Better Performance in Zeroth-Order LLM Fine-Tuning', kind: 'optimizer (zeroth order)',
    pieces: ['optim.normalStream', 'optim.MeZO', 'optim.SparseMeZO', 'optim.kthAbsValue', 'optim.magnitudeMaskBits'], tests: ['test/optim/mezo-sparse.test.ts', 'test/examples/mezo-demos.test.ts'], demo: 'npx tsx examples/sparse-mezo-digits.ts' },
  { number: 25, short: 'NAS-EffT', title: 'Neural Architecture Search on Efficient Transformers and Beyond', kind: 'search + layer',
    pieces: ['nn.CosFormerAttention', 'nas.SuperTransformer', 'nas.evolution', 'metrics.flops'], tests: [], demo: null },
  { number: 26, short: 'AQT 4-bit ResNet', title: 'Pareto-Optimal Quantized ResNet Is Mostly 4-bit', kind: 'compression (QAT)',
    pieces: ['quant.QConv2d', 'quant.QLinear', 'quant.quantizePacked', 'quant.packBits', 'quant.matmulQ4', 'quant.autoActBound', 'metrics.bitOpCost'], tests: ['test/quant/qconv.test.ts', 'test/quant/formats.test.ts', 'test/quant/products.test.ts'], demo: null },
  { number: 27, short: 'Fast Sparse ConvNets', title: 'Fast Sparse ConvNets', kind: 'layer/kernel + pruning',
    pieces: ['kernels.spmm', 'packDeltaCSR', 'unpackDeltaCSR', 'sparseMatmulCHW', 'blockMagnitudeMask', 'nn.SparseConv1x1', 'nn.SparseLinear', 'F.sparseConv1x1', 'layout.hwcToChw', 'prune.gradualMagnitude'], tests: ['test/sparse/kernels.test.ts', 'test/sparse/ops.test.ts'], demo: null },
  { number: 28, short: 'EdgeMoE', title: 'EdgeMoE: Fast On-Device Inference of MoE-based Large Language Models', kind: 'inference method / system',
    pieces: ['moe.ExpertStore', 'io.ThrottledSource', 'moe.ExpertCache', 'quant.perExpertBitwidth', 'quant.intN', 'moe.ExpertPredictor', 'moe.PipelinedRunner'], tests: [], demo: null },
  { number: 29, short: 'LAMB', title: 'Large Batch Optimization for Deep Learning: Training BERT in 76 minutes', kind: 'optimizer',
    pieces: ['optim.LAMB', 'optim.LARS', 'optim.accumulate', 'optim.warmupPoly'], tests: ['test/optim/lamb.test.ts', 'test/optim/accumulate.test.ts'], demo: null },
  { number: 30, short: 'EfficientFormer', title: 'EfficientFormer: Vision Transformers at MobileNet Speed', kind: 'architecture (+ latency search)',
    pieces: ['models.EfficientFormer', 'models.EFFICIENTFORMER_PRESETS', 'models.efficientFormerParamCount', 'nn.Meta4D', 'nn.Meta3D', 'nn.PoolMixer', 'nn.AttentionBias', 'nn.EfficientAttention', 'nn.LayerScale', 'nn.DropPath', 'latency.profile', 'nas.latencySlimming', 'nas.SlimmingSupernet', 'nas.measureLatencyTable', 'nas.buildSubnet'],
    tests: ['test/nn/arch/30-efficientformer.test.ts', 'test/examples/efficientformer-digits.test.ts', 'test/nn/arch/30-efficientformer-slimming.test.ts', 'test/examples/efficientformer-slimming.test.ts'], demo: 'npx tsx examples/efficientformer-digits.ts' },
  { number: 31, short: 'PYRA', title: 'PYRA: Parallel Yielding Re-Activation for Training-Inference Efficient Task Adaptation', kind: 'training method (PEFT + token merging)',
    pieces: ['merge.bipartiteSoftMatching', 'merge.weightedAverage', 'peft.PYRA', 'peft.LoRA'], tests: [], demo: null },
  { number: 32, short: 'Sorted LLaMA (SoFT)', title: 'Sorted LLaMA: Unlocking the Potential of Intermediate Layers of Large Language Models for Dynamic Inference Using Sorted Fine-Tuning (SoFT)', kind: 'training + inference (dynamic depth)',
    pieces: ['train.SoFT', 'nn.forwardAllExits', 'generate.selfSpeculative', 'infer.instanceAwareExit'], tests: [], demo: null },
  { number: 33, short: 'DSF', title: 'Understanding the differences in Foundation Models: Attention, State Space Models, and Recurrent Neural Networks', kind: 'theory (+ layers)',
    pieces: ['ssm.selectiveScan', 'nn.DSF', 'nn.SoftmaxAttention', 'nn.LinearAttention', 'nn.NormalizedAttention', 'nn.S6', 'nn.SSD', 'nn.QLSTM', 'nn.RGLRU',
      'dsf.materialize', 'dsf.applyPhi', 'dsf.dsfScan', 'dsf.linearRecurrence', 'dsf.hankelRanks', 'dsf.randomFeatureSoftmax'],
    tests: ['test/nn/arch/33-dsf.test.ts', 'test/examples/dsf-recall.test.ts', 'test/ssm/scan.test.ts'], demo: 'npx tsx examples/dsf-recall.ts' },
  { number: 34, short: 'THOR', title: 'Taming Sparsely Activated Transformer with Stochastic Experts', kind: 'architecture + training',
    pieces: ['nn.StochasticExpertFFN', 'loss.symmetricKL', 'train.thorStep'], tests: [], demo: null },
  { number: 35, short: 'TinyNet', title: "Model Rubik's Cube: Twisting Resolution, Depth and Width for TinyNets", kind: 'architecture scaling rule',
    pieces: ['models.EfficientNet', 'models.efficientNet', 'models.tinyNet', 'models.TINYNET_PRESETS', 'scale.compound', 'scale.inverseGiant', 'scale.tinyFormula', 'scale.fitTinyFormula', 'scale.roundFilters', 'scale.roundRepeats', 'stats.gaussianProcess', 'profile.countMacs'],
    tests: ['test/nn/arch/35-tinynet.test.ts', 'test/nn/arch/35-efficientnet.test.ts', 'test/stats/gaussian-process.test.ts', 'test/examples/tinynet-digits.test.ts'], demo: 'npx tsx examples/tinynet-digits.ts' },
  { number: 36, short: 'SpaceEvo', title: 'SpaceEvo: Hardware-Friendly Search Space Design for Efficient INT8 Inference', kind: 'NAS + INT8 quantization',
    pieces: ['quant.lsqPlus', 'quant.int8Matmul', 'quant.QConv2d', 'nas.HyperSpace', 'nas.blockKD', 'nas.qtScore', 'nas.evolveSpace', 'nas.Supernet'], tests: ['test/quant/lsq-plus.test.ts', 'test/quant/products.test.ts', 'test/quant/qconv.test.ts'], demo: null },
  { number: 37, short: 'Redco', title: 'Redco: A Lightweight Tool to Automate Distributed Training of LLMs on Any GPU/TPUs', kind: 'system',
    pieces: ['dist.autoShardRules', 'dist.Mesh', 'dist.ColumnParallelLinear', 'dist.RowParallelLinear', 'redco.Trainer', 'redco.Predictor', 'redco.Deployer'], tests: [], demo: null },
  { number: 38, short: 'PolyCom', title: 'Polynomial Composition Activations: Unleashing the Dynamics of Large Language Models', kind: 'layer (activation)',
    pieces: ['nn.PolyReLU', 'nn.PolyNorm', 'nn.TransformerMLP', 'models.TransformerLM'],
    tests: ['test/nn/arch/38-polycom.test.ts', 'test/examples/polycom-names.test.ts', 'test/nn/transformer-lm.test.ts', 'test/examples/char-lm.test.ts'], demo: 'npx tsx examples/polycom-names.ts' },
  { number: 39, short: 'MIMO-VP', title: 'MIMO Is All You Need : A Strong Multi-In-Multi-Out Baseline for Video Prediction', kind: 'architecture',
    pieces: ['models.MIMOVP', 'models.MIMO_VP_PRESETS', 'nn.FrameAttention', 'nn.Conv3dFFN', 'nn.MIMOEncoderLayer', 'nn.MIMODecoderLayer', 'nn.patchReshape', 'nn.patchReshapeBack', 'nn.deepSupervisionLoss', 'nn.recursiveRollout', 'nn.GroupNorm', 'data.synthetic.movingDigits'],
    tests: ['test/nn/arch/39-mimo-vp.test.ts', 'test/examples/mimo-vp-digits.test.ts'], demo: 'npx tsx examples/mimo-vp-digits.ts' },
  { number: 40, short: 'Read-ME', title: 'Read-ME: Refactorizing LLMs as Router-Decoupled Mixture of Experts with System Co-Design', kind: 'dense→MoE compression + serving',
    pieces: ['moe.extractFromActivations', 'nn.MaskedExpertFFN', 'moe.PreGatingRouter', 'train.routerDistill', 'serve.lookaheadScheduler', 'cache.belady'], tests: [], demo: null },
  { number: 41, short: 'S4D', title: 'On the Parameterization and Initialization of Diagonal State Space Models', kind: 'layer/kernel',
    pieces: ['ssm.S4D', 'ssm.S4D.prototype.step', 'ssm.ssmKernelVandermonde', 'ssm.fftConv', 'ssm.s4dInitA', 'nn.S4DLayer', 'models.S4DModel', 'data.synthetic.delayTask'],
    tests: ['test/ssm/s4d.test.ts', 'test/ssm/s4d-paper.test.ts', 'test/ssm/fft.test.ts', 'test/nn/arch/41-s4d.test.ts', 'test/examples/s4d-efficientvmamba-demos.test.ts'], demo: 'npx tsx examples/s4d-digits.ts' },
  { number: 42, short: 'HybridFlow', title: 'HybridFlow: A Flexible and Efficient RLHF Framework', kind: 'system + RLHF training',
    pieces: ['dataflow.ResourcePool', 'dataflow.WorkerGroup', 'dataflow.register', 'dataflow.Dispatch', 'dataflow.DataProto', 'dataflow.remaxFlow', 'dataflow.ppoFlow', 'rl.ppo', 'rl.remax', 'rl.gae', 'dataflow.HybridEngine', 'rl.grpo'], tests: ['test/dataflow/dataflow.test.ts', 'test/rl/ppo.test.ts'], demo: null },
  { number: 43, short: 'Unified Normalization', title: 'Unified Normalization for Accelerating and Stabilizing Transformers', kind: 'layer (custom backward)',
    pieces: ['nn.UnifiedNorm', 'nn.foldNorm', 'nn.unifiedNormBatchRef'],
    tests: ['test/nn/arch/43-unified-normalization.test.ts', 'test/examples/unified-norm-digits.test.ts'], demo: 'npx tsx examples/unified-norm-digits.ts' },
  { number: 44, short: 'Mixture-of-Supernets', title: 'Mixture-of-Supernets: Improving Weight-Sharing Supernet Training with Architecture-Routed Mixture-of-Experts', kind: 'NAS supernet training',
    pieces: ['nas.LinearSuper', 'nas.archEncoding', 'moe.ArchRouter', 'nn.MoSLinear', 'nas.exportSubnet'], tests: [], demo: null },
  { number: 45, short: 'Time-MoE', title: 'Time-MoE: Billion-Scale Time Series Foundation Models with Mixture of Experts', kind: 'architecture',
    pieces: ['nn.TimeMoE', 'nn.PointEmbedding', 'nn.RMSNorm', 'nn.RoPE', 'moe.SparseExpertsLayer', 'loss.huber', 'loss.switchBalance', 'forecast.generate'], tests: [], demo: null },
  { number: 46, short: 'MeZO', title: 'Fine-Tuning Language Models with Just Forward Passes', kind: 'optimizer (zeroth order)',
    pieces: ['optim.MeZO', 'optim.normalStream', 'peft.LoRA', 'memory'], tests: ['test/optim/mezo.test.ts', 'test/peft/lora.test.ts', 'test/examples/mezo-demos.test.ts'], demo: 'npx tsx examples/mezo-digits.ts' },
  { number: 47, short: 'EfficientNet breast tumor', title: 'Breast Tumor Classification Using EfficientNet Deep Learning Model', kind: 'training method (imbalanced data)',
    pieces: ['models.EfficientNet', 'nn.MBConv', 'F.weightedCrossEntropy', 'data.classWeights', 'data.augmentPipeline', 'train.transferHead', 'train.fitTransfer', 'metrics.classificationReport'],
    tests: ['test/nn/arch/47-efficientnet-breast-tumor.test.ts', 'test/examples/efficientnet-imbalanced-digits.test.ts'], demo: 'npx tsx examples/efficientnet-imbalanced-digits.ts' },
  { number: 48, short: 'Flag Aggregator', title: 'Flag Aggregator: Scalable Distributed Training under Failures and Augmented Losses using Convex Optimization', kind: 'training method (robust distributed)',
    pieces: ['dist.aggregators', 'dist.ParameterServer', 'dist.attacks', 'linalg.thinSVD', 'linalg.qr'], tests: [], demo: null },
  { number: 49, short: 'FBNetV3', title: 'FBNetV3: Joint Architecture-Recipe Search using Predictor Pretraining', kind: 'NAS + recipe search',
    pieces: ['nas.ArchRecipeSpace', 'nas.Predictor', 'rand.sobol', 'nas.constrainedIterativeOptimization', 'nas.adaptiveGeneticSearch', 'nn.FBNetV3'], tests: [], demo: null },
  { number: 50, short: 'SuperTickets', title: 'SuperTickets: Drawing Task-Agnostic Lottery Tickets from Supernets via Jointly Architecture Searching and Parameter Pruning', kind: 'NAS + pruning',
    pieces: ['nas.AtomicSupernet', 'prune.slimmingPenalty', 'nas.shrink', 'prune.globalMagnitude', 'prune.gradualSteps', 'prune.resetMask', 'prune.ticket'], tests: [], demo: null },
  { number: 51, short: 'SKR', title: 'Accelerating Data Generation for Neural Operators via Krylov Subspace Recycling', kind: 'numerical method / data generation',
    pieces: ['linalg.CSR', 'linalg.gmres', 'linalg.gcrodr', 'pde.darcy2d', 'pde.poisson2d', 'pde.helmholtz2d', 'pde.gaussianRandomField', 'skr.sort', 'nn.FNO'], tests: [], demo: null },
  { number: 52, short: 'Deep Model Assembling', title: 'Deep Model Assembling', kind: 'training method',
    pieces: ['models.StagedViT', 'nn.ViTStage', 'train.assemble', 'train.incubateModule', 'train.incubationHybrid', 'train.assembleStages', 'train.freeze', 'train.paramsOf', 'models.ViT', 'train.runParallel', 'train.assembleParallel', 'train.incubateStages'],
    tests: ['test/nn/arch/52-deep-model-assembling.test.ts', 'test/nn/vit.test.ts', 'test/examples/model-assembling-digits.test.ts', 'test/train/parallel.test.ts'], demo: 'npx tsx examples/model-assembling-digits.ts' },
  { number: 53, short: 'SparseByteNN', title: 'SparseByteNN: A Novel Mobile Inference Acceleration Framework Based on Fine-Grained Group Sparsity', kind: 'compression + kernel',
    pieces: ['blockMagnitudeMask', 'packDeltaCSR', 'sparseConv1x1', 'sparseConv3x3', 'prune.groupKernel', 'prune.rearrangeNetwork'], tests: ['test/sparse/kernels.test.ts', 'test/sparse/ops.test.ts'], demo: null },
  { number: 54, short: 'LLM-Drop', title: 'What Matters in Transformers? Not All Attention is Needed', kind: 'compression (module pruning)',
    pieces: ['prune.moduleImportance', 'prune.dropModules', 'prune.jointDrop', 'prune.iterativeDrop', 'hooks.recordIO'], tests: [], demo: null },
  { number: 55, short: 'MEFT', title: 'Make Pre-trained Model Reversible: From Parameter to Memory Efficient Fine-Tuning', kind: 'training method (PEFT, memory)',
    pieces: ['nn.Adapter', 'nn.ReversibleCoupling', 'nn.ReversibleStack', 'peft.meft', 'customOp'],
    tests: ['test/nn/arch/55-meft.test.ts', 'test/examples/meft-digits.test.ts'], demo: 'npx tsx examples/meft-digits.ts' },
  { number: 56, short: 'Duo-LLM', title: 'Duo-LLM: A Framework for Studying Adaptive Computation in Large Language Models', kind: 'architecture + inference',
    pieces: ['nn.DuoFFN', 'route.random', 'route.Router', 'route.oracle', 'metrics.tokenDifficulty'], tests: [], demo: null },
  { number: 57, short: 'BigNAS', title: 'BigNAS: Scaling Up Neural Architecture Search with Big Single-Stage Models', kind: 'NAS + training',
    pieces: ['nas.ElasticConv2d', 'nas.ElasticLinear', 'nas.SearchSpace', 'nas.sandwichStep', 'loss.inplaceDistill', 'nas.calibrateBN', 'nas.coarseToFineSearch'], tests: [], demo: null },
  { number: 58, short: 'QuantNAS', title: 'QuantNAS for super resolution: searching for efficient quantization-friendly architectures against quantization noise', kind: 'NAS + quantization',
    pieces: ['quant.lsq', 'quant.hwgq', 'quant.noise', 'nas.MixedOp', 'nas.bitOps', 'nn.ADQ', 'loss.entropyReg'], tests: ['test/quant/fake.test.ts'], demo: null },
  { number: 59, short: 'BudgetLongformer', title: 'BudgetLongformer: Can we Cheaply Pretrain a SotA Legal Language Model From Scratch?', kind: 'architecture + pretraining',
    pieces: ['F.bandedAttention', 'nn.LongformerSelfAttention', 'nn.bandedMask', 'models.LongformerEncoder', 'pretrain.ELECTRA', 'pretrain.MLM', 'pretrain.ElectraGenerator', 'pretrain.ElectraDiscriminator'],
    tests: ['test/nn/arch/59-budgetlongformer.test.ts', 'test/examples/electra-spam.test.ts'], demo: 'npx tsx examples/electra-spam.ts' },
  { number: 60, short: 'MC-SMoE', title: 'Merge, Then Compress: Demystify Efficient SMoE with Hints from Its Routing Policy', kind: 'compression (merge + low-rank/sparse)',
    pieces: ['nn.SwitchMoE', 'moe.usageFrequency', 'moe.expertSimilarity', 'merge.permuteExpert', 'merge.msmoe', 'compress.loSparse'], tests: [], demo: null },
  { number: 61, short: 'Polyhistor', title: 'Polyhistor: Parameter-Efficient Multi-Task Adaptation for Dense Vision Tasks', kind: 'training method (multi-task PEFT)',
    pieces: ['nn.HierViT', 'peft.Adapter', 'peft.DecomposedHyperNet', 'peft.ScalingKernel', 'heads.PixelDecoder'], tests: [], demo: null },
  { number: 62, short: 'DeepSpeed MoE-MT', title: 'Scalable and Efficient MoE Training for Multitask Multilingual Models', kind: 'system + MoE training',
    pieces: ['nn.MoE', 'losses.moeLoadBalance', 'moe.initExpertsFromDense', 'moe.aggregateExperts', 'moe.pruneExperts', 'dist.Simulated', 'optim.offload'], tests: [], demo: null },
  { number: 63, short: 'TokenFormer', title: 'TokenFormer: Rethinking Transformer Scaling with Tokenized Model Parameters', kind: 'architecture',
    pieces: ['nn.Pattention', 'nn.TokenFormerBlock', 'models.TokenFormerLM', 'models.loadIncremental'],
    tests: ['test/nn/arch/63-tokenformer.test.ts', 'test/examples/tokenformer-names.test.ts'], demo: 'npx tsx examples/tokenformer-names.ts' },
  { number: 64, short: 'LeMo', title: 'LeMo: Enabling LEss Token Involvement for MOre Context Fine-tuning', kind: 'system + training (long context)',
    pieces: ['sparse.tokenElimination', 'nn.TokenPredictor', 'kernels.gatherRows', 'kernels.scatterRows'], tests: [], demo: null },
  { number: 65, short: 'EvoNorm', title: 'Evolving Normalization-Activation Layers', kind: 'layer + search',
    pieces: ['nn.EvoNormB0', 'nn.EvoNormS0', 'F.instanceStd', 'F.groupStd', 'nas.evoLayer', 'nas.EvoLayer', 'nas.parseLayer', 'nas.stabilityCheck'],
    tests: ['test/nn/arch/65-evonorm.test.ts', 'test/examples/evonorm-digits.test.ts', 'test/nn/arch/65-evonorm-search.test.ts', 'test/examples/evonorm-search.test.ts'], demo: 'npx tsx examples/evonorm-digits.ts' },
  { number: 66, short: 'SE-MoE', title: 'SE-MoE: A Scalable and Efficient Mixture-of-Experts Distributed Training and Inference System', kind: 'system',
    pieces: ['dist.Cluster', 'dist.hierarchicalAllToAll', 'dist.fusedCollectives', 'store.Hierarchical.prefetch2D', 'moe.elasticTraining', 'infer.RingMemory'], tests: [], demo: null },
  { number: 67, short: 'ElasticViT', title: 'ElasticViT: Conflict-aware Supernet Training for Deploying Fast Vision Transformer on Diverse Mobile Devices', kind: 'NAS (supernet)',
    pieces: ['nas.ElasticViT', 'nas.flopsLUT', 'nas.sampleInRange', 'nas.ComplexityAwareSampler', 'nas.PerformanceBank'], tests: [], demo: null },
  { number: 68, short: 'PLeaS', title: 'PLeaS -- Merging Models with Permutations and Least Squares', kind: 'compression (merging)',
    pieces: ['merge.featureCost', 'linalg.linearAssignment', 'merge.partialBlocks', 'merge.buildPartial', 'merge.pleas'], tests: [], demo: null },
  { number: 69, short: 'LLM compression survey', title: 'Model Compression and Efficient Inference for Large Language Models: A Survey', kind: 'theory → catalogue',
    pieces: ['quant.quantizeInt8', 'quant.int8Matmul', 'quant.quantizePacked', 'quant.matvecQ4', 'quant.gptq', 'quant.awqScale', 'quant.smoothQuant', 'quant.kvCache', 'prune.wanda', 'prune.sparsegpt', 'prune.nm', 'distill.kd', 'distill.seqKD', 'infer.earlyExit', 'infer.speculative', 'bench.compressionReport'], tests: ['test/quant/formats.test.ts', 'test/quant/products.test.ts'], demo: null },
  { number: 70, short: 'URPE', title: 'Your Transformer May Not be as Powerful as You Expect', kind: 'layer (attention) + theory',
    pieces: ['nn.RPEBias', 'nn.RPEAttention', 'nn.URPEAttention', 'F.urpeAttention', 'models.RelativeTransformer', 'data.synthetic.evenTokenPrediction', 'data.synthetic.positionIdentification'],
    tests: ['test/nn/arch/70-urpe.test.ts', 'test/examples/urpe-synthetic.test.ts'], demo: 'npx tsx examples/urpe-synthetic.ts' },
  { number: 71, short: 'EfficientVMamba', title: 'EfficientVMamba: Atrous Selective Scan for Light Weight Visual Mamba', kind: 'architecture + kernel',
    pieces: ['ssm.selectiveScan', 'ssm.efficientScan', 'ssm.efficientMerge', 'ssm.crossScan', 'ssm.crossMerge', 'nn.ES2D', 'nn.EVSSBlock', 'nn.BiAttn', 'nn.InvertedResidual', 'nn.PatchMerging2D', 'models.EfficientVMamba', 'nn.updateBn'],
    tests: ['test/ssm/scan.test.ts', 'test/ssm/cross-scan.test.ts', 'test/nn/arch/71-efficientvmamba.test.ts', 'test/nn/update-bn.test.ts', 'test/examples/s4d-efficientvmamba-demos.test.ts'], demo: 'npx tsx examples/efficientvmamba-digits.ts' },
  { number: 72, short: 'SortedNet', title: 'SortedNet, a Place for Every Network and Every Network in its Place: Towards a Generalized Solution for Training Many-in-One Neural Networks', kind: 'training (nested many-in-one)',
    pieces: ['nested.slice', 'nested.SortedSpace', 'nested.sortedTrain', 'nn.EarlyExitHead', 'infer.selectByBudget', 'generate.selfSpeculative'], tests: [], demo: null },
  { number: 73, short: 'LLM-QFA', title: 'One QuantLLM for ALL: Fine-tuning Quantized LLMs Once for Efficient Deployments', kind: 'quantization + OFA supernet',
    pieces: ['quant.quantizePacked', 'quant.dequantizePacked', 'quant.packBits', 'quant.unpackBits', 'nn.QuantLinearMulti', 'ofa.QuantSupernet', 'ofa.ResourceBalancedSampler', 'ofa.searchConfig'], tests: ['test/quant/formats.test.ts'], demo: null },
  { number: 74, short: 'EfficientTDNN', title: 'EfficientTDNN: Efficient Architecture Search for Speaker Recognition', kind: 'NAS + architecture',
    pieces: ['nn.DynamicConv1d', 'nn.SERes2DilatedTDNNBlock', 'nn.AttentiveStatsPool', 'nn.AAMSoftmax', 'models.TDNNSpeakerNet', 'metrics.eer', 'nas.progressiveShrink', 'nas.AccuracyPredictor'],
    tests: ['test/nn/arch/74-efficienttdnn.test.ts', 'test/examples/tdnn-speakers.test.ts'], demo: 'npx tsx examples/tdnn-speakers.ts' },
  { number: 75, short: 'GraNet', title: 'Sparse Training via Boosting Pruning Plasticity with Neuroregeneration', kind: 'compression (during-training pruning)',
    pieces: ['prune.Masking', 'prune.erkDensities', 'prune.granet', 'prune.gmp', 'prune.rigl', 'prune.set'], tests: [], demo: null },
  { number: 76, short: 'Ladder Residual', title: 'Ladder-residual: parallelism-aware architecture for accelerating large model inference with communication overlapping', kind: 'architecture + system',
    pieces: ['nn.LadderTransformer', 'models.convertToLadder', 'dist.TensorParallel', 'dist.ringAllReduce'],
    tests: ['test/nn/arch/76-ladder-residual.test.ts', 'test/examples/ladder-names.test.ts'], demo: 'npx tsx examples/ladder-names.ts' },
  { number: 77, short: 'UniPT', title: 'UniPT: Universal Parallel Tuning for Transfer Learning with Efficient Parameter and Memory', kind: 'training (memory-efficient PETL)',
    pieces: ['hooks.collectHidden', 'peft.UniPT', 'peft.LoRA', 'peft.Adapter'], tests: [], demo: null },
]

/**
 * Walks a dotted path (`'optim.MeZO'`, `'ssm.S4D.prototype.step'`) on `root`; returns the value or
 * undefined when some step is missing. Only own or inherited properties of objects and functions count.
 */
export function resolvePiece(root: unknown, path: string): unknown {
  let cur: unknown = root
  for (const key of path.split('.')) {
    if (key === '' || cur === null || (typeof cur !== 'object' && typeof cur !== 'function')) return undefined
    if (!(key in (cur as object))) return undefined
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

/** Whether `path` resolves to a defined value on `root`. */
export function pieceExists(root: unknown, path: string): boolean {
  return resolvePiece(root, path) !== undefined
}

/**
 * The derived status: 'implemented' iff every piece resolves on `root`, the entry lists at least one
 * test and it has a demo; 'partial' iff at least one piece resolves (or it is otherwise incomplete);
 * 'planned' when none does. File existence of tests and demo scripts is checked by the callers that
 * can read files (test/papers.test.ts, `tessera papers`).
 */
export function paperStatus(entry: PaperEntry, root: unknown): PaperStatus {
  const found = entry.pieces.filter((p) => pieceExists(root, p)).length
  if (entry.pieces.length > 0 && found === entry.pieces.length && entry.tests.length > 0 && entry.demo !== null) return 'implemented'
  return found > 0 ? 'partial' : 'planned'
}

/** The entry numbered `n`, or undefined. */
export function findPaper(n: number): PaperEntry | undefined {
  return PAPERS.find((p) => p.number === n)
}

/** Counts of each status over `papers`. */
export function statusCounts(root: unknown, papers: readonly PaperEntry[] = PAPERS): Record<PaperStatus, number> {
  const counts: Record<PaperStatus, number> = { implemented: 0, partial: 0, planned: 0 }
  for (const p of papers) counts[paperStatus(p, root)]++
  return counts
}

const pad2 = (n: number): string => String(n).padStart(2, '0')

/** The registry as text rows: number, short name, status, found/total pieces, demo. */
export function papersTable(root: unknown, papers: readonly PaperEntry[] = PAPERS): string[] {
  const w = Math.max(...papers.map((p) => p.short.length))
  return papers.map((p) => {
    const found = p.pieces.filter((x) => pieceExists(root, x)).length
    return `${pad2(p.number)}  ${p.short.padEnd(w)}  ${paperStatus(p, root).padEnd(11)}  ${`${found}/${p.pieces.length}`.padStart(5)}  ${p.demo ?? '-'}`
  })
}

/** One paper's card: title, kind, pieces marked ✓/✗, tests and demo. */
export function paperCard(entry: PaperEntry, root: unknown): string[] {
  return [
    `${pad2(entry.number)} ${entry.short}: ${entry.title}`,
    `kind:   ${entry.kind}`,
    `status: ${paperStatus(entry, root)}`,
    'pieces:',
    ...entry.pieces.map((p) => `  ${pieceExists(root, p) ? '✓' : '✗'} ${p}`),
    `tests:  ${entry.tests.length ? entry.tests.join(', ') : '-'}`,
    `demo:   ${entry.demo ?? '-'}`,
  ]
}

/** PAPERS.md: a markdown table of the registry with the status counts. */
export function papersMarkdown(root: unknown, papers: readonly PaperEntry[] = PAPERS): string {
  const c = statusCounts(root, papers)
  const esc = (s: string): string => s.replace(/\|/g, '\\|')
  const rows = papers.map((p) => {
    const found = p.pieces.filter((x) => pieceExists(root, x)).length
    return `| ${pad2(p.number)} | ${esc(p.short)} | ${esc(p.title)} | ${esc(p.kind)} | ${paperStatus(p, root)} | ${found}/${p.pieces.length} | ${p.demo ? `\`${p.demo}\`` : '-'} |`
  })
  return [
    '# Papers',
    '',
    '<!-- Generated by `npx tsx scripts/papers-md.ts` from src/papers.ts; do not edit by hand. `npm run papers:check` fails when it is stale. -->',
    '',
    `${papers.length} papers: ${c.implemented} implemented, ${c.partial} partial, ${c.planned} planned. A paper is implemented when every listed piece is exported, it has tests and it has a demo (\`tessera demo NN\`).`,
    '',
    '| # | short | title | kind | status | pieces | demo |',
    '|---|-------|-------|------|--------|--------|------|',
    ...rows,
    '',
  ].join('\n')
}
