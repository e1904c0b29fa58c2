// Shared types of the engine. No `vscode` import anywhere under src/engine.
// Every module of the engine codes against these interfaces, so keep them stable.

/** Architecture family of a checkpoint (one folder per family under src/engine/arch/). */
export type ArchitectureKind = 'mamba2' | 'mamba1' | 'gpt2' | 'gptneox';

/** Where a config.json came from. */
export type CheckpointFormat = 'state-spaces' | 'hf';

/**
 * What every family's config has: the only fields code outside src/engine/arch/<family>/ may read.
 * Family-specific fields (heads, d_state, dt_rank, …) belong to the family's own config type.
 */
export interface BaseModelConfig {
  arch: ArchitectureKind;
  format: CheckpointFormat;
  dModel: number;
  nLayer: number;
  /** vocab_size as stored in config.json. */
  vocabSize: number;
  /** Rows of the embedding matrix actually stored (vocab padded to pad_vocab_size_multiple). */
  paddedVocabSize: number;
  /** depthwise conv kernel width (the conv path of SPEC §8); 1 for families without a conv path (transformers) */
  dConv: number;
  /** norm epsilon of the blocks and norm_f (RMSNorm for Mamba, LayerNorm for transformers) */
  eps: number;
  tieEmbeddings: boolean;
}

/** Normalised Mamba-2 hyper-parameters (SPEC §1). */
export interface Mamba2Config extends BaseModelConfig {
  arch: 'mamba2';
  dState: number;
  headdim: number;
  nGroups: number;
  expand: number;
  dConv: number;
  /** d_inner = expand * dModel */
  dInner: number;
  /** H = dInner / headdim */
  nHeads: number;
}

/** Normalised Mamba-1 / Falcon-Mamba hyper-parameters (SPEC §2). */
export interface Mamba1Config extends BaseModelConfig {
  arch: 'mamba1';
  /** 'falcon_mamba': B, C and dt are RMS-normalised without a weight (eps mixerRmsEps) */
  variant: 'mamba' | 'falcon_mamba';
  dState: number;
  expand: number;
  /** d_inner = expand * dModel: the channels, one attention matrix each */
  dInner: number;
  /** rank of the dt projection (ceil(d_model / 16) when "auto") */
  dtRank: number;
  /** Falcon-Mamba's epsilon of the weightless B / C / dt norms; null for Mamba-1 */
  mixerRmsEps: number | null;
}

/** Normalised GPT-2 / GPT-NeoX (Pythia) hyper-parameters (SPEC §7). */
export interface TransformerConfig extends BaseModelConfig {
  arch: 'gpt2' | 'gptneox';
  /** attention heads (the attention units) */
  nHead: number;
  /** MLP width */
  dFf: number;
  /** most positions: GPT-2's learned table (n_positions), GPT-NeoX's max_position_embeddings */
  maxPositions: number;
  /** 'gelu_new' (tanh approximation, GPT-2) or 'gelu' (exact, GPT-NeoX) */
  activation: 'gelu_new' | 'gelu';
  /** GPT-NeoX: rotary dims = floor(headDim · rotaryPct) (0 for GPT-2) and base */
  rotaryPct: number;
  rotaryBase: number;
  /** GPT-NeoX use_parallel_residual: x + attn(ln1(x)) + mlp(ln2(x)) */
  parallelResidual: boolean;
}

/** The config of any supported family. Code outside a family folder reads only BaseModelConfig's fields. */
export type ModelConfig = Mamba2Config | Mamba1Config | TransformerConfig;

export type DType = 'float32' | 'float16' | 'bfloat16';

export interface TensorInfo {
  /** Canonical name, see CANONICAL NAMES below. */
  name: string;
  dtype: DType;
  shape: number[];
}

/**
 * CANONICAL NAMES (both checkpoint formats are mapped onto these; the per-layer names are the family's, see
 * src/engine/arch/<family>/weights.ts). Mamba-2:
 *   embedding.weight                 [paddedVocab, d]
 *   layers.{i}.norm.weight           [d]
 *   layers.{i}.mixer.in_proj.weight  [2*dInner + 2*G*S + H, d]
 *   layers.{i}.mixer.conv1d.weight   [dInner + 2*G*S, 1, dConv]
 *   layers.{i}.mixer.conv1d.bias     [dInner + 2*G*S]
 *   layers.{i}.mixer.dt_bias         [H]
 *   layers.{i}.mixer.A_log           [H]
 *   layers.{i}.mixer.D               [H]
 *   layers.{i}.mixer.norm.weight     [dInner]
 *   layers.{i}.mixer.out_proj.weight [d, dInner]
 *   norm_f.weight                    [d]
 *   lm_head.weight                   [paddedVocab, d]   (absent when tied: use embedding.weight)
 */
