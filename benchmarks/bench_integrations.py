"""Benchmark: passlens inside verl and TRL, against the frameworks' own code in the same process.

Run:  .venv/bin/python benchmarks/bench_integrations.py [--threads 1] [--rounds 15]
      (needs the test extra: verl 0.9.1 and torch installed; TRL's inline GRPO is restated below)

Part 1, advantages. For each batch shape (512 × 16 and 4096 × 64 by default) every method is
called once per round, round-robin, and the table gives the median (and minimum) wall time
per call. Inputs: binary rewards Bernoulli(p), p ~ U(0, 1) per group, as verl hands them to an
estimator — ``token_level_rewards`` float32 (bs, L = 1), an all-ones ``response_mask`` and
``index`` an object array of uuid4 strings. "shuffled" permutes the samples, as verl's
``balance_batch`` does. How the uid strings sit in memory matters as much as their order
(reading 262,144 Python objects in a random memory order costs cache misses), so the shuffled
uids come in three layouts:

* **shared** — one string object per group, repeated (``np.repeat``; verl's legacy trainer
  builds its uids this way and ``balance_batch`` permutes the array);
* **fresh** — one string object per sample, created in batch order (verl's v1 trainer reads the
  uids of the balanced batch out of TransferQueue, which makes a new string per sample);
* **scattered** — one string object per sample, created in group order and then permuted
  (the worst case for memory locality; not what either verl trainer produces).

Methods:

* verl's own estimators, imported from the installed package: ``grpo`` (a Python loop over
  samples), ``grpo_vectorized``, ``rloo`` (loop), ``rloo_vectorized``;
* TRL 1.16's inline GRPO advantage (``scale_rewards="group"``, ε = 1e-4), restated here in five
  lines of torch (it is inline in ``GRPOTrainer._generate_and_score_completions``, not importable);
* the passlens verl adapter, called exactly as verl calls a registered estimator
  (``get_adv_estimator_fn("passlens_grpo")(token_level_rewards=…, response_mask=…, index=…,
  config=…)``), on contiguous and shuffled uids;
* ``passlens.advantage`` on the (B, n) matrix (no grouping, no token broadcast).

The slow loops run at most ``--loop-rounds`` rounds at the large shape.

Part 2, validation metrics: verl's ``process_validation_metrics`` (1000-draw bootstrap with
replacement per prompt and k) against ``passlens.integrations.verl.validation_metrics``
(unbiased, vectorized) on P prompts × n samples with ``acc`` (p ~ Beta(0.5, 0.5)), ``reward``
(= acc) and ``pred`` (answers), and the values of both at k = 4 and 16.

Floors (issue "integrations"): adapter with shuffled uids ≤ 10 ms at 4096 × 64; validation
metrics ≥ 100× faster than verl's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from typing import Any, Callable

import numpy as np


def _rounds(methods: dict[str, Callable[[], Any]], rounds: int, limited: dict[str, int]) -> dict[str, list[float]]:
    """Round-robin timing: every method once per round (after one warm-up call each)."""
    for fn in methods.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in methods}
    for r in range(rounds):
        for name, fn in methods.items():
            if r >= limited.get(name, rounds):
                continue
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def _dict_codes(index: np.ndarray) -> np.ndarray:
    """Reference grouping: a dict from uid to its first-appearance code, one Python step per sample."""
    codes: dict[Any, int] = {}
    return np.fromiter((codes.setdefault(u, len(codes)) for u in index.tolist()), dtype=np.int64, count=index.size)


def _fresh(strings: np.ndarray) -> np.ndarray:
    """The same values as new string objects, created in array order."""
    return np.array([s[:8] + s[8:] for s in strings], dtype=object)


def _uid_layouts(B: int, n: int, perm: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """(B·n,) uid object arrays: contiguous (fresh) and the three shuffled layouts of the docstring."""
    heads = np.array([str(uuid.UUID(int=int(rng.integers(0, 2**63)), version=4)) for _ in range(B)], dtype=object)
    repeated = np.repeat(heads, n)  # (B·n,) one object per group
    return {
        "contiguous": _fresh(repeated),
        "shuffled, shared": repeated[perm],
        "shuffled, fresh": _fresh(repeated[perm]),
        "shuffled, scattered": _fresh(repeated)[perm],
    }


def bench_advantages(B: int, n: int, rounds: int, loop_rounds: int) -> None:
    import torch
    from verl.trainer.ppo import core_algos

    import passlens
    import passlens.integrations.verl  # noqa: F401  (registers passlens_* in verl's registry)
    from passlens.integrations import group_index

    rng = np.random.default_rng(0)
    R = (rng.uniform(size=(B, n)) < rng.uniform(size=(B, 1))).astype(np.float32)  # (B, n)
    perm = rng.permutation(B * n)
    layouts = _uid_layouts(B, n, perm, rng)
    uids = layouts["contiguous"]
    tlr = torch.from_numpy(R.reshape(-1, 1).copy())  # (bs, 1)
    tlr_s = tlr[torch.from_numpy(perm)].contiguous()
    mask = torch.ones_like(tlr)
    uids_s = layouts["shuffled, fresh"]
    R_t = torch.from_numpy(R.copy())

    def verl_fn(name: str) -> Callable[..., Any]:
        return core_algos.get_adv_estimator_fn(name)

    def trl_grpo() -> Any:
        rewards = R_t.reshape(-1)
        mean = rewards.view(-1, n).mean(dim=1).repeat_interleave(n)
        std = rewards.view(-1, n).std(dim=1).repeat_interleave(n)
        return (rewards - mean) / (std + 1e-4)

    cfg = {"passlens": {}}
    cfg_pkpo = {"passlens": {"k": 8}}
    methods: dict[str, Callable[[], Any]] = {
        "verl grpo (loop)": lambda: core_algos.compute_grpo_outcome_advantage(tlr, mask, uids),
        "verl grpo_vectorized": lambda: verl_fn("grpo_vectorized")(tlr, mask, index=uids),
        "verl rloo (loop)": lambda: verl_fn("rloo")(tlr, mask, index=uids, config=None),
        "verl rloo_vectorized": lambda: verl_fn("rloo_vectorized")(tlr, mask, index=uids, config=None),
        "verl grpo_vectorized, shuffled": lambda: verl_fn("grpo_vectorized")(tlr_s, mask, index=uids_s),
        "TRL GRPO inline (restated)": trl_grpo,
        "passlens.advantage('grpo') on (B, n)": lambda: passlens.advantage("grpo", R_t),
        "passlens.advantage('rloo') on (B, n)": lambda: passlens.advantage("rloo", R_t),
        "verl adapter passlens_grpo": lambda: verl_fn("passlens_grpo")(tlr, mask, index=uids, config=cfg),
        "verl adapter passlens_rloo": lambda: verl_fn("passlens_rloo")(tlr, mask, index=uids, config=cfg),
        "verl adapter passlens_pkpo k=8": lambda: verl_fn("passlens_pkpo")(tlr, mask, index=uids, config=cfg_pkpo),
    }
    for layout in ("shuffled, shared", "shuffled, fresh", "shuffled, scattered"):
        idx = layouts[layout]
        methods[f"verl adapter passlens_pkpo k=8, {layout}"] = (
            lambda idx=idx: verl_fn("passlens_pkpo")(tlr_s, mask, index=idx, config=cfg_pkpo))
    methods["verl grpo_vectorized, shuffled, fresh"] = methods.pop("verl grpo_vectorized, shuffled")
    # the grouping alone, against the obvious dict factorization (first-appearance codes)
    for layout in ("shuffled, shared", "shuffled, fresh", "shuffled, scattered"):
        idx = layouts[layout]
        methods[f"group_index only, {layout}"] = lambda idx=idx: group_index(idx)
    methods["dict factorization only, shuffled, fresh"] = lambda: _dict_codes(uids_s)
    slow = {"verl grpo (loop)": loop_rounds, "verl rloo (loop)": loop_rounds} if B * n > 50_000 else {}
    times = _rounds(methods, rounds, slow)

    # agreement where the math is the same (float32 outputs)
    a_verl = core_algos.compute_grpo_outcome_advantage(tlr, mask, uids)[0][:, 0]
    a_pl = verl_fn("passlens_grpo")(tlr, mask, index=uids, config=cfg)[0][:, 0]
    a_pl_s = verl_fn("passlens_grpo")(tlr_s, mask, index=uids_s, config=cfg)[0][:, 0]
    r_verl = verl_fn("rloo_vectorized")(tlr, mask, index=uids, config=None)[0][:, 0]
    r_pl = verl_fn("passlens_rloo")(tlr, mask, index=uids, config=cfg)[0][:, 0]
    print(f"\n### Advantages, B = {B} groups × n = {n} (torch threads {torch.get_num_threads()}, "
          f"passlens threads {passlens.advantages.get_num_threads()})\n")
    print("| method | median ms | min ms | calls | ÷ passlens_grpo adapter (contiguous) |")
    print("|---|---:|---:|---:|---:|")
    base = statistics.median(times["verl adapter passlens_grpo"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med * 1e3:.2f} | {min(ts) * 1e3:.2f} | {len(ts)} | {med / base:.2f} |")
    print(f"\nmax |verl grpo − passlens_grpo| = {float((a_verl - a_pl).abs().max()):.2e}; "
          f"shuffled (unpermuted) = {float((a_verl[torch.from_numpy(perm)] - a_pl_s).abs().max()):.2e}; "
          f"max |verl rloo_vectorized − passlens_rloo| = {float((r_verl - r_pl).abs().max()):.2e}")


def bench_validation(P: int, n: int, rounds: int) -> None:
    from verl.trainer.ppo.metric_utils import process_validation_metrics

    from passlens.integrations.verl import validation_metrics

    rng = np.random.default_rng(1)
    p = rng.beta(0.5, 0.5, size=P)
    acc = (rng.uniform(size=(P, n)) < p[:, None]).astype(np.float64)
    # answers: the correct one is "a0"; wrong ones spread over a few others
    wrong = rng.integers(1, 4, size=(P, n))
    pred = np.where(acc == 1, "a0", np.char.add("a", wrong.astype(str)))
    uids = [str(uuid.uuid4()) for _ in range(P)]
    sample_uids = [uids[i] for i in range(P) for _ in range(n)]
    sources = ["bench"] * (P * n)
    infos = {"reward": acc.reshape(-1).tolist(), "acc": acc.reshape(-1).tolist(), "pred": pred.reshape(-1).tolist()}

    t_verl: list[float] = []
    t_pl: list[float] = []
    out_verl: Any = None
    out_pl: Any = None
    for r in range(rounds):
        t0 = time.perf_counter()
        out_pl = validation_metrics(sources, sample_uids, infos)
        t_pl.append(time.perf_counter() - t0)
        if r < max(1, rounds // 5):  # verl's bootstrap takes tens of seconds per call
            t0 = time.perf_counter()
            out_verl = process_validation_metrics(sources, sample_uids, infos)
            t_verl.append(time.perf_counter() - t0)
    v = out_verl["bench"]["acc"]
    q = out_pl["bench"]["acc"]
    mv, mp = statistics.median(t_verl), statistics.median(t_pl)
    print(f"\n### Validation metrics, {P} prompts × {n} samples (acc, reward, pred)\n")
    print("| method | median | min | calls |")
    print("|---|---:|---:|---:|")
    print(f"| verl `process_validation_metrics` | {mv:.2f} s | {min(t_verl):.2f} s | {len(t_verl)} |")
    print(f"| passlens `validation_metrics` | {mp * 1e3:.1f} ms | {min(t_pl) * 1e3:.1f} ms | {len(t_pl)} |")
    print(f"\nratio (medians): **{mv / mp:,.0f}×**\n")
    print("| k | verl best@k/mean | passlens pass@k | verl worst@k/mean | passlens pass^k | verl maj@k/mean | passlens maj@k |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for k in (4, n):
        print(f"| {k} | {v[f'best@{k}/mean']:.4f} | {q[f'pass@{k}']:.4f} | {v[f'worst@{k}/mean']:.4f} | "
              f"{q[f'pass^{k}']:.4f} | {v[f'maj@{k}/mean']:.4f} | {q[f'maj@{k}']:.4f} |")
    print(f"\nverl mean@{n} = {v[f'mean@{n}']:.6f}, passlens pass@1 = {q['pass@1']:.6f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch and passlens threads (0: leave the defaults)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--loop-rounds", type=int, default=3, help="rounds of verl's Python loops at the large shape")
    ap.add_argument("--shapes", default="512x16,4096x64")
    ap.add_argument("--val", default="500x16", help="validation prompts × samples ('' to skip)")
    args = ap.parse_args()
    if args.threads:
        os.environ["PASSLENS_NUM_THREADS"] = str(args.threads)
        import torch

        torch.set_num_threads(args.threads)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    for shape in filter(None, args.shapes.split(",")):
        B, n = (int(x) for x in shape.split("x"))
        bench_advantages(B, n, args.rounds, args.loop_rounds)
    if args.val:
        P, n = (int(x) for x in args.val.split("x"))
        bench_validation(P, n, max(5, args.rounds // 3))
    print(f"\nload average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
