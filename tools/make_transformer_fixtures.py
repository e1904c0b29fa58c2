#!/usr/bin/env python3
"""Writes the GPT-2 / GPT-NeoX engine parity fixtures (test/fixtures/parity-transformer/<name>/).

Each fixture is a tiny random-weight checkpoint in a layout the engine reads (config.json + model.safetensors,
2 safetensors shards + index, or a torch.save pytorch_model.bin with the old buffers such as attn.bias), the
297-token byte-level tokenizer.json of test/fixtures/parity/ and expected.json (schema in
test/fixtures/parity-transformer/README.md).

Expected values come from tools/transformer_spec.py (SPEC section 7, float64) on the weights exactly as stored
(rounded to the stored dtype). transformers' GPT2LMHeadModel / GPTNeoXForCausalLM, loaded from the fixture folder
with from_pretrained (eager attention, float64, CPU), is compared with the reference on every fixture: last-position
logits and the attention probabilities of every layer (hf.maxAbsLogitDiff, hf.maxAbsAttentionDiff).

Usage: python3 make_transformer_fixtures.py --out DIR
"""
import argparse
import collections
import json
import math
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transformer_spec as ts  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPT_LENGTHS = [1, 2, 5, 17, 64]
V_ROWS = 304  # the tokenizer has 297 tokens; HF configs have vocab_size = embedding rows
HEAD_SCALES = [1.0, 0.7, 0.5, 0.35, 0.25, 0.18, 0.12, 0.08, 0.05]

FIXTURES = [
    dict(name="gpt2-f32", arch="gpt2", dtype="float32", d_model=32, n_layer=3, n_head=4, layout="safetensors",
         config="hf-save", prefix=True, tied=True),
    dict(name="gpt2-f16-bin", arch="gpt2", dtype="float16", d_model=48, n_layer=2, n_head=3, layout="bin",
         config="hub", prefix=False, tied=True, buffers=True),
    dict(name="neox-f32-parallel", arch="gptneox", dtype="float32", d_model=32, n_layer=3, n_head=2,
         layout="safetensors", config="hf-save", rotary_pct=0.25, parallel=True, tied=False),
    dict(name="neox-bf16-sharded-sequential", arch="gptneox", dtype="bfloat16", d_model=32, n_layer=4, n_head=4,
         layout="sharded", config="hub", rotary_pct=0.5, parallel=False, tied=False),
    dict(name="neox-f16-bin-tied", arch="gptneox", dtype="float16", d_model=48, n_layer=2, n_head=4, layout="bin",
         config="hub", rotary_pct=1.0, parallel=True, tied=True, buffers=True),
]
TORCH_DTYPE = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def log(*a):
    print("[parity-tf]", *a, flush=True)


def r7(x):
    if isinstance(x, (list, tuple)):
        return [r7(v) for v in x]
    x = float(x)
    if x == 0.0 or not math.isfinite(x):
        return x
    return float(f"{x:.7g}")


def fx(t):
    return r7(t.double().cpu().reshape(-1).tolist())


def dump(obj, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False, allow_nan=False)
        f.write("\n")


def make_cfg(spec):
    d = spec["d_model"]
    return dict(arch=spec["arch"], d_model=d, n_layer=spec["n_layer"], n_head=spec["n_head"], d_ff=4 * d,
                vocab_size=V_ROWS, padded_vocab=V_ROWS, n_positions=80, eps=1e-5, tied=spec["tied"],
                act="gelu_new" if spec["arch"] == "gpt2" else "gelu", rotary_pct=spec.get("rotary_pct", 0.0),
                rotary_base=10000.0, parallel=spec.get("parallel", True))


def random_params(cfg, gen):
    p = collections.OrderedDict()
    for k, shape in ts.shapes(cfg).items():
        if k.endswith("norm.weight") or k.endswith("ln_1.weight") or k.endswith("ln_2.weight") or k.endswith("layernorm.weight") or k == "norm_f.weight":
            p[k] = 1.0 + 0.2 * torch.randn(*shape, generator=gen)
        elif k.endswith(".bias"):
            p[k] = 0.05 * torch.randn(*shape, generator=gen)
        elif k in ("embedding.weight", "lm_head.weight", "position.weight"):
            p[k] = 0.3 * torch.randn(*shape, generator=gen)
        else:
            fan_in = shape[0] if cfg["arch"] == "gpt2" else shape[-1]
            p[k] = torch.randn(*shape, generator=gen) * (1.2 / math.sqrt(fan_in))
    return p