export interface Checkpoint {
  readonly dir: string;
  readonly config: ModelConfig;
  /** Stable identity of the checkpoint: sha256 over config.json and the weight files' names, sizes and a sample of bytes. */
  readonly hash: string;
  /** dtype in which most weights are stored (the largest tensor's). */
  readonly storedDType: DType;
  tensorNames(): string[];
  info(name: string): TensorInfo;
  /** Reads one tensor by file offset (no whole-file load) and converts it to float32. */
  readF32(name: string): Float32Array;
  /** Reads rows [start, start+count) of a 2-D tensor as float32 (used for embedding look-ups). */
  readRowsF32(name: string, start: number, count: number): Float32Array;
  close(): void;
}

/** Result of tokenising a text. Offsets are [start, end) in UTF-16 code units of the input string. */
export interface Encoding {
  ids: number[];
  tokens: string[];
  offsets: [number, number][];
}

export interface Tokenizer {
  readonly file: string;
  readonly vocabSize: number;
  encode(text: string): Encoding;
  decode(ids: number[]): string;
  /** Raw vocabulary string of a token (e.g. 'Ġowned'). */
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
}

export type ExecutionProvider = 'cuda' | 'webgpu' | 'cpu';
export type ExecutionProviderChoice = ExecutionProvider | 'auto';

/**
 * A model seen layer by layer: the unit that the experiment runner drives.
 * Hidden states are row-major float32 [batch, seqLen, dModel].
 * A knockout mask is float32 [batch, seqLen, seqLen], 1 = keep the edge (row i <- column j), 0 = block it;
 * it multiplies the attention matrix of every attention unit of the layer (Mamba-2 heads, Mamba-1 channels, for every
 * state entry; SPEC §2, §3). `undefined` means no knockout (all ones).
 * A conv mask is float32 [batch, seqLen, dConv]: 1 keeps, 0 zeroes tap k of the conv1d output at row i (tap k reads
 * position i − (dConv−1) + k): the complete knockout of SPEC §8. `undefined` keeps every tap.
 * A unit mask is float32 [batch, units]: 1 where the edge knockout applies, 0 where the unit keeps every edge (feature
 * knockout, SPEC §4: a subset of heads / channels). `undefined` applies it in every unit.
 * Attention, when asked for, is float32 [batch, units, seqLen, seqLen] after the mask (units: family.attentionUnits).
 */
