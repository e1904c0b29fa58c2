#!/usr/bin/env python3
"""Writes the engine parity fixtures (test/fixtures/parity/<name>/), run on the device machine.

Each fixture is a tiny random-weight Mamba-2 checkpoint in one of the two formats the engine reads
(HF transformers: config.json + model.safetensors or shards + index; state-spaces: config.json +
pytorch_model.bin written by torch.save), a tiny byte-level tokenizer.json, and expected.json with:

* prompts (token ids) of lengths 1, 2, 5, 17, 64 and their last-position logits;
* attention matrices M_h (SPEC section 1.7) of chosen layers for chosen prompts;
* knockout cases: last-position logits with edges (row <- column) of chosen layers blocked (SPEC 3).

Expected values come from a float64 implementation of SPEC section 1 (tools/mamba2_spec.py, grouped
gated RMSNorm = mamba_ssm semantics) applied to the weights exactly as stored (after rounding to the
stored dtype). Where transformers' Mamba2ForCausalLM has the same semantics (ngroups 1), its float32
logits are compared with the reference and the max difference is recorded (and asserted small).
For ngroups > 1 the installed MambaRMSNormGated is inspected and compared against both norm
variants; what was found is recorded in expected.json ('hf' block) and in summary.json.

Usage: python3 make_parity_fixtures.py --out DIR
"""
import argparse
import collections
import inspect
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mamba2_spec as ms  # noqa: E402
import make_demo_facts  # noqa: E402

PROMPT_LENGTHS = [1, 2, 5, 17, 64]
TOKENIZER_SAMPLE_TEXT = "The Eiffel Tower is located in the city of Paris. Beats Music is owned by"

FIXTURES = [
    # name, format, dtype, ngroups, n_layer, tied, sharded, extra
    dict(name="hf-g1-f32", fmt="hf", dtype="float32", ngroups=1, n_layer=3, tied=True, sharded=False),
    dict(name="hf-g2-f16", fmt="hf", dtype="float16", ngroups=2, n_layer=3, tied=True, sharded=False),
    dict(name="hf-g1-bf16-sharded-untied", fmt="hf", dtype="bfloat16", ngroups=1, n_layer=4, tied=False, sharded=True),
    dict(name="ss-g1-f32", fmt="state-spaces", dtype="float32", ngroups=1, n_layer=3, tied=True, sharded=False),
    dict(name="ss-g2-f16", fmt="state-spaces", dtype="float16", ngroups=2, n_layer=3, tied=True, sharded=False),
    dict(name="ss-g1-bf16-defaults", fmt="state-spaces", dtype="bfloat16", ngroups=1, n_layer=4, tied=True,
         sharded=False, omit_defaults=True),
]

TORCH_DTYPE = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def log(*a):
    print("[parity]", *a, flush=True)