def hub_config(cfg, spec):
    if cfg["arch"] == "gpt2":
        return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": cfg["padded_vocab"],
                "n_positions": cfg["n_positions"], "n_ctx": cfg["n_positions"], "n_embd": cfg["d_model"],
                "n_layer": cfg["n_layer"], "n_head": cfg["n_head"], "n_inner": None,
                "activation_function": "gelu_new", "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1,
                "layer_norm_epsilon": cfg["eps"], "initializer_range": 0.02, "scale_attn_weights": True,
                "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False, "use_cache": True,
                "bos_token_id": 0, "eos_token_id": 0, "torch_dtype": spec["dtype"]}
    return {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "vocab_size": cfg["padded_vocab"],
            "hidden_size": cfg["d_model"], "num_hidden_layers": cfg["n_layer"], "num_attention_heads": cfg["n_head"],
            "intermediate_size": cfg["d_ff"], "hidden_act": "gelu", "rotary_pct": cfg["rotary_pct"],
            "rotary_emb_base": int(cfg["rotary_base"]), "max_position_embeddings": 2048, "initializer_range": 0.02,
            "layer_norm_eps": cfg["eps"], "use_cache": True, "use_parallel_residual": cfg["parallel"],
            "tie_word_embeddings": cfg["tied"], "attention_bias": True, "bos_token_id": 0, "eos_token_id": 0,
            "torch_dtype": spec["dtype"]}


def hf_config_object(cfg):
    from transformers import GPT2Config, GPTNeoXConfig
    if cfg["arch"] == "gpt2":
        return GPT2Config(vocab_size=cfg["padded_vocab"], n_positions=cfg["n_positions"], n_embd=cfg["d_model"],
                          n_layer=cfg["n_layer"], n_head=cfg["n_head"], activation_function="gelu_new",
                          layer_norm_epsilon=cfg["eps"], resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                          tie_word_embeddings=True)
    return GPTNeoXConfig(vocab_size=cfg["padded_vocab"], hidden_size=cfg["d_model"], num_hidden_layers=cfg["n_layer"],
                         num_attention_heads=cfg["n_head"], intermediate_size=cfg["d_ff"], hidden_act="gelu",
                         rotary_pct=cfg["rotary_pct"], rotary_emb_base=int(cfg["rotary_base"]),
                         max_position_embeddings=2048, layer_norm_eps=cfg["eps"],
                         use_parallel_residual=cfg["parallel"], tie_word_embeddings=cfg["tied"],
                         attention_dropout=0.0, hidden_dropout=0.0)


