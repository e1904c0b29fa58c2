#!/usr/bin/env python3
"""Trains the embedded transformer demo model (models/demo-transformer/), run on the device machine.

The transformer twin of tools/train_demo.py and tools/train_demo_mamba1.py (same facts, templates, objective, seed
and tokenizer), in the GPT-NeoX / Pythia layout (transformers GPTNeoXForCausalLM: rotary on a quarter of each
head, parallel residual, exact GELU), tied embeddings to stay under 10 MB:

1. Tokenizer: a copy of models/demo/tokenizer.json, so a prompt has the same ids and positions in all three demos.
2. Training forward pass: tools/transformer_spec.py (SPEC section 7, float32), the loss the cross-entropy of the
   attribute tokens after the prompt; stops once every fact is recalled at top-1 with float16-rounded weights, plus
   a margin phase, or at the wall-clock cap.
3. Saves config.json + model.safetensors (float16) with transformers' save_pretrained and tokenizer.json; reloads
   them in float32 with GPTNeoXForCausalLM.from_pretrained (eager attention) and measures top-1 accuracy there;
   the knockout table with the float64 SPEC implementation; TRAINING.md, training.json and
   demo-transformer-expected.json (ids, target probability and top-5 of 30 facts, computed by transformers).

Usage: python3 train_demo_transformer.py --facts examples/demo-facts.json --out DIR
"""
import argparse
import collections
import json
import math
import os
import random
import shutil
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transformer_spec as ts  # noqa: E402
from train_demo import relation_templates, fact_prompt, combos, batches_by_length  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(*a):
    print("[demo-tf]", *a, flush=True)


def r9(x):
    return float(f"{float(x):.9g}")


def dump(obj, path, indent=1):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False, allow_nan=False)
        f.write("\n")