def make_cfg(spec, vocab_size):
    pad = 16
    return {
        "d_model": 64, "n_layer": spec["n_layer"], "d_state": 16, "headdim": 16, "ngroups": spec["ngroups"],
        "expand": 2, "d_conv": 4, "eps": 1e-5, "vocab_size": vocab_size,
        "padded_vocab": ((vocab_size + pad - 1) // pad) * pad, "tied": spec["tied"],
    }


def random_params(cfg, gen):
    """Random, non-degenerate float32 weights with canonical names."""
    d, di, H, G, S = ms.dims(cfg)
    K = cfg["d_conv"]
    V = cfg["padded_vocab"]
    conv_dim = di + 2 * G * S

    def rn(*shape, std=1.0):
        return torch.randn(*shape, generator=gen) * std

    def ru(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(*shape, generator=gen)

    p = collections.OrderedDict()
    p["embedding.weight"] = rn(V, d, std=0.5)
    for i in range(cfg["n_layer"]):
        pre = f"layers.{i}."
        p[pre + "norm.weight"] = ru(0.5, 1.5, d)
        p[pre + "mixer.in_proj.weight"] = rn(2 * di + 2 * G * S + H, d, std=1.0 / math.sqrt(d))
        p[pre + "mixer.conv1d.weight"] = ru(-0.6, 0.6, conv_dim, 1, K)
        p[pre + "mixer.conv1d.bias"] = ru(-0.3, 0.3, conv_dim)
        dt = torch.exp(ru(math.log(0.05), math.log(0.8), H))
        p[pre + "mixer.dt_bias"] = dt + torch.log(-torch.expm1(-dt))  # inverse softplus
        p[pre + "mixer.A_log"] = torch.log(ru(0.3, 6.0, H))
        p[pre + "mixer.D"] = ru(0.3, 1.7, H)
        p[pre + "mixer.norm.weight"] = ru(0.5, 1.5, di)
        p[pre + "mixer.out_proj.weight"] = rn(d, di, std=0.7 / math.sqrt(di))
    p["norm_f.weight"] = ru(0.5, 1.5, d)
    if not cfg["tied"]:
        p["lm_head.weight"] = rn(V, d, std=0.5)
    return p


def hf_config(cfg, dtype_name):
    from transformers import Mamba2Config
    d, di, H, G, S = ms.dims(cfg)
    kw = dict(
        vocab_size=cfg["padded_vocab"], hidden_size=d, state_size=S, num_hidden_layers=cfg["n_layer"],
        layer_norm_epsilon=cfg["eps"], pad_token_id=0, bos_token_id=0, eos_token_id=0, expand=cfg["expand"],
        conv_kernel=cfg["d_conv"], n_groups=G, use_bias=False, use_conv_bias=True, hidden_act="silu",
        residual_in_fp32=True, time_step_limit=(0.0, float("inf")), rms_norm=True, chunk_size=256,
        tie_word_embeddings=cfg["tied"], num_heads=H, head_dim=cfg["headdim"],
    )
    c = Mamba2Config(**kw)
    for k, v in [("hidden_size", d), ("state_size", S), ("num_hidden_layers", cfg["n_layer"]), ("n_groups", G),
                 ("num_heads", H), ("head_dim", cfg["headdim"]), ("vocab_size", cfg["padded_vocab"]),
                 ("conv_kernel", cfg["d_conv"]), ("expand", cfg["expand"])]:
        assert getattr(c, k) == v, (k, getattr(c, k), v)
    try:
        c.tie_word_embeddings = cfg["tied"]
    except Exception:
        pass
    try:
        c.torch_dtype = TORCH_DTYPE[dtype_name]
    except Exception:
        pass
    return c


def hf_model_from_params(cfg, p64):
    """transformers Mamba2ForCausalLM in float32 holding the given weights."""
    from transformers import Mamba2ForCausalLM
    m = Mamba2ForCausalLM(hf_config(cfg, "float32")).float()
    sd = {ms.to_hf_name(k): v.float().cpu() for k, v in p64.items()}
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert not unexpected, unexpected
    assert all(k == "lm_head.weight" for k in missing), missing
    if cfg["tied"]:
        assert torch.equal(m.lm_head.weight.detach().cpu(), sd["backbone.embeddings.weight"]) or \
            m.lm_head.weight.data_ptr() == m.backbone.embeddings.weight.data_ptr()
    return m.eval()


def hf_last_logits(model, ids_list, device):
    out = []
    with torch.no_grad():
        for ids in ids_list:
            t = torch.tensor([ids], dtype=torch.long, device=device)
            try:
                o = model(input_ids=t, use_cache=False)
            except TypeError:
                o = model(input_ids=t)
            out.append(o.logits[0, -1].double().cpu())
    return out


def finite_json(v):
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, (list, tuple)):
        return all(finite_json(x) for x in v)
    if isinstance(v, dict):
        return all(finite_json(x) for x in v.values())
    return True


def save_hf(dirn, cfg, spec, p_stored):
    """HF layout: config.json via Mamba2Config.save_pretrained; weights via save_pretrained when not
    sharded, else two safetensors shards + model.safetensors.index.json written here."""
    from safetensors.torch import save_file
    try:
        hcfg = hf_config(cfg, spec["dtype"])
        hcfg.save_pretrained(dirn)
        cj = json.load(open(os.path.join(dirn, "config.json")))
    except Exception as e:
        log(f"Mamba2Config path failed ({e!r}); writing config.json by hand")
        cj = {"architectures": ["Mamba2ForCausalLM"], "chunk_size": 256, "use_bias": False, "use_conv_bias": True,
              "hidden_act": "silu", "rms_norm": True, "residual_in_fp32": True}
    d, di, H, G, S = ms.dims(cfg)
    # make sure every key the engine reads is present with the right value
    want = dict(hidden_size=d, num_hidden_layers=cfg["n_layer"], state_size=S, head_dim=cfg["headdim"], num_heads=H,
                n_groups=G, expand=cfg["expand"], conv_kernel=cfg["d_conv"], vocab_size=cfg["padded_vocab"],
                layer_norm_epsilon=cfg["eps"], tie_word_embeddings=cfg["tied"], model_type="mamba2")
    patched = []
    for k, v in want.items():
        if cj.get(k) != v:
            patched.append((k, cj.get(k), v))
            cj[k] = v
    if "architectures" not in cj:
        cj["architectures"] = ["Mamba2ForCausalLM"]
    cj["torch_dtype"] = spec["dtype"]
    # JSON has no Infinity/NaN (JSON.parse rejects them): drop such keys (e.g. time_step_limit [0, inf],
    # which is the default anyway)
    for k in [k for k, v in cj.items() if not finite_json(v)]:
        patched.append((k, "dropped (non-finite)", None))
        del cj[k]
    ms.dump_json(cj, os.path.join(dirn, "config.json"), indent=2)
    tensors = collections.OrderedDict((ms.to_hf_name(k), v.contiguous().clone()) for k, v in p_stored.items())
    if not spec["sharded"]:
        try:
            from transformers import Mamba2ForCausalLM
            m = Mamba2ForCausalLM(hf_config(cfg, spec["dtype"]))
            m.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
            m = m.to(TORCH_DTYPE[spec["dtype"]])
            m.save_pretrained(dirn, safe_serialization=True)
            ms.dump_json(cj, os.path.join(dirn, "config.json"), indent=2)  # keep our verified config
            for f in os.listdir(dirn):
                if f.endswith(".safetensors") and f != "model.safetensors":
                    raise RuntimeError(f"save_pretrained wrote {f}")
            from safetensors import safe_open
            with safe_open(os.path.join(dirn, "model.safetensors"), "pt") as sf:
                keys = set(sf.keys())
                for k, v in tensors.items():
                    if k == "lm_head.weight" and cfg["tied"]:
                        continue
                    assert k in keys, f"save_pretrained lost {k}"
                    assert torch.equal(sf.get_tensor(k), v), f"save_pretrained changed {k}"
            how = "save_pretrained"
        except Exception as e:  # fall back to a direct safetensors write
            log(f"save_pretrained path failed ({e!r}); writing model.safetensors directly")
            for f in os.listdir(dirn):
                if f.endswith(".safetensors") or f.endswith(".index.json"):
                    os.remove(os.path.join(dirn, f))
            save_file(dict(tensors), os.path.join(dirn, "model.safetensors"), metadata={"format": "pt"})
            how = "safetensors.save_file"
    else:
        keys = list(tensors.keys())
        half = len(keys) // 2
        shards = [keys[:half], keys[half:]]
        weight_map = {}
        total = 0
        for si, ks in enumerate(shards):
            fn = f"model-{si + 1:05d}-of-{len(shards):05d}.safetensors"
            save_file({k: tensors[k] for k in ks}, os.path.join(dirn, fn), metadata={"format": "pt"})
            for k in ks:
                weight_map[k] = fn
                total += tensors[k].numel() * tensors[k].element_size()
        ms.dump_json({"metadata": {"total_size": total}, "weight_map": weight_map},
                     os.path.join(dirn, "model.safetensors.index.json"), indent=2)
        how = "2 safetensors shards + index"
    return how, patched


def save_ss(dirn, cfg, spec, p_stored):
    ssm_cfg = {"layer": "Mamba2", "d_state": cfg["d_state"], "headdim": cfg["headdim"], "ngroups": cfg["ngroups"]}
    if not spec.get("omit_defaults"):
        ssm_cfg.update({"expand": cfg["expand"], "d_conv": cfg["d_conv"]})
    cj = {"d_model": cfg["d_model"], "d_intermediate": 0, "n_layer": cfg["n_layer"], "vocab_size": cfg["vocab_size"],
          "ssm_cfg": ssm_cfg, "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": True, "residual_in_fp32": True,
          "fused_add_norm": True, "pad_vocab_size_multiple": 16, "tie_embeddings": cfg["tied"]}
    ms.dump_json(cj, os.path.join(dirn, "config.json"), indent=2)
    sd = collections.OrderedDict()
    for k, v in p_stored.items():
        sd[ms.to_ss_name(k)] = v.contiguous()
    if cfg["tied"]:
        sd["lm_head.weight"] = sd["backbone.embedding.weight"]  # shared storage, as mamba_ssm's tie_weights does
    torch.save(sd, os.path.join(dirn, "pytorch_model.bin"))
    back = torch.load(os.path.join(dirn, "pytorch_model.bin"), weights_only=True)
    assert list(back.keys()) == list(sd.keys())
    for k in sd:
        assert torch.equal(back[k], sd[k]), k
    return "torch.save (zip) of an OrderedDict", []


def fx(t):
    return ms.r9(t.double().cpu().reshape(-1).tolist())


def build_fixture(spec, out_root, tok_json, vocab_size, hf_norm_info, device, seed):
    name = spec["name"]
    dirn = os.path.join(out_root, name)
    os.makedirs(dirn, exist_ok=True)
    cfg = make_cfg(spec, vocab_size)
    gen = torch.Generator().manual_seed(seed)
    p32 = random_params(cfg, gen)
    st = TORCH_DTYPE[spec["dtype"]]
    p_stored = collections.OrderedDict((k, v.to(st)) for k, v in p32.items())
    p64 = {k: v.double().to(device) for k, v in p_stored.items()}
    d, di, H, G, S = ms.dims(cfg)
    # prompts
    prompts = [torch.randint(0, vocab_size, (n,), generator=gen).tolist() for n in PROMPT_LENGTHS]
    # files
    if spec["fmt"] == "hf":
        how, patched = save_hf(dirn, cfg, spec, p_stored)
    else:
        how, patched = save_ss(dirn, cfg, spec, p_stored)
    ms.dump_json(tok_json, os.path.join(dirn, "tokenizer.json"))
    # reference (b)
    ref_logits = []
    attn_out = []
    attn_plan = {3: [0, cfg["n_layer"] - 1], 2: [1]}
    for pi, ids in enumerate(prompts):
        t = torch.tensor([ids], device=device)
        layers = attn_plan.get(pi, [])
        lg, attn = ms.spec_last_logits(p64, cfg, t, attn_layers=layers, group_norm=True)
        ref_logits.append(lg[0].cpu())
        for l in layers:
            M = attn[l][0]  # [H, N, N]
            attn_out.append({"prompt": pi, "layer": l, "shape": list(M.shape),
                             "M": [[ms.r9(row) for row in M[h].cpu().tolist()] for h in range(M.shape[0])]})
    # knockouts on prompt 3 (length 17)
    N = len(prompts[3])
    knock = []
    for layers, edges in [([0, 1], [(N - 1, c) for c in (2, 3, 4, 5)]),
                          ([cfg["n_layer"] - 1], [(N - 1, c) for c in range(N)])]:
        mask = torch.ones(1, N, N, dtype=torch.float64, device=device)
        for r, c in edges:
            mask[0, r, c] = 0.0
        lg, _ = ms.spec_last_logits(p64, cfg, torch.tensor([prompts[3]], device=device),
                                    masks={l: mask for l in layers})
        knock.append({"prompt": 3, "layers": layers, "edges": [list(e) for e in edges], "lastLogits": fx(lg[0])})
    # whole-width-norm variant (transformers semantics) for the record
    alt = [ms.spec_last_logits(p64, cfg, torch.tensor([ids], device=device), group_norm=False)[0][0].cpu()
           for ids in prompts]
    grouped_vs_whole = max(float((a - b).abs().max()) for a, b in zip(ref_logits, alt))
    # (a) transformers
    hf = {"used": False}
    try:
        if spec["fmt"] == "hf":
            from transformers import Mamba2ForCausalLM
            try:
                model = Mamba2ForCausalLM.from_pretrained(dirn, dtype=torch.float32)
            except TypeError:
                model = Mamba2ForCausalLM.from_pretrained(dirn, torch_dtype=torch.float32)
            model = model.float().to(device).eval()
            loaded_from = "from_pretrained(fixture dir)"
        else:
            model = hf_model_from_params(cfg, p64).to(device)
            loaded_from = "state dict converted in memory"
        hl = hf_last_logits(model, prompts, device)
        diff_ref = max(float((a - b).abs().max()) for a, b in zip(hl, ref_logits))
        diff_whole = max(float((a - b).abs().max()) for a, b in zip(hl, alt))
        scale = max(float(a.abs().max()) for a in ref_logits)
        hf = {"used": True, "loadedFrom": loaded_from, "maxAbsDiffVsReference": diff_ref,
              "maxAbsDiffVsWholeWidthNorm": diff_whole, "maxAbsLogit": scale,
              "semanticsMatch": diff_ref <= 1e-3 * max(1.0, scale) if G == 1 else None,
              "hfGatedNorm": ("whole-width" if diff_whole <= 1e-3 * max(1.0, scale) else
                              "grouped" if diff_ref <= 1e-3 * max(1.0, scale) else "neither")}
        if G == 1:
            assert diff_ref <= 2e-3 * max(1.0, scale), f"{name}: transformers and the SPEC reference differ by {diff_ref}"
        else:
            hf["note"] = ("ngroups > 1: expected values follow mamba_ssm (per-group gated RMSNorm); "
                          f"transformers agrees with the {'whole-width' if diff_whole < diff_ref else 'grouped'} variant")
        log(f"{name}: HF vs ref {diff_ref:.3g}, HF vs whole-width-norm {diff_whole:.3g}, grouped-vs-whole {grouped_vs_whole:.3g}, max|logit| {scale:.3g}")
    except AssertionError:
        raise
    except Exception as e:
        hf = {"used": False, "error": repr(e)}
        log(f"{name}: transformers comparison failed: {e!r}")
    # tokenizer sample
    tok_sample = None
    try:
        from tokenizers import Tokenizer
        tk = Tokenizer.from_file(os.path.join(dirn, "tokenizer.json"))
        enc = tk.encode(TOKENIZER_SAMPLE_TEXT)
        tok_sample = {"text": TOKENIZER_SAMPLE_TEXT, "ids": enc.ids, "tokens": enc.tokens,
                      "offsets": [list(o) for o in enc.offsets]}
    except Exception as e:
        log(f"{name}: tokenizer sample failed: {e!r}")
    files = sorted(os.listdir(dirn))
    expected = {
        "name": name,
        "format": spec["fmt"],
        "storedDType": spec["dtype"],
        "sharded": spec["sharded"],
        "weightsWrittenWith": how,
        "configPatched": patched,
        "files": files,
        "config": {"dModel": d, "nLayer": cfg["n_layer"], "vocabSize": cfg["padded_vocab"] if spec["fmt"] == "hf" else vocab_size,
                   "paddedVocabSize": cfg["padded_vocab"], "dState": S, "headdim": cfg["headdim"], "nGroups": G,
                   "expand": cfg["expand"], "dConv": cfg["d_conv"], "dInner": di, "nHeads": H, "eps": cfg["eps"],
                   "tieEmbeddings": cfg["tied"]},
        "reference": "float64 SPEC section 1 implementation (tools/mamba2_spec.py) on the stored weights; grouped gated RMSNorm (mamba_ssm)",
        "groupedVsWholeWidthNormMaxAbsDiff": grouped_vs_whole,
        "hf": hf,
        "tolerance": {"logitsAbs": 1e-4, "attentionRelToMaxAbs": 1e-5},
        "prompts": [{"ids": ids, "lastLogits": fx(lg)} for ids, lg in zip(prompts, ref_logits)],
        "attention": attn_out,
        "knockout": knock,
    }
    if tok_sample:
        expected["tokenizerSample"] = tok_sample
    ms.dump_json(expected, os.path.join(dirn, "expected.json"))
    size = sum(os.path.getsize(os.path.join(dirn, f)) for f in os.listdir(dirn))
    log(f"{name}: wrote {len(os.listdir(dirn))} files, {size / 1024:.0f} KiB ({how})")
    return {"name": name, "bytes": size, "hf": hf, "groupedVsWholeWidthNormMaxAbsDiff": grouped_vs_whole}


def inspect_hf_norm(device):
    info = {"kind": "unknown"}
    try:
        import transformers
        from transformers.models.mamba2 import modeling_mamba2 as mm
        info["transformers"] = transformers.__version__
        src = inspect.getsource(mm.MambaRMSNormGated)
        info["source"] = src
        sig = str(inspect.signature(mm.MambaRMSNormGated.__init__))
        info["signature"] = sig
        # empirical: 2 groups of 4 channels with very different scales
        n = mm.MambaRMSNormGated(8, eps=1e-5)
        x = torch.tensor([[1.0, 2.0, 3.0, 4.0, 100.0, 200.0, 300.0, 400.0]])
        try:
            y = n(x, None)
        except TypeError:
            y = n(x)
        whole = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5)
        info["kind"] = "whole-width" if torch.allclose(y, whole, rtol=1e-4) else "grouped-or-other"
        info["note"] = "probe built with default group settings (the mixer passes none)"
    except Exception as e:
        info["error"] = repr(e)
    return info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    t0 = time.time()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    import transformers
    log(f"torch {torch.__version__}, transformers {transformers.__version__}, device {device}")
    try:
        from transformers import Mamba2Config
        log("Mamba2Config signature:", str(inspect.signature(Mamba2Config.__init__))[:1500])
    except Exception as e:
        log("Mamba2Config inspect failed", repr(e))
    norm_info = inspect_hf_norm(device)
    log("MambaRMSNormGated:", norm_info.get("signature"), "->", norm_info["kind"])
    log(norm_info.get("source", "")[:1500])
    os.makedirs(args.out, exist_ok=True)
    text = "\n".join(p for _, _, _, p, _ in make_demo_facts.all_combinations()[::7])
    tok = ms.byte_level_tokenizer_json(text, 40)
    vocab_size = len(tok["model"]["vocab"])
    log(f"tokenizer: {vocab_size} tokens")
    summary = {"torch": torch.__version__, "transformers": transformers.__version__, "device": device,
               "hfMambaRMSNormGated": {k: v for k, v in norm_info.items() if k != "source"},
               "hfMambaRMSNormGatedSource": norm_info.get("source"), "fixtures": []}
    failed = []
    for i, spec in enumerate(FIXTURES):
        try:
            summary["fixtures"].append(build_fixture(spec, args.out, tok, vocab_size, norm_info, device, args.seed + 17 * i))
        except Exception as e:
            import traceback
            traceback.print_exc()
            failed.append(spec["name"])
            summary["fixtures"].append({"name": spec["name"], "error": repr(e)})
    summary["failed"] = failed
    summary["seconds"] = time.time() - t0
    ms.dump_json(summary, os.path.join(args.out, "summary.json"), indent=1)
    total = sum(f.get("bytes", 0) for f in summary["fixtures"])
    if failed:
        log(f"FAILED fixtures: {failed}")
    log(f"done in {summary['seconds']:.1f}s, {total / 1024:.0f} KiB in total")


if __name__ == "__main__":
    main()
