"""RL-loop throughput: KV-cache sampler vs its uncached path vs Hugging Face ``generate``, and one RL step.

Not a test. Same-process ratios are what to compare (the machine may be shared).

    python benchmarks/bench_rl.py [--threads 2] [--repeat 3] [--hf-path DIR] [--device cuda]

Hugging Face ``transformers`` is an optional bench-only dependency; it is imported from the
environment or from ``--hf-path`` (a ``pip install --target DIR transformers`` folder, appended
to ``sys.path`` so the environment's own torch always wins). Shapes follow the reference point:
d_model 128, 4 layers, 4 heads, batch 256, 16-token prompts, 24 new tokens (no early stop).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from passlens.rl.model import GPT, ModelConfig
from passlens.rl.sampler import sample
from passlens.rl.tokenizer import CharTokenizer


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--prompt-len", type=int, default=16)
    ap.add_argument("--new", type=int, default=24)
    ap.add_argument("--hf-path", default=None)
    ap.add_argument("--skip-step", action="store_true")
    ap.add_argument("--warm-steps", type=int, default=150, help="supervised warm start before timing the RL step")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the Hugging Face comparison runs on cpu only)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    B, Tp, M = args.batch, args.prompt_len, args.new
    tok = CharTokenizer()
    cfg = ModelConfig(d_model=128, n_layer=4, n_head=4, block_size=64)
    device = torch.device(args.device)
    model = GPT(cfg).to(device).eval()
    g = torch.Generator().manual_seed(0)
    prompts = torch.randint(3, tok.vocab_size, (B, Tp), generator=g).tolist()
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, threads {torch.get_num_threads()}"
    print(f"torch {torch.__version__}, {where}, params {model.num_params():,}; batch {B}, prompt {Tp}, new {M}")

    def ours(cache: bool) -> None:
        s = sample(model, prompts, 1, max_new=M, stop=(), generator=torch.Generator(device).manual_seed(1),
                   use_cache=cache)
        assert s.mask.all()  # (a host sync: the timing covers the device's work)

    runs = {"passlens cached": lambda: ours(True), "passlens uncached": lambda: ours(False)}
    hf_name = None
    if args.hf_path:
        sys.path.append(args.hf_path)
    transformers = None
    if device.type != "cpu":
        print(f"the Hugging Face comparison runs on cpu only; skipped on {device.type}")
    else:
        try:
            import transformers
            from transformers import GPT2Config, GPT2LMHeadModel
        except ImportError as exc:
            print(f"transformers not available ({exc}); skipping the Hugging Face comparison")
    if transformers is not None:
        if args.hf_path:  # the folder may bring its own torch: the environment's must still be the one imported
            assert torch.__version__.startswith("2.13.0"), torch.__version__
        transformers.logging.set_verbosity_error()
        hf = GPT2LMHeadModel(GPT2Config(vocab_size=tok.vocab_size, n_positions=64, n_embd=128, n_layer=4, n_head=4,
                                        bos_token_id=1, eos_token_id=2, pad_token_id=0)).eval()
        ids = torch.tensor(prompts)
        attn = torch.ones_like(ids)

        def hf_gen(cache: bool) -> None:
            with torch.no_grad():
                out = hf.generate(ids, attention_mask=attn, do_sample=True, max_new_tokens=M, min_new_tokens=M,
                                  use_cache=cache, top_k=0, pad_token_id=0)
            assert out.shape == (B, Tp + M)

        hf_name = f"HF generate cached (transformers {transformers.__version__})"
        runs[hf_name] = lambda: hf_gen(True)
        runs["HF generate uncached"] = lambda: hf_gen(False)
    for fn in runs.values():  # warm-up
        fn()
    best = {name: float("inf") for name in runs}
    for _ in range(args.repeat):  # interleaved, so load changes hit every contender alike
        for name, fn in runs.items():
            best[name] = min(best[name], best_of(fn, 1))
    results = {name: B * M / t for name, t in best.items()}

    for name, v in results.items():
        print(f"{name:55s} {v:10,.0f} tokens/s")
    c = results["passlens cached"]
    floor = " (floor 5x, on CPU)" if device.type == "cpu" else ""
    print(f"cached / own uncached: {c / results['passlens uncached']:.1f}x{floor}")
    if hf_name:
        print(f"cached / HF generate cached: {c / results[hf_name]:.2f}x (floor 1.0x, aim 2x); "
              f"uncached / HF uncached: {results['passlens uncached'] / results['HF generate uncached']:.2f}x")

    if not args.skip_step:
        from passlens.rl.tasks import make_task  # noqa: F401  (registry)
        from passlens.rl.trainer import TrainConfig, Trainer
        from passlens.rl.warmstart import WarmStartConfig
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            tcfg = TrainConfig(task="countdown", objective="rloo", steps=10, prompts_per_step=32, n=8,
                               train_problems=500, eval_problems=4, eval_every=0, device=args.device)
            for label, warm in (("random init", 0), (f"after {args.warm_steps} warm-start steps", args.warm_steps)):
                tcfg.warm = WarmStartConfig(steps=warm)
                tr = Trainer(tcfg, f"{d}/{warm}")
                tr.train_step()
                times, lens, rew = [], [], []
                for _ in range(args.repeat):
                    m = tr.train_step()
                    times.append(m["seconds"])
                    lens.append(m["completion_len"])
                    rew.append(m["reward"])
                print(f"RL step, countdown, 32 prompts x 8 samples, {tr.model.num_params():,} params, {label} "
                      f"(mean completion {sum(lens) / len(lens):.1f} tokens, reward {sum(rew) / len(rew):.2f}): "
                      f"best {min(times):.2f} s, mean {sum(times) / len(times):.2f} s (target <= 1 s)")


if __name__ == "__main__":
    main()
