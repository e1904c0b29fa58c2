// Exact float32 on CUDA: ONNX Runtime's CUDA provider runs float32 Gemm/MatMul in TF32 by default, and
// onnxruntime-node cannot pass it `use_tf32 = 0`. cuBLAS / cuDNN honour NVIDIA_TF32_OVERRIDE=0 from the process
// environment when they initialise, so the engine sets it before any CUDA session unless the user opts in to TF32
// (--tf32, setting mambaExplain.tf32). Worker threads see a copy of process.env, so this must run in the main thread
// too, before the worker starts (EngineClient.start does); the native libraries read the real environment.

/** What the engine asked for: 'float32' (NVIDIA_TF32_OVERRIDE=0) or 'tf32' (left to the provider's default). */
export type CudaMathMode = 'float32' | 'tf32';

/** Sets the environment for the requested mode; returns it. Takes effect for CUDA libraries not yet initialised. */
export function applyCudaMathMode(tf32: boolean | undefined): CudaMathMode {
  if (tf32) {
    if (process.env.NVIDIA_TF32_OVERRIDE === '0' && process.env.MAMBA_EXPLAIN_SET_TF32_OVERRIDE === '1') delete process.env.NVIDIA_TF32_OVERRIDE;
    return 'tf32';
  }
  if (process.env.NVIDIA_TF32_OVERRIDE !== '0') {
    process.env.NVIDIA_TF32_OVERRIDE = '0';
    process.env.MAMBA_EXPLAIN_SET_TF32_OVERRIDE = '1';
  }
  return 'float32';
}