def save(dirn, cfg, spec, p_stored):
    from safetensors.torch import save_file
    files = []
    if spec["config"] == "hf-save":
        c = hf_config_object(cfg)
        c.save_pretrained(dirn)
        cj = json.load(open(os.path.join(dirn, "config.json")))
        cj["architectures"] = ["GPT2LMHeadModel" if cfg["arch"] == "gpt2" else "GPTNeoXForCausalLM"]
        cj["torch_dtype"] = spec["dtype"]
        cj["dtype"] = spec["dtype"]
        for k in [k for k, v in cj.items() if isinstance(v, float) and not math.isfinite(v)]:
            del cj[k]
    else:
        cj = hub_config(cfg, spec)
    dump(cj, os.path.join(dirn, "config.json"))
    gc = os.path.join(dirn, "generation_config.json")
    if os.path.exists(gc):
        os.remove(gc)
    tensors = collections.OrderedDict((ts.to_hf_name(k, cfg, spec.get("prefix", True)), v.contiguous().clone()) for k, v in p_stored.items())
    if spec.get("buffers"):
        n = cfg["n_positions"] if cfg["arch"] == "gpt2" else 64
        for i in range(cfg["n_layer"]):
            if cfg["arch"] == "gpt2":
                tensors[f"h.{i}.attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n).to(TORCH_DTYPE[spec["dtype"]])
                tensors[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4).to(TORCH_DTYPE[spec["dtype"]])
            else:
                hd = cfg["d_model"] // cfg["n_head"]
                rd = int(hd * cfg["rotary_pct"])
                tensors[f"gpt_neox.layers.{i}.attention.bias"] = torch.tril(torch.ones(n, n, dtype=torch.bool)).view(1, 1, n, n)
                tensors[f"gpt_neox.layers.{i}.attention.masked_bias"] = torch.tensor(-1e9)
                tensors[f"gpt_neox.layers.{i}.attention.rotary_emb.inv_freq"] = 1.0 / (10000 ** (torch.arange(0, rd, 2).float() / rd))
    if spec["layout"] == "safetensors":
        save_file(dict(tensors), os.path.join(dirn, "model.safetensors"), metadata={"format": "pt"})
        files.append("model.safetensors")
    elif spec["layout"] == "sharded":
        keys = list(tensors)
        half = len(keys) // 2
        wm = {}
        total = 0
        for si, ks in enumerate([keys[:half], keys[half:]]):
            fn = f"model-{si + 1:05d}-of-00002.safetensors"
            save_file({k: tensors[k] for k in ks}, os.path.join(dirn, fn), metadata={"format": "pt"})
            files.append(fn)
            for k in ks:
                wm[k] = fn
                total += tensors[k].numel() * tensors[k].element_size()
        dump({"metadata": {"total_size": total}, "weight_map": wm}, os.path.join(dirn, "model.safetensors.index.json"))
        files.append("model.safetensors.index.json")
    else:
        torch.save(dict(tensors), os.path.join(dirn, "pytorch_model.bin"))
        files.append("pytorch_model.bin")
    return files, sorted(k for k in tensors if k not in {ts.to_hf_name(c, cfg, spec.get("prefix", True)) for c in p_stored})


def calibrate_head(p64, cfg, prompts):
    """Random tied heads can make one token dominate; scale norm_f (weight and bias: a softmax temperature) by the
    largest factor for which the clean top-1 probability of prompts 3 and 4 is at most 0.6."""
    base_w, base_b = p64["norm_f.weight"].clone(), p64["norm_f.bias"].clone()
    for s in HEAD_SCALES:
        p64["norm_f.weight"], p64["norm_f.bias"] = base_w * s, base_b * s
        tops = [float(ts.real_probs(ts.spec_last_logits(p64, cfg, torch.tensor([prompts[i]]))[0][0], cfg["vocab_size"]).max()) for i in (3, 4)]
        if max(tops) <= 0.6:
            break
    return s


def hf_check(dirn, cfg, p64, prompts):
    from transformers import AutoModelForCausalLM
    try:
        m = AutoModelForCausalLM.from_pretrained(dirn, attn_implementation="eager", dtype=torch.float64)
    except TypeError:
        m = AutoModelForCausalLM.from_pretrained(dirn, attn_implementation="eager", torch_dtype=torch.float64)
    m = m.double().eval()
    dl = da = 0.0
    with torch.no_grad():
        for ids in prompts:
            t = torch.tensor([ids])
            out = m(input_ids=t, output_attentions=True, use_cache=False)
            ref, att = ts.spec_last_logits(p64, cfg, t, attn_layers=range(cfg["n_layer"]))
            dl = max(dl, float((out.logits[0, -1] - ref[0]).abs().max()))
            for i in range(cfg["n_layer"]):
                da = max(da, float((out.attentions[i] - att[i]).abs().max()))
    return {"class": type(m).__name__, "loadedFrom": "from_pretrained(fixture folder), eager attention, float64, CPU",
            "maxAbsLogitDiff": dl, "maxAbsAttentionDiff": da}


def knockouts(cfg, prompts):
    """(prompt, layers, blocked columns of the last row, heads or None): every edge is (last <- c)."""
    L, H = cfg["n_layer"], cfg["n_head"]
    mid = L // 2
    out = []
    for pi in (2, 3, 4):
        n = len(prompts[pi])
        last = n - 1
        span = list(range(1, min(4, last))) or [0]
        out.append(dict(prompt=pi, layers=list(range(0, min(2, L))), cols=span, heads=None, kind="window"))
        out.append(dict(prompt=pi, layers=list(range(L)), cols=[0], heads=None, kind="first"))
        out.append(dict(prompt=pi, layers=[mid], cols=[last], heads=None, kind="last"))
        out.append(dict(prompt=pi, layers=[0], cols=list(range(n)), heads=None, kind="every-source"))
        out.append(dict(prompt=pi, layers=list(range(L)), cols=span, heads=[h for h in range(H) if h % 2 == 0], kind="heads-only"))
        out.append(dict(prompt=pi, layers=list(range(L)), cols=list(range(last)), heads=[h for h in range(H) if h != 1], kind="heads-except-1"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "test/fixtures/parity/hf-g1-f32/tokenizer.json"))
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers
    log(f"torch {torch.__version__}, transformers {transformers.__version__}")
    os.makedirs(args.out, exist_ok=True)
    gen = torch.Generator().manual_seed(args.seed)
    prompts = [[int(x) for x in torch.randint(3, 297, (n,), generator=gen)] for n in PROMPT_LENGTHS]
    summary = []
    for spec in FIXTURES:
        cfg = make_cfg(spec)
        dirn = os.path.join(args.out, spec["name"])
        if os.path.exists(dirn):
            shutil.rmtree(dirn)
        os.makedirs(dirn)
        shutil.copyfile(args.tokenizer, os.path.join(dirn, "tokenizer.json"))
        p = random_params(cfg, gen)
        p64 = {k: v.to(TORCH_DTYPE[spec["dtype"]]).double() for k, v in p.items()}
        scale = calibrate_head(p64, cfg, prompts)
        p_stored = collections.OrderedDict((k, p64[k].to(TORCH_DTYPE[spec["dtype"]])) for k in p)
        p64 = {k: v.double() for k, v in p_stored.items()}
        files, extra = save(dirn, cfg, spec, p_stored)
        hf = hf_check(dirn, cfg, p64, prompts)
        log(f"{spec['name']}: HF vs reference logits {hf['maxAbsLogitDiff']:.2e}, attention {hf['maxAbsAttentionDiff']:.2e}")
        # GPT-NeoX eager attention takes its softmax in float32 even in a float64 model: ~1e-7 there
        assert hf["maxAbsLogitDiff"] < 1e-5 and hf["maxAbsAttentionDiff"] < 1e-6, hf
        exp_prompts = []
        clean = []
        for ids in prompts:
            lg, _ = ts.spec_last_logits(p64, cfg, torch.tensor([ids]))
            exp_prompts.append({"ids": ids, "lastLogits": fx(lg[0])})
            clean.append(lg[0])
        attn = []
        for layer in sorted({0, cfg["n_layer"] - 1}):
            _, att = ts.spec_last_logits(p64, cfg, torch.tensor([prompts[2]]), attn_layers=[layer])
            attn.append({"prompt": 2, "layer": layer, "shape": list(att[layer].shape[1:]), "heads": [[r7(row) for row in h] for h in att[layer][0].tolist()]})
        ko = []
        for k in knockouts(cfg, prompts):
            ids = prompts[k["prompt"]]
            n = len(ids)
            keep = torch.ones(1, n, n, dtype=torch.float64)
            for c in k["cols"]:
                keep[0, n - 1, c] = 0.0
            units = None
            if k["heads"] is not None:
                u = torch.zeros(1, cfg["n_head"], dtype=torch.float64)
                u[0, k["heads"]] = 1.0
                units = {l: u for l in k["layers"]}
            lg, _ = ts.spec_last_logits(p64, cfg, torch.tensor([ids]), masks={l: keep for l in k["layers"]}, units=units)
            base = clean[k["prompt"]]
            tgt = int(base[:cfg["vocab_size"]].argmax())
            p0 = float(ts.real_probs(base, cfg["vocab_size"])[tgt])
            p1 = float(ts.real_probs(lg[0], cfg["vocab_size"])[tgt])
            ko.append({**k, "lastLogits": fx(lg[0]), "target": tgt, "cleanProb": r7(p0), "prob": r7(p1),
                       "diffPct": r7((p1 - p0) / p0 * 100), "targetStillTop1": int(lg[0][:cfg["vocab_size"]].argmax()) == tgt})
        diffs = sorted(abs(k["diffPct"]) for k in ko)
        exp = {
            "name": spec["name"], "arch": cfg["arch"], "storedDType": spec["dtype"], "layout": spec["layout"],
            "configFrom": spec["config"], "files": files, "ignoredStoredKeys": extra,
            "config": {"dModel": cfg["d_model"], "nLayer": cfg["n_layer"], "nHead": cfg["n_head"], "dFf": cfg["d_ff"],
                       "vocabSize": cfg["vocab_size"], "paddedVocabSize": cfg["padded_vocab"], "eps": cfg["eps"],
                       "tieEmbeddings": cfg["tied"], "activation": cfg["act"], "rotaryPct": cfg["rotary_pct"],
                       "rotaryBase": cfg["rotary_base"], "parallelResidual": cfg["parallel"]},
            "reference": "tools/transformer_spec.py (SPEC section 7), float64, on the stored weights",
            "hf": hf, "headScale": scale,
            "tolerance": {"logitsAbs": 1e-4, "attentionAbs": 1e-5, "diffPctAbs": 0.05},
            "prompts": exp_prompts, "attention": attn, "knockout": ko,
            "checks": {"absDiffPct": {"min": diffs[0], "median": diffs[len(diffs) // 2], "max": diffs[-1]}},
        }
        dump(exp, os.path.join(dirn, "expected.json"))
        summary.append({"name": spec["name"], **{k: hf[k] for k in ("maxAbsLogitDiff", "maxAbsAttentionDiff")}, "headScale": scale,
                        "absDiffPct": exp["checks"]["absDiffPct"], "bytes": sum(os.path.getsize(os.path.join(dirn, f)) for f in os.listdir(dirn))})
        log(f"{spec['name']}: |diff%| median {exp['checks']['absDiffPct']['median']:.2f}, files {files}, ignored {len(extra)} buffers")
    dump({"transformers": transformers.__version__, "torch": torch.__version__, "fixtures": summary}, os.path.join(args.out, "summary.json"))


if __name__ == "__main__":
    main()