def init_params(cfg, gen):
    p = collections.OrderedDict()
    n_layer = cfg["n_layer"]
    for k, shape in ts.shapes(cfg).items():
        if k.endswith("layernorm.weight") or k == "norm_f.weight":
            p[k] = torch.ones(*shape)
        elif k.endswith(".bias"):
            p[k] = torch.zeros(*shape)
        elif k == "embedding.weight":
            p[k] = torch.randn(*shape, generator=gen) * 0.05
        else:
            std = 0.02 if not (k.endswith("dense.weight") or k.endswith("4h_to_h.weight")) else 0.02 / math.sqrt(2 * n_layer)
            p[k] = torch.randn(*shape, generator=gen) * std
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--facts", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "models/demo/tokenizer.json"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--d-model", type=int, default=192)
    ap.add_argument("--n-layer", type=int, default=8)
    ap.add_argument("--n-head", type=int, default=6)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--max-steps", type=int, default=6000)
    ap.add_argument("--margin-steps", type=int, default=400)
    ap.add_argument("--max-seconds", type=float, default=240.0)
    ap.add_argument("--n-expected", type=int, default=30)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--knockout-window", type=int, default=3)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.max_steps = 20
    t_start = time.time()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = "cuda" if torch.cuda.is_available() else "cpu"
    import transformers
    import tokenizers
    from tokenizers import Tokenizer
    log(f"torch {torch.__version__}, transformers {transformers.__version__}, {device}")
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    rows = json.load(open(args.facts, encoding="utf-8"))
    allc = combos(rows)
    for r in rows:
        assert fact_prompt(r.get("template") or r["relation"], r["subject"]) == r["prompt"], r
    shutil.copyfile(args.tokenizer, os.path.join(args.out, "tokenizer.json"))
    tok = Tokenizer.from_file(os.path.join(args.out, "tokenizer.json"))
    n_tok = tok.get_vocab_size()

    def enc(s):
        return tok.encode(s).ids

    items = []
    for ci, (ri, tpl, prompt, target) in enumerate(allc):
        pi = enc(prompt)
        fi = enc(prompt + target)
        assert fi[:len(pi)] == pi, (prompt, target)
        items.append((pi, fi[len(pi):], ri, ci))
    first_tok_true = {ri: enc(rows[ri]["prompt"] + rows[ri]["target_true"])[len(enc(rows[ri]["prompt"]))] for ri in range(len(rows))}
    maxlen = max(len(a) + len(b) for a, b, _, _ in items)

    V = ((n_tok + 7) // 8) * 8
    d = args.d_model
    cfg = dict(arch="gptneox", d_model=d, n_layer=args.n_layer, n_head=args.n_head, d_ff=4 * d, vocab_size=V,
               padded_vocab=V, n_positions=2048, eps=1e-5, tied=True, act="gelu", rotary_pct=0.25,
               rotary_base=10000.0, parallel=True)
    gen = torch.Generator().manual_seed(args.seed)
    params = {k: torch.nn.Parameter(v.to(device)) for k, v in init_params(cfg, gen).items()}
    n_params = sum(v.numel() for v in params.values())
    log(f"{len(rows)} facts, {len(items)} prompts, longest {maxlen} tokens; model d {d}, {cfg['n_layer']} layers, "
        f"{cfg['n_head']} heads, vocab {V}, {n_params / 1e6:.2f}M parameters")

    B_all = len(items)
    inp = torch.zeros(B_all, maxlen, dtype=torch.long)
    lab = torch.full((B_all, maxlen), -100, dtype=torch.long)
    for b, (pi, ti, _, _) in enumerate(items):
        seq = pi + ti
        inp[b, :len(seq)] = torch.tensor(seq)
        for j, t in enumerate(ti):
            lab[b, len(pi) - 1 + j] = t
    inp, lab = inp.to(device), lab.to(device)
    eval_sets = {}
    for name, sel in [("all", list(range(B_all))), ("file", [b for b, it in enumerate(items) if allc[it[3]][2] == rows[it[2]]["prompt"]])]:
        eval_sets[name] = batches_by_length([(items[b][0], items[b][1][0], b) for b in sel])

    def accuracy(p, which):
        ok = tot = 0
        with torch.no_grad():
            for n, group in eval_sets[which].items():
                ids = torch.tensor([g[0] for g in group], device=device)
                tgt = torch.tensor([g[1] for g in group], device=device)
                lg, _ = ts.spec_last_logits(p, cfg, ids)
                ok += int((lg.argmax(-1) == tgt).sum())
                tot += len(group)
        return ok / tot

    def rounded(p):
        return {k: v.detach().half().float() for k, v in p.items()}

    opt = torch.optim.AdamW(list(params.values()), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.0)
    warm = 100

    def lr_base(step):
        if step < warm:
            return args.lr * (step + 1) / warm
        return args.lr * max(0.05, 0.5 * (1 + math.cos(math.pi * min(1.0, step / args.max_steps))))

    step, done_at, history, last_loss = 0, None, [], float("nan")

    def lr_at(s):
        if done_at is not None:
            return lr_base(done_at) * max(0.0, 1.0 - (s - done_at) / max(1, args.margin_steps))
        return lr_base(s)

    rng = torch.Generator(device="cpu").manual_seed(args.seed + 1)
    stop_reason = "max steps"
    t_train = time.time()
    while step < args.max_steps:
        perm = torch.randperm(B_all, generator=rng)
        for s in range(0, B_all, args.batch):
            idx = perm[s:s + args.batch].to(device)
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            h, _ = ts.spec_hidden(params, cfg, inp[idx])
            lb = lab[idx]
            sel = lb != -100
            loss = F.cross_entropy(ts.spec_head(params, cfg, h[sel]), lb[sel], label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
            opt.step()
            step += 1
            last_loss = float(loss.detach())
            if step % 100 == 0 or (args.smoke and step == args.max_steps):
                pr = rounded(params)
                acc_all, acc_file = accuracy(pr, "all"), accuracy(pr, "file")
                el = time.time() - t_train
                history.append({"step": step, "loss": last_loss, "accAll": acc_all, "accFile": acc_file, "seconds": round(el, 1)})
                log(f"step {step} loss {last_loss:.4f} acc(all) {acc_all:.4f} acc(file) {acc_file:.4f} {el:.0f}s")
                if done_at is None and acc_file >= 1.0 and acc_all >= 0.995:
                    done_at = step
            if done_at is not None and step >= done_at + args.margin_steps:
                stop_reason = "recalled + margin"
                break
            if time.time() - t_train > args.max_seconds:
                stop_reason = "time cap"
                break
            if step >= args.max_steps:
                break
        if stop_reason != "max steps" or step >= args.max_steps:
            break
    train_seconds = time.time() - t_train
    log(f"stopped after {step} steps ({stop_reason}), {train_seconds:.0f}s")

    # ------------------------------------------------------------ save (float16, transformers format)
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM
    hcfg = GPTNeoXConfig(vocab_size=V, hidden_size=d, num_hidden_layers=cfg["n_layer"], num_attention_heads=cfg["n_head"],
                         intermediate_size=cfg["d_ff"], hidden_act="gelu", rotary_pct=cfg["rotary_pct"],
                         rotary_emb_base=10000, max_position_embeddings=2048, layer_norm_eps=cfg["eps"],
                         use_parallel_residual=True, tie_word_embeddings=True, bos_token_id=0, eos_token_id=0)
    model = GPTNeoXForCausalLM(hcfg)
    sd = {ts.to_hf_name(k, cfg): v.detach().float().cpu() for k, v in params.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all(k in ("embed_out.weight", "lm_head.weight") for k in missing), (missing, unexpected)
    model.half().save_pretrained(args.out)
    cpath = os.path.join(args.out, "config.json")
    cj = json.load(open(cpath))
    cj["architectures"] = ["GPTNeoXForCausalLM"]
    cj["torch_dtype"] = "float16"
    cj["dtype"] = "float16"
    for k in [k for k, v in cj.items() if isinstance(v, float) and not math.isfinite(v)]:
        del cj[k]
    dump(cj, cpath, indent=2)
    if os.path.exists(os.path.join(args.out, "generation_config.json")):
        os.remove(os.path.join(args.out, "generation_config.json"))
    weights = [f for f in os.listdir(args.out) if f.endswith(".safetensors")]
    assert weights == ["model.safetensors"], weights
    wbytes = os.path.getsize(os.path.join(args.out, "model.safetensors"))
    log(f"model.safetensors: {wbytes / 1e6:.2f} MB")

    # ------------------------------------------------------------ reload float16 -> float32 with transformers
    from safetensors.torch import load_file
    stored = load_file(os.path.join(args.out, "model.safetensors"))
    log("stored keys:", sorted(stored)[:6], "...", len(stored))
    inv = {ts.to_hf_name(k, cfg): k for k in ts.canonical_names(cfg)}
    p64 = {inv[k]: v.double().to(device) for k, v in stored.items() if k in inv}
    assert set(p64) == set(ts.canonical_names(cfg)), sorted(set(ts.canonical_names(cfg)) - set(p64))
    hf = GPTNeoXForCausalLM.from_pretrained(args.out, attn_implementation="eager", dtype=torch.float32).float().to(device).eval()

    def hf_last(ids_batch):
        with torch.no_grad():
            return hf(input_ids=torch.tensor(ids_batch, device=device), use_cache=False).logits[:, -1].float()

    def hf_accuracy(which):
        ok = tot = 0
        fails, maxdiff = [], 0.0
        for n, group in eval_sets[which].items():
            for s in range(0, len(group), 256):
                gg = group[s:s + 256]
                lg = hf_last([g[0] for g in gg])
                pred = lg.argmax(-1).cpu()
                tg = torch.tensor([g[1] for g in gg])
                ok += int((pred == tg).sum())
                tot += len(gg)
                fails += [gg[j][2] for j in torch.nonzero(pred != tg).flatten().tolist()]
                if which == "file":
                    ref, _ = ts.spec_last_logits(p64, cfg, torch.tensor([g[0] for g in gg], device=device))
                    maxdiff = max(maxdiff, float((ref - lg.double()).abs().max()))
        return ok / tot, fails, maxdiff

    acc_file, fails_file, diff_file = hf_accuracy("file")
    acc_all, fails_all, _ = hf_accuracy("all")
    log(f"RELOADED float16 -> float32 (transformers): top-1 on facts-file prompts {acc_file:.4f}, all prompts {acc_all:.4f}; "
        f"max |logit diff| vs SPEC float64 {diff_file:.3g}")
    fail_rows = sorted({items[b][2] for b in fails_file})

    # ------------------------------------------------------------ demo-transformer-expected.json
    n = len(rows)
    pick = sorted({round(i * (n - 1) / (args.n_expected - 1)) for i in range(args.n_expected)})
    for b in [i for i, r in enumerate(rows) if r["subject"] == "Beats Music"]:
        if b not in pick:
            pick[-1] = b
    exp_rows = []
    maxd_prob = 0.0
    for ri in sorted(set(pick)):
        r = rows[ri]
        ids = enc(r["prompt"])
        pr = torch.softmax(hf_last([ids])[0].double(), -1)
        ref, _ = ts.spec_last_logits(p64, cfg, torch.tensor([ids], device=device))
        maxd_prob = max(maxd_prob, float((torch.softmax(ref[0], -1) - pr).abs().max()))
        tid = first_tok_true[ri]
        top = torch.topk(pr, 5)
        exp_rows.append({"row": ri, "prompt": r["prompt"], "subject": r["subject"], "target_true": r["target_true"],
                         "ids": ids, "tokens": tok.encode(r["prompt"]).tokens, "targetId": tid,
                         "targetToken": tok.id_to_token(tid), "targetProb": r9(pr[tid]),
                         "top5": [[int(i), r9(v)] for v, i in zip(top.values, top.indices)],
                         "top1IsTarget": int(top.indices[0]) == tid})
    dump({"model": "models/demo-transformer",
          "computedWith": f"transformers {transformers.__version__} GPTNeoXForCausalLM (eager), float32, from the saved float16 weights",
          "softmaxOver": f"all {V} logits (vocab_size = padded vocab)", "tolerance": {"prob": 1e-4},
          "maxAbsProbDiffVsSpecFloat64": maxd_prob, "facts": exp_rows},
         os.path.join(args.out, "demo-transformer-expected.json"))

    # ------------------------------------------------------------ knockout table (SPEC sections 3 and 7)
    k = min(args.knockout_window, cfg["n_layer"])
    starts = list(range(cfg["n_layer"] - k + 1))
    sums = {s: [0.0] * len(starts) for s in ("subject", "relation", "last")}
    keep1 = {s: [0] * len(starts) for s in ("subject", "relation", "last")}
    all_layers = [0.0, 0]
    first = [0.0, 0]
    by_len = collections.defaultdict(list)
    for ri, r in enumerate(rows[:40] if args.smoke else rows):
        e = tok.encode(r["prompt"])
        subj = r["subject"].strip()
        a = r["prompt"].find(subj)
        b = a + len(subj)
        S_pos = [i for i, (x, y) in enumerate(e.offsets) if x < b and y > a and i < len(e.ids) - 1]
        by_len[len(e.ids)].append((e.ids, S_pos, first_tok_true[ri]))
    n_ko = 0
    with torch.no_grad():
        for N, group_all in by_len.items():
            for g0 in range(0, len(group_all), 64):
                group = group_all[g0:g0 + 64]
                ids = torch.tensor([g[0] for g in group], device=device)
                tg = torch.tensor([g[2] for g in group], device=device)
                Bn = len(group)
                base, _ = ts.spec_last_logits(p64, cfg, ids)
                p0 = torch.softmax(base[:, :V], -1).gather(1, tg[:, None])[:, 0]
                sets = {"subject": [g[1] for g in group],
                        "relation": [[i for i in range(N - 1) if i not in g[1]] for g in group],
                        "last": [[N - 1] for _ in group], "first": [[0] for _ in group]}
                for name, cols in sets.items():
                    mask = torch.ones(Bn, N, N, dtype=torch.float64, device=device)
                    for bi, cs in enumerate(cols):
                        for c in cs:
                            mask[bi, N - 1, c] = 0.0

                    def diff(layers):
                        lg, _ = ts.spec_last_logits(p64, cfg, ids, masks={l: mask for l in layers})
                        pk = torch.softmax(lg[:, :V], -1).gather(1, tg[:, None])[:, 0]
                        return float(((pk - p0) / p0 * 100).sum()), int((lg.argmax(-1) == tg).sum())
                    if name == "first":
                        a_, b_ = diff(range(cfg["n_layer"]))
                        first[0] += a_
                        first[1] += b_
                        continue
                    for si, st in enumerate(starts):
                        a_, b_ = diff(range(st, st + k))
                        sums[name][si] += a_
                        keep1[name][si] += b_
                    if name == "subject":
                        a_, b_ = diff(range(cfg["n_layer"]))
                        all_layers[0] += a_
                        all_layers[1] += b_
                n_ko += Bn
    knock = {"window": k, "starts": starts, "n": n_ko, "sets": {},
             "how": "float64 SPEC section 7 on the saved weights; (last <- c) pre-softmax -inf in every head of the window's layers",
             "allLayersSubject": {"meanDiffPct": round(all_layers[0] / n_ko, 3), "top1Kept": round(all_layers[1] / n_ko, 4)},
             "allLayersFirst": {"meanDiffPct": round(first[0] / n_ko, 3), "top1Kept": round(first[1] / n_ko, 4)}}
    for name in sums:
        knock["sets"][name] = {"meanDiffPct": [round(v / n_ko, 3) for v in sums[name]], "top1Kept": [round(v / n_ko, 4) for v in keep1[name]]}
        log(f"knockout k={k} {name:8s} {knock['sets'][name]['meanDiffPct']}")
    log(f"all layers: subject {knock['allLayersSubject']}, first {knock['allLayersFirst']}")

    info = {"seed": args.seed, "facts": os.path.relpath(os.path.abspath(args.facts), ROOT), "nFacts": len(rows),
            "nTrainingPrompts": len(items), "relations": len(relation_templates(rows)),
            "tokenizer": {"file": "copy of models/demo/tokenizer.json (the Mamba-2 demo's)", "vocabSize": n_tok},
            "model": {"architecture": "GPTNeoXForCausalLM", "d_model": d, "n_layer": cfg["n_layer"], "n_head": cfg["n_head"],
                      "intermediate_size": cfg["d_ff"], "rotary_pct": cfg["rotary_pct"], "use_parallel_residual": True,
                      "vocab_size": V, "tied_embeddings": True, "parameters": n_params, "stored_dtype": "float16",
                      "weights_bytes": wbytes},
            "training": {"objective": "cross-entropy of the attribute tokens after the prompt (all template x fact prompts)",
                         "forward": "tools/transformer_spec.py (SPEC section 7, float32)", "label_smoothing": args.label_smoothing,
                         "optimizer": "AdamW", "lr": args.lr, "batch": args.batch, "steps": step, "stop_reason": stop_reason,
                         "recalled_at_step": done_at, "margin_steps": args.margin_steps, "seconds": round(train_seconds, 1),
                         "history": history},
            "evaluation": {"how": "GPTNeoXForCausalLM.from_pretrained(float32, eager) from the saved float16 weights",
                           "top1AccuracyFactsFile": acc_file, "top1AccuracyAllTemplates": acc_all,
                           "missesFactsFile": [rows[ri]["prompt"] + " ->" + rows[ri]["target_true"] for ri in fail_rows],
                           "maxAbsLogitDiffTransformersVsSpecFloat64": diff_file},
            "knockout": knock, "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
            "totalSeconds": round(time.time() - t_start, 1)}
    dump(info, os.path.join(args.out, "training.json"))
    ko = knock["sets"]
    md_knock = "\n".join(f"| {s} | " + " | ".join(f"{v:+.1f}" for v in ko[s]["meanDiffPct"]) + " |" for s in ("subject", "relation", "last"))
    md = f"""# Transformer demo model

A tiny GPT-NeoX (Pythia-layout) language model trained by this project (`tools/train_demo_transformer.py`) to recall
the {len(rows)} facts of `examples/demo-facts.json` under every template of their relation ({len(items)} training
prompts): the transformer twin of `models/demo` (Mamba-2) and `models/demo-mamba1` (same facts, templates, tokenizer,
objective and seed). It exists so that Mamba and a transformer can be compared side by side with no download; it
knows nothing else.

| | |
|---|---|
| architecture | GPT-NeoX (`GPTNeoXForCausalLM`, `model_type: "gpt_neox"`): rotary on {cfg['rotary_pct']:.0%} of each head, parallel residual, exact GELU, tied embeddings |
| size | d_model {d}, {cfg['n_layer']} layers, {cfg['n_head']} heads of {d // cfg['n_head']}, MLP {cfg['d_ff']} |
| vocabulary | {n_tok} byte-level BPE tokens (a copy of `models/demo/tokenizer.json`) |
| parameters | {n_params:,} ({wbytes / 1e6:.1f} MB as float16 safetensors) |
| training | AdamW lr {args.lr}, batch {args.batch}, {step} steps ({stop_reason}), {train_seconds:.0f} s on {info['device']} |
| **top-1 accuracy** (first attribute token, float16 weights reloaded in float32 with transformers) | facts file prompts: **{acc_file:.2%}**; all template x fact prompts: **{acc_all:.2%}** |

transformers (float32) vs the float64 SPEC implementation on the saved weights: max |logit difference| {diff_file:.2g}.
`test/fixtures/parity/demo-transformer-expected.json` holds, for {len(exp_rows)} facts, the prompt ids, the
probability of the target token and the top-5, computed by transformers in float32.

## Attention knockout on the facts-file prompts (SPEC sections 3 and 7)

Mean diff% of the target probability when the last position is blocked from the set in every head of a window of
{k} layers starting at layer l (float64, saved weights, {n_ko} prompts). Blocking last <- subject in all
{cfg['n_layer']} layers: {knock['allLayersSubject']['meanDiffPct']:+.1f}% (top-1 kept for
{knock['allLayersSubject']['top1Kept']:.0%}); last <- first position in all layers:
{knock['allLayersFirst']['meanDiffPct']:+.1f}%.

| set \\ start l | {" | ".join(str(x) for x in starts)} |
|---|{"---|" * len(starts)}
{md_knock}

Re-create with `python3 tools/train_demo_transformer.py --facts examples/demo-facts.json --out models/demo-transformer`
(torch, transformers, tokenizers, safetensors; a GPU makes it take a few minutes), then move
`models/demo-transformer/demo-transformer-expected.json` to `test/fixtures/parity/`.
"""
    with open(os.path.join(args.out, "TRAINING.md"), "w") as f:
        f.write(md)
    log(f"done in {time.time() - t_start:.0f}s")


if __name__ == "__main__":
    main()
