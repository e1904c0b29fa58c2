"""A random-weight Mamba-2 checkpoint at a published shape, written by HF transformers, plus its reference output.

Used by the GPU benchmark (docs/benchmarks.md): transformers initialises Mamba2ForCausalLM the way it initialises a
new model (A_log = log(1..H), dt_bias from the time-step range, normal(0.02) projections), the weights are rounded to
float16 and saved with save_pretrained (HF layout, safetensors), and the reference top-k of the last position for the
benchmark's prompt 0 is computed in float32 from the same float16-rounded weights.

  python3 tools/make_random_hf_checkpoint.py --shape 1.3b --out /tmp/m13 [--device cuda]
"""
import argparse
import json
import os
import time

import torch
from transformers import Mamba2Config, Mamba2ForCausalLM

SHAPES = {"130m": (768, 24), "370m": (1024, 48), "780m": (1536, 48), "1.3b": (2048, 48), "2.7b": (2560, 64)}
VOCAB = 50280  # the state-spaces models' vocabulary (gpt-neox-20b), as in tools/bench.ts
N = 12  # tokens of the benchmark prompt


def bench_prompt_ids(p: int, vocab: int) -> list[int]:
    """The same LCG as promptIds() in tools/bench.ts."""
    s = 1234 + p * 7919
    out = []
    for _ in range(N):
        s = (s * 1103515245 + 12345) % 2**32
        out.append(s % vocab)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="1.3b", choices=sorted(SHAPES))
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=1)
    # 50288 = the published mamba2 checkpoints' padded embedding (needed to load the gpt-neox-20b tokenizer.json,
    # whose added tokens reach id 50280); the default keeps the benchmark's reference figures
    ap.add_argument("--vocab", type=int, default=VOCAB)
    a = ap.parse_args()
    d_model, n_layer = SHAPES[a.shape]
    torch.manual_seed(a.seed)
    cfg = Mamba2Config(
        vocab_size=a.vocab, hidden_size=d_model, num_hidden_layers=n_layer, state_size=128, head_dim=64,
        num_heads=2 * d_model // 64, n_groups=1, expand=2, conv_kernel=4, tie_word_embeddings=False,
        use_bias=False, use_conv_bias=True, rms_norm=True, norm_before_gate=False, layer_norm_epsilon=1e-5,
    )
    t0 = time.time()
    with torch.device(a.device):
        model = Mamba2ForCausalLM(cfg)
    model = model.half().float().eval()  # the saved weights are float16: the reference uses the rounded values
    t1 = time.time()
    ids = torch.tensor([bench_prompt_ids(0, VOCAB)], device=a.device)
    with torch.no_grad():
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        logits = model(ids).logits[0, -1, :VOCAB].double()
    probs = torch.softmax(logits, -1)
    top = torch.topk(probs, 5)
    os.makedirs(a.out, exist_ok=True)
    model.half().save_pretrained(a.out, safe_serialization=True)
    ref = {
        "shape": a.shape, "ids": ids[0].tolist(),
        "top": [{"id": int(i), "prob": float(p)} for p, i in zip(top.values.tolist(), top.indices.tolist())],
        "framework": f"torch {torch.__version__}, transformers {__import__('transformers').__version__}, {a.device}, float32",
    }
    with open(os.path.join(a.out, "reference.json"), "w") as f:
        json.dump(ref, f)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{a.shape}: {n_params / 1e6:.0f}M parameters, init {t1 - t0:.1f} s, saved in {time.time() - t1:.1f} s to {a.out}")
    print(json.dumps(ref))


if __name__ == "__main__":
    main()