export interface ModelBackend {
  readonly config: ModelConfig;
  /** Execution provider actually used ('cpu', 'webgpu', 'cuda', or 'reference' for the float64 oracle). */
  readonly ep: string;
  /** How the runner should batch calls to this backend (declared by the backend, not guessed from `ep`; default DEFAULT_HINTS). */
  readonly hints?: BackendHints;
  embed(ids: Int32Array, batch: number, seqLen: number): Promise<Float32Array>;
  layer(
    index: number,
    hidden: Float32Array,
    batch: number,
    seqLen: number,
    mask?: Float32Array,
    wantAttention?: boolean,
    wantContext?: boolean,
    convMask?: Float32Array,
    unitMask?: Float32Array,
  ): Promise<{ hidden: Float32Array; attention?: Float32Array; context?: LayerContextRows }>;
  /**
   * Optional fast path for knockouts: layer `index` at the LAST position only, for `batch` items whose earlier
   * positions are clean (a knockout of (last ← c) edges changes nothing before the last position). `hidden` is
   * [batch, d] (residual at the last position), `ctx` holds the clean context of the positions before it for
   * `ctx.count` prompts and `ctxIndex[b]` says which one item b uses; `mask` is [batch, seqLen] (the last row of the
   * keep mask), `convMask` [batch, dConv] (the last row's conv taps), `unitMask` [batch, units] (where the knockout
   * applies). Returns the residual at the last position, [batch, d].
   *
   * Prompts of different lengths share a call: `seqLen` is then the longest, and an item of a prompt of n < seqLen
   * tokens has its `prefix` context LEFT-padded to seqLen − 1 rows with all-zero rows (before its position 0), its mask
   * 0 on those seqLen − n columns, and `positions[b]` = n − 1, the absolute position of its last row (default
   * seqLen − 1 for every item). The padding adds exactly nothing (docs/method.md §3, "Prompts of different lengths").
   */
  layerLastRow?(
    index: number,
    hidden: Float32Array,
    batch: number,
    seqLen: number,
    ctx: LayerContextBatch,
    ctxIndex: Int32Array,
    mask?: Float32Array,
    convMask?: Float32Array,
    unitMask?: Float32Array,
    positions?: Int32Array,
  ): Promise<Float32Array>;
  /** Final RMSNorm + tied/untied vocab projection of the LAST position only: returns logits [batch, paddedVocabSize]. */
  headLast(hidden: Float32Array, batch: number, seqLen: number): Promise<Float32Array>;
  /**
   * Optional: the head reduced to what a knockout needs, on the device: per item the largest logit over the real
   * vocabulary, Σ exp(logit − largest) and the logit of `targets[b]` (float32), so [batch, V] logits never travel.
   */
  headLastTarget?(hidden: Float32Array, batch: number, seqLen: number, targets: Int32Array): Promise<HeadTargetStats>;
  /**
   * Optional, when the backend runs a chunk's clean forward and its last-position knockout rows in one call (the
   * clean residuals and contexts stay on the device): the same numbers as cleanForward followed by the fast path's
   * rows. See ChunkCall.
   */
  chunkKnockouts?(req: ChunkCall): Promise<ChunkCallResult>;
  /**
   * Steering (SPEC §5): per layer the scale of each channel of the mixer output ([d], undefined = none) for every
   * following call, until changed; `undefined` clears it. Optional for wrappers; both backends have it.
   */
  setSteering?(perLayer: readonly (Float32Array | undefined)[] | undefined): void;
  /**
   * Optional: one position of layer `index` in recurrent form (generation) for `batch` sequences: hidden [batch, d],
   * the layer's conv state [batch, K−1, width] and SSM state [batch, …] (family stateShape) in, the new ones out.
   */
  step?(index: number, hidden: Float32Array, batch: number, convState: Float32Array, ssmState: Float32Array): Promise<{ hidden: Float32Array; convState: Float32Array; ssmState: Float32Array }>;
  dispose(): Promise<void>;
}

/** Batching a backend asks for (OrtBackend: larger batches on GPU providers, where each call crosses host memory). */
export interface BackendHints {
  /** most last-row items per layerLastRow call when the user gave no --max-batch */
  lastRowBatch: number;
  /** byte budget of one call's working memory when the user gave no --max-batch */
  callBytes: number;
  /** most knockout rows per chunk call (chunkKnockouts) when the user gave no --max-batch; the byte budget caps them too */
  chunkRows: number;
  /**
   * prompts per dataset chunk (the batching and checkpoint unit) when the user gave no --chunk: few on the CPU, where a
   * chunk of 8 already fills a call and checkpoints stay frequent; more on a GPU, whose calls are faster per row the
   * more rows they hold (docs/benchmarks.md)
   */
  datasetChunk: number;
}

/** The batching of a backend that declares none (the CPU's). */
export const DEFAULT_HINTS: BackendHints = { lastRowBatch: 512, callBytes: 512 * 1024 * 1024, chunkRows: 512, datasetChunk: 8 };

/**
 * One chunk call (ModelBackend.chunkKnockouts): P prompts of at least 2 tokens, right-padded to `width` (their longest),
 * and R knockout rows of the last-position fast path on them.
 */
export interface ChunkCall {
  /** [P, width] token ids, right-padded with 0 */
  ids: Int32Array;
  width: number;
  /** [P] token count of each prompt (2 … width) */
  lengths: Int32Array;
  /** [P] target token of each prompt, −1 for its clean top-1 */
  targets: Int32Array;
  /** [P] 1: the prompt's rows run only if its clean top-1 is its target (the dataset filter) */
  onlyIfTop1: Uint8Array;
  /** [R] the layer where each row joins (its window's start), non-decreasing */
  starts: Int32Array;
  /** [R] the layer after each row's window (start + size): a row's cut is the same in every layer of its window */
  ends: Int32Array;
  /** [R] the prompt of each row */
  prompt: Int32Array;
  /**
   * [R, width] the keep mask of the row's last position in the layers of its window, columns = its context (left-padded
   * for prompts shorter than width, the padding 0) ++ itself
   */
  mask: Float32Array;
  /** [R, width] the same after its window: 0 in the padding columns only */
  afterMask: Float32Array;
  /** [R, dConv] the conv-tap keep mask of the row's last position in its window (all kept after it); absent = all kept */
  convMask?: Float32Array;
  /**
   * Feature knockout: [L, G, units] the unit masks of G feature groups per layer (1 = the knockout applies in the unit)
   * and [R] the group of each row; absent = every unit
   */
  unitGroups?: Float32Array;
  rowGroup?: Int32Array;
  /** also return the clean residual at every layer boundary */
  wantHiddens?: boolean;
}

