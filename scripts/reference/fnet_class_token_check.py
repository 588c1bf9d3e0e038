#!/usr/bin/env python3
"""PyTorch float32 replay of Parseval's study-cell FNet (ListOps small study) with pooling
cls / first / mean: reference_state's EncoderClassifier + Parseval's dropout placement, init,
batch order (parseval_batches), AdamW 0.9/0.98 eps 1e-9 decay 0.1 on Linear weights, clip 1.0,
cosine warmup 60, lr 1e-3, batch 16, 600 steps, eval every 100 on the full val split, best tested.
The PyTorch side of docs/results.md's FNet class-token check (never in CI; needs PyTorch):

    python3 scripts/reference/fnet_class_token_check.py --pooling cls --seed 1 --data data/study/listops --out /tmp/fnet-cls-s1

Diagnostics every 20 steps: state norms at position 0 vs the rest after block 0 / block 1,
gradient norms of head params and of the pooled vector."""
import argparse, json, math, sys, time
from pathlib import Path
import torch, torch.nn as nn, torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_state import ModelConfig, EncoderClassifier, decayed_parameter_names  # noqa
from parity_train import parseval_batches, StudyRecipe, check_philox  # noqa
from round_trip import listops_split  # noqa


class DropoutClassifier(EncoderClassifier):
    """EncoderClassifier.forward (no downsampling) with Parseval's dropouts: after positions
    (embeddingDropout), after the mixer (dropout1), after the MLP (dropout2); none in the head."""

    def forward(self, tokens, mask=None, probe=None):
        p = self.config.dropout if self.training else 0.0
        pad = self.config.padding_index
        if mask is None:
            mask = tokens != pad
        x = self.embedding.weight[tokens] * (tokens != pad)[..., None]
        if self.class_token:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
            mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        x = F.dropout(x + self.position[: x.shape[1]], p, self.training)
        for i, block in enumerate(self.blocks):
            mixed = block.mixer(block.norm1(x), mask)
            if probe is not None:
                probe[f"mix{i}"] = mixed.detach()
            h = x + F.dropout(mixed, p, self.training)
            x = h + F.dropout(block.mlp(block.norm2(h)), p, self.training)
            if probe is not None:
                probe[f"block{i}"] = x.detach()
        x = self.norm(x)
        if self.config.pooling != "mean":
            pooled = x[:, 0]
        else:
            w = mask.to(x.dtype)
            pooled = (w[..., None] * x).sum(1) / w.sum(1, keepdim=True)
        if probe is not None:
            if pooled.requires_grad:
                pooled.retain_grad()
            probe["pooled"] = pooled
        return self.head(pooled)


def parseval_init(model, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, nn.Linear):
                nn.init.xavier_uniform_(mod.weight); nn.init.zeros_(mod.bias)
            elif isinstance(mod, nn.LayerNorm):
                nn.init.ones_(mod.weight); nn.init.zeros_(mod.bias)
        model.embedding.weight.normal_(0, 0.02); model.embedding.weight[0].zero_()
        model.position.normal_(0, 0.02)
        if model.class_token:
            model.cls_token.normal_(0, 0.02)


