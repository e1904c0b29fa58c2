#!/usr/bin/env bash
# The GPU figures of docs/benchmarks.md, on the H200 test machine, in three device calls sent back to back (the
# machine keeps /tmp only ~30 s between calls). Carry: .gpu-payload/<half> (../shared/gpu/make-cuda-payload.sh),
# .devcarry (bench.js bundled from tools/bench.ts, ../shared/bench/torch_knockout_baseline.py, the gpt-neox-20b
# tokenizer and counterfact-tracing.json.xz from ../shared/data) and dist (npm run build) for the product path.
#   bash tools/gpu/h200.sh prepare [SHAPES]  # call 1: node + ORT 1.29, random checkpoints and their ONNX graphs
#                                            # (SHAPES given: those only, without the HF checkpoint and CounterFact)
#   bash tools/gpu/h200.sh main      # call 2: CUDA provider; PyTorch baseline, bench, transformers, `run` on CounterFact
#   bash tools/gpu/h200.sh scaling   # call 3: prompt length 12 / 24 / 48 × shapes
#   bash tools/gpu/h200.sh threads   # (after prepare 1.3b) the bench at ORT intra-op threads 16 and 1
#   bash tools/gpu/h200.sh webgpu    # (after prepare 1.3b,130m) WebGPU's host/device copies, and the bench under WebGPU options
#   bash tools/gpu/h200.sh products  # (after prepare 1.3b) the products probe (.devcarry/probe.js: Gemm vs MatMul forms) on
#                                    # WebGPU and CUDA, then PyTorch, the bench at 64 / 128 / 256 prompts per call, WebGPU
#   bash tools/gpu/h200.sh confirm   # (after prepare 1.3b) PyTorch, the bench at default caps and 128 prompts per call, WebGPU
#                                    # at default caps, and `run` on 1,000 CounterFact prompts
#   bash tools/gpu/h200.sh profile   # (after prepare 1.3b) ORT's per-operator profile of a 1.3b chunk call
#   bash tools/gpu/h200.sh product   # (after prepare 1.3b) PyTorch, bench at 128 prompts, WebGPU, `run` on CounterFact
#   bash tools/gpu/h200.sh measure   # (after prepare 1.3b[,130m]) PyTorch, bench at 64 prompts (default caps) and 64 / 128 / 256
#                                    # in one call each, WebGPU, ORT's CUDA profile, (with 130m) the host/device copies ORT
#                                    # inserts (.devcarry/memcpy.js) and (with nsys) the GPU kernel times
# Output goes to $OUT (logs); nothing is written in the repository.
set -uo pipefail
step=$1
D=/tmp/meb
mkdir -p "$D"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
if [ "$step" = prepare ]; then
  eval "$(bash .gpu-payload/a/setup-gpu.sh a .gpu-payload)"
else
  case "$step" in main|profile|product|products|confirm|measure|threads|webgpu) bash .gpu-payload/b/setup-gpu.sh b .gpu-payload > /dev/null ;; esac
  eval "$(bash /tmp/gpu-env.sh 2>/dev/null || true)"
fi
# the environment, for the later calls
cat > /tmp/gpu-env.sh <<ENV
echo 'export PATH=/tmp/gpu:\$PATH NODE_PATH=/tmp/gpu/node_modules'
echo 'export LD_LIBRARY_PATH=/usr/local/cuda-13.0/targets/x86_64-linux/lib:/usr/lib/x86_64-linux-gnu:\${LD_LIBRARY_PATH:-}'
echo 'export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json'
ENV
eval "$(bash /tmp/gpu-env.sh)"
B="node .devcarry/bench.js --dir $D --naive-prompts 0 --no-extras"
# GPU memory sampling (nvidia-smi beside the run) slows CUDA runs: only the scaling table asks for it
BM="$B --gpu-memory"
case "$step" in
prepare)
  log "random checkpoints and ONNX graphs"
  $B --prepare --shapes "${2:-130m,370m,1.3b,2.7b,gpt2,pythia-160m}"
  if [ -z "${2:-}" ]; then
    log "HF transformers 1.3b checkpoint + PyTorch reference top-5"
    python3 tools/make_random_hf_checkpoint.py --shape 1.3b --out $D/m13hf --device cuda
    $B --prepare --shapes hf-1.3b --checkpoint hf-1.3b=$D/m13hf
  fi
  # the product path: the 1.3b checkpoint with the gpt-neox-20b tokenizer (vocabulary padded to 50288 as published)
  cp .devcarry/gpt-neox-20b-tokenizer.json $D/mamba2-1.3b-random/tokenizer.json
  xz -dc .devcarry/counterfact-tracing.json.xz > $D/counterfact.json
  log "done"
  ;;