export interface ChunkCallResult {
  /** [P, paddedVocab] clean logits at each prompt's last position */
  logits: Float32Array;
  /** [P] whether the prompt's rows ran (always, unless onlyIfTop1 and the clean top-1 is not the target) */
  kept: boolean[];
  /** [R] each row's target statistics (as headLastTarget's); NaN for the rows of prompts not kept */
  stats: HeadTargetStats;
  /** with wantHiddens: L + 1 arrays [P, width, d], the input of each layer and the output of the last */
  hiddens?: Float32Array[];
}

/** See ModelBackend.headLastTarget. p(target) = exp(targetLogit − maxLogit) / sumExp; top-1 ⇔ targetLogit = maxLogit. */
export interface HeadTargetStats {
  maxLogit: Float32Array;
  sumExp: Float32Array;
  targetLogit: Float32Array;
}

/**
 * One per-position tensor of a layer that the last position reads (declared by the family, see arch/types.ts):
 * `conv` tensors keep the dConv − 1 positions before the last (zeros before position 0), `prefix` tensors keep
 * positions 0 … seqLen − 2.
 */
export interface ContextTensorSpec {
  name: string;
  rows: 'conv' | 'prefix';
  width: number;
}

/** Per-position context values of a layer call, by ContextTensorSpec name: [batch, seq, width] each. */
export type LayerContextRows = Record<string, Float32Array>;

/**
 * The clean context of the positions before the last, for `count` prompts of at most seqLen tokens (see layerLastRow).
 * A `prefix` tensor holds a prompt of n tokens in its last n − 1 rows, after seqLen − n all-zero rows (left padding).
 */
export interface LayerContextBatch {
  count: number;
  /** by ContextTensorSpec name: [count, dConv − 1, width] for `conv` tensors, [count, seqLen − 1, width] for `prefix` */
  tensors: Record<string, Float32Array>;
}

/** A user-facing error: the CLI prints its message on one line (no stack) and exits non-zero. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** What an open model is, for provenance in every result. */
export interface ModelIdentity {
  /** Model folder (absolute path) or Hub id. */
  path: string;
  /** Checkpoint hash (Checkpoint.hash). */
  hash: string;
  format: CheckpointFormat;
  /** the model family (and, for Mamba-1, its variant); absent in results of versions before Mamba-1 support = mamba2 */
  arch?: ArchitectureKind;
  variant?: 'mamba' | 'falcon_mamba';
  dModel: number;
  nLayer: number;
  storedDType: DType;
  /** Tokenizer file and its sha256. */
  tokenizer: { file: string; sha256: string };
}

export interface ProgressEvent {
  done: number;
  total: number;
  /** items per second, when known */
  rate?: number;
  /** seconds left, when known */
  etaSeconds?: number;
  message?: string;
}

/** The open model inside the engine worker (or in-process for tests). */
export interface EngineSession {
  modelDir: string;
  checkpoint: Checkpoint;
  tokenizer: Tokenizer;
  backend: ModelBackend;
  identity: ModelIdentity;
  /** compute dtype of the graphs ('float32' default; 'float16' GPU-only option) */
  computeDType: 'float32' | 'float16';
  /** CUDA only: whether float32 matrix products were asked to be exact ('float32', the default) or TF32 */
  cudaMath?: 'float32' | 'tf32';
  /** CUDA only: the GPU index */
  device?: number;
  /** the steering applied to the backend for the call in progress (SPEC §5; set by the worker's methods), for provenance */
  steering?: { layer: number; channels: number[]; scale: number }[];
}

export interface MethodContext {
  progress(p: ProgressEvent): void;
  /** true once the caller asked to cancel; handlers check it between batches and throw CancelledError. */
  cancelled(): boolean;
}

/** A named operation that the engine worker exposes (see src/engine/runtime/methods.ts). */
export type MethodHandler<P = any, R = unknown> = (session: EngineSession, params: P, ctx: MethodContext) => Promise<R>;

export class CancelledError extends Error {
  constructor() {
    super('Cancelled');
    this.name = 'CancelledError';
  }
}