def evaluate(model, tokens, labels, bs=16):
    model.eval(); loss, correct = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(labels), bs):
            logits = model(tokens[s:s + bs])
            loss += F.cross_entropy(logits, labels[s:s + bs], reduction="sum").item()
            correct += (logits.argmax(-1) == labels[s:s + bs]).sum().item()
    model.train()
    return loss / len(labels), correct / len(labels)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pooling", required=True, choices=("cls", "first", "mean"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--data", default="data/study/listops", help="the study's ListOps folder (launch/lra-study.sh generates it)")
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--eps", type=float, default=1e-6)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    check_philox()
    recipe = StudyRecipe(steps=args.steps, dropout=args.dropout)
    data = Path(args.data)
    split = {k: listops_split(data / f, 2000)[:2] for k, f in
             (("train", "basic_train.tsv"), ("val", "basic_val.tsv"), ("test", "basic_test.tsv"))}
    cfg = ModelConfig(mixer="fnet", block="pre_norm", vocabulary_size=16, max_length=2000, dim=64, depth=2,
                      heads=4, mlp_hidden=128, classes=10, pooling=args.pooling, head="mlp", padding_index=0,
                      dropout=args.dropout)
    model = DropoutClassifier(cfg)
    for m in model.modules():  # model.norm_epsilon 1e-6 (the reference's pre_norm design is 1e-5)
        if isinstance(m, nn.LayerNorm):
            m.eps = args.eps
    parseval_init(model, args.seed)
    decayed = decayed_parameter_names(model)
    named = dict(model.named_parameters())
    groups = [{"params": [p for n, p in named.items() if n in decayed], "weight_decay": recipe.weight_decay},
              {"params": [p for n, p in named.items() if n not in decayed], "weight_decay": 0.0}]
    params = [p for g in groups for p in g["params"]]
    opt = torch.optim.AdamW(groups, lr=recipe.learning_rate_at(0), betas=(recipe.beta1, recipe.beta2), eps=recipe.epsilon)
    plan = parseval_batches(len(split["train"][1]), recipe.batch_size, args.seed, recipe.steps)
    args.out.mkdir(parents=True, exist_ok=True)
    log = open(args.out / "metrics.jsonl", "w")
    rec = lambda e: (log.write(json.dumps(e) + "\n"), log.flush(), print(json.dumps(e), flush=True))
    rec({"config": vars(cfg) | {"eps": args.eps}, "decayed": sorted(decayed), "seed": args.seed,
         "params": sum(p.numel() for p in params)})
    tt, tl = split["train"]
    best = {"acc": -1, "step": -1, "state": None}
    win = [0.0, 0, 0]; t0 = time.perf_counter()
    model.train()
    for t, (epoch, idx) in enumerate(plan):
        step = t + 1
        diag = step == 1 or step % 20 == 0
        lr = recipe.learning_rate_at(t)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        probe = {} if diag else None
        logits = model(tt[idx], probe=probe)
        loss = F.cross_entropy(logits, tl[idx])
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, recipe.gradient_clip)  # pre-clip total norm
        if diag:
            d = {}
            for k in ("mix0", "block0", "mix1", "block1"):
                v = probe[k].norm(dim=-1)  # (B, N) per-position state norm
                d[k + "_pos0"] = v[:, 0].mean().item()
                d[k + "_rest_mean"] = v[:, 1:].mean().item()
                d[k + "_rest_max"] = v[:, 1:].max().item()
            d["grad_pooled"] = probe["pooled"].grad.norm().item()
            d["grad_head"] = torch.sqrt(sum((p.grad ** 2).sum() for n, p in named.items() if n.startswith("head"))).item()
            d["grad_blocks"] = torch.sqrt(sum((p.grad ** 2).sum() for n, p in named.items() if n.startswith("blocks"))).item()
            d["grad_embed"] = torch.sqrt(sum((p.grad ** 2).sum() for n, p in named.items()
                                             if n in ("embedding.weight", "position", "cls_token"))).item()
            if model.class_token:
                d["grad_cls_token"] = named["cls_token"].grad.norm().item()
                d["cls_token_norm"] = named["cls_token"].norm().item()
            d["logit_std_over_batch"] = logits.detach().std(0).mean().item()
        opt.step()
        win[0] += loss.item() * len(idx); win[1] += (logits.argmax(-1) == tl[idx]).sum().item(); win[2] += len(idx)
        if diag:
            e = {"step": step, "split": "train", "loss_batch": loss.item(), "lr": lr, "grad_norm": norm.item(), **d,
                 "seconds": round(time.perf_counter() - t0, 1)}
            if step % 20 == 0:
                e |= {"loss": win[0] / win[2], "accuracy": win[1] / win[2]}; win = [0.0, 0, 0]
            rec(e)
        if step % recipe.eval_every == 0 or step == recipe.steps:
            lv, av = evaluate(model, *split["val"])
            if av > best["acc"]:
                best = {"acc": av, "step": step, "state": {k: v.clone() for k, v in model.state_dict().items()}}
            rec({"step": step, "split": "validation", "loss": lv, "accuracy": av})
    torch.save(model.state_dict(), args.out / "final.pt")
    torch.save(best["state"], args.out / "best.pt")
    model.load_state_dict(best["state"])
    lt, at = evaluate(model, *split["test"])
    rec({"step": best["step"], "split": "test", "loss": lt, "accuracy": at, "best_validation_accuracy": best["acc"],
         "seconds": round(time.perf_counter() - t0, 1)})


if __name__ == "__main__":
    main()