main)
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  log "PyTorch baseline (float32), 1.3b and 130m shapes"
  python3 .devcarry/torch_knockout_baseline.py
  python3 .devcarry/torch_knockout_baseline.py 768 24
  log "bench, CUDA exact float32: 1.3b (HF checkpoint, top-5 vs PyTorch) and the transformer baselines, parity vs CPU"
  $B --ep cuda --shapes hf-1.3b --checkpoint hf-1.3b=$D/m13hf --prompts 64 --compare-ep cpu
  $B --ep cuda --shapes 130m,gpt2,pythia-160m --prompts 64 --compare-ep cpu
  $B --ep cuda --shapes 1.3b --prompts 64 --max-batch 8192
  log "bench, WebGPU: 1.3b"
  $B --ep webgpu --shapes 1.3b --prompts 64
  log "the product path: mamba-explain run, 1000 CounterFact prompts, macro k = 9, 1.3b shape"
  export MAMBA_EXPLAIN_CACHE=$D  # the bench's ONNX graphs ($D/onnx) are reused
  cp .devcarry/gpt-neox-20b-tokenizer.json $D/mamba2-130m-random/tokenizer.json
  log "several GPUs' code path on one GPU: --device 0 vs --devices 0 vs --devices 0,0 (two workers), 130m shape, 256 prompts"
  for dv in device:0 devices:0 devices:0,0; do
    f=$D/dev-${dv/:/-}.json
    ( time node dist/cli.js run --experiment macro --model $D/mamba2-130m-random --dataset $D/counterfact.json --limit 256 --window 9 --no-filter --chunk 32 --ep cuda --${dv%%:*} ${dv#*:} --out $f ) 2>&1 | grep -E "prompts:|real|workers|mamba-explain:"
  done
  node tools/compare-results.mjs $D/dev-device-0.json $D/dev-devices-0,0.json
  node tools/compare-results.mjs $D/dev-device-0.json $D/dev-devices-0.json
  ( time node dist/cli.js run --model $D/mamba2-1.3b-random --dataset $D/counterfact.json --experiment macro --limit 1000 --window 9 --no-filter --chunk 64 --ep cuda --out $D/cf1000.json ) 2>&1 | tail -25
  ;;
product)
  # (after prepare 1.3b) the PyTorch baseline, the bench at 128 prompts per chunk call, WebGPU, and the product path
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 .devcarry/torch_knockout_baseline.py
  $B --ep cuda --shapes 1.3b --prompts 128 --max-batch 16384
  $B --ep webgpu --shapes 1.3b --prompts 64
  export MAMBA_EXPLAIN_CACHE=$D
  for mb in default 8192; do
    log "the product path: mamba-explain run, 1000 CounterFact prompts, macro k = 9, 1.3b shape, max batch $mb"
    ( time node dist/cli.js run --model $D/mamba2-1.3b-random --dataset $D/counterfact.json --experiment macro --limit 1000 --window 9 --no-filter --chunk 64 --ep cuda $([ $mb = default ] || echo --max-batch $mb) --out $D/cf1000-$mb.json ) 2>&1 | grep -E "^1000/1000|^real|prompts:"
  done
  node tools/compare-results.mjs $D/cf1000-default.json $D/cf1000-8192.json
  ;;
profile)
  # where a chunk call's time goes: ORT's per-node profile of the 1.3b bench (dataset of 64 prompts, one chunk call)
  MAMBA_EXPLAIN_ORT_PROFILE=$D/prof $B --ep cuda --shapes 1.3b --prompts 64 --max-batch 8192
  python3 tools/gpu/ort_profile_summary.py $D/prof 30
  $B --ep cuda --shapes 1.3b --prompts 128 --max-batch 16384
  ;;
measure)
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 .devcarry/torch_knockout_baseline.py
  log "bench, CUDA exact float32, 1.3b: 64 prompts (default caps), then 64, 128 and 256 prompts in one call each"
  $B --ep cuda --shapes 1.3b --prompts 64 --also-prompts 64:8192,128:16384,256:32768
  log "bench, WebGPU, 1.3b"
  $B --ep webgpu --shapes 1.3b --prompts 64
  log "ORT profile of the 1.3b trace and a 64-prompt chunk call"
  MAMBA_EXPLAIN_ORT_PROFILE=$D/prof $B --ep cuda --shapes 1.3b --prompts 64 --max-batch 8192
  python3 tools/gpu/ort_profile_summary.py $D/prof 30
  # (ORT's profiler on the WebGPU provider stops the run in onnxruntime-node 1.29: "Failed to wait for the operation",
  # docs/benchmarks.md; so WebGPU has no per-node profile here)
  # which tensors ORT copies between device and host in the chunk graph (130m: the same graph as 1.3b's, smaller weights)
  if [ -d $D/mamba2-130m-random ]; then
    log "host/device copies in ORT's optimised chunk graph (CUDA), 130m shape"
    mkdir -p $D/opt && MAMBA_EXPLAIN_ORT_OPTIMIZED=$D/opt/m $B --ep cuda --shapes 130m --prompts 8 > /dev/null 2>&1
    for f in $D/opt/m-*.onnx; do node .devcarry/memcpy.js $f 6 | head -30; done | grep -v "MemcpyToHost 0, MemcpyFromHost 0"
  fi
  # the GPU's own kernel times (ORT's profile times the host side of each node), when Nsight Systems is installed
  NSYS=$(command -v nsys || ls /usr/local/cuda*/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys 2>/dev/null | head -1)
  if [ -n "$NSYS" ]; then
    log "Nsight Systems ($NSYS): GPU kernel and CUDA API summaries of the 1.3b bench, 128 prompts in one call"
    timeout 150 "$NSYS" profile -t cuda -o $D/nsys --force-overwrite true $B --ep cuda --shapes 1.3b --prompts 128 --max-batch 16384 > /dev/null 2>&1
    timeout 90 "$NSYS" stats -q --report cuda_gpu_kern_sum,cuda_api_sum,cuda_gpu_mem_time_sum --format csv $D/nsys.nsys-rep 2>/dev/null | python3 tools/gpu/nsys_summary.py 25
  else
    log "no Nsight Systems (nsys) on this machine"
  fi
  ;;
threads)
  # (after prepare 1.3b) ORT's intra-op thread pool of the CUDA sessions at 16 threads (the host's cores) and at 1 (the
  # default since), on the launch-bound trace and 128 prompts in one call (the first log ran `--threads $t`: the same,
  # before CUDA sessions took their own count)
  for t in 16 1; do
    log "bench, CUDA, 1.3b, MAMBA_EXPLAIN_CUDA_THREADS=$t"
    MAMBA_EXPLAIN_CUDA_THREADS=$t $B --ep cuda --shapes 1.3b --prompts 128 --max-batch 16384 | grep -E "threads|trace latency|throughput|phases"
  done
  ;;
webgpu)
  # (after prepare 1.3b,130m) where WebGPU's time goes: the host/device copies ORT puts in the 130m chunk graph (a CPU
  # fallback's download ends the pending dispatches and waits for the GPU), then the 1.3b bench under WebGPU session
  # options (the EP reads them from session config entries; an option this ORT lacks is ignored)
  if [ -d $D/mamba2-130m-random ]; then
    mkdir -p $D/optw && MAMBA_EXPLAIN_ORT_OPTIMIZED=$D/optw/m $B --ep webgpu --shapes 130m --prompts 8 > /dev/null 2>&1
    for f in $D/optw/m-*.onnx; do node .devcarry/memcpy.js $f 6 | head -40; done | grep -v "MemcpyToHost 0, MemcpyFromHost 0"
  fi
  for x in "" "ep.webgpuexecutionprovider.maxNumPendingDispatches=128" "ep.webgpuexecutionprovider.enableInt64=1"; do
    log "bench, WebGPU, 1.3b, extra: ${x:-none}"
    MAMBA_EXPLAIN_ORT_EXTRA="$x" $B --ep webgpu --shapes 1.3b --prompts 64 | grep -E "trace latency|throughput|phases"
  done
  ;;
products)
  # (after prepare 1.3b) how fast a layer's products are in each ONNX form (tools/webgpu-probe.ts, bundled as
  # .devcarry/probe.js): Gemm transB = 1 (builder ≤ v22), MatMul 2-D and 3-D on [in, out] weights (v23)
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  for ep in webgpu cuda; do
    log "products probe, $ep"
    NVIDIA_TF32_OVERRIDE=0 node .devcarry/probe.js --ep $ep --rows 120,1024,4096 --reps 4 --dir $D/probe
  done
  python3 .devcarry/torch_knockout_baseline.py
  log "bench, CUDA exact float32, 1.3b: 64 prompts (default caps), then 128 and 256 prompts in one call each"
  $B --ep cuda --shapes 1.3b --prompts 64 --also-prompts 128:16384,256:32768
  log "bench, WebGPU, 1.3b"
  $B --ep webgpu --shapes 1.3b --prompts 64
  ;;
confirm)
  # (after prepare 1.3b) every figure of the issue's targets at default settings, in one call
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 .devcarry/torch_knockout_baseline.py
  log "bench, CUDA exact float32, 1.3b: 64 prompts (default caps), 128 prompts in one call"
  $B --ep cuda --shapes 1.3b --prompts 64 --also-prompts 128:16384
  log "bench, WebGPU, 1.3b, default caps"
  $B --ep webgpu --shapes 1.3b --prompts 64 --also-prompts 128
  export MAMBA_EXPLAIN_CACHE=$D
  log "the product path: mamba-explain run, 1000 CounterFact prompts, macro k = 9, 1.3b shape"
  ( time node dist/cli.js run --model $D/mamba2-1.3b-random --dataset $D/counterfact.json --experiment macro --limit 1000 --window 9 --no-filter --chunk 64 --ep cuda --out $D/cf1000.json ) 2>&1 | grep -E "^1000/1000|^real|prompts:"
  ;;
scaling)
  for n in 12 24 48; do
    log "scaling: prompt length $n"
    $BM --ep cuda --shapes 130m,370m,1.3b,2.7b --prompts 64 --prompt-len $n
  done
  ;;
esac
