"""A flat batch grouped by an index (passlens.grouping) and its exploration metrics
(passlens.diagnostics): the framework-free core of the trainer integrations and the RL loop.

Every fast path is checked against the obvious loop: one ``passlens.advantage`` call per
group, one estimator call per prompt."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import passlens
from passlens import theory
from passlens.advantages import REGISTRY, AnswerCounts, advantage, format_spec
from passlens.diagnostics import ExplorationTracker, as_correct, exploration_metrics
from passlens.grouping import answer_ids, group_index, grouped_advantage, grouped_advantage_info

# One parameter set per registry estimator, with k small enough for groups of 4.
SPECS: dict[str, dict[str, Any]] = {
    "rloo": {},
    "grpo": {},
    "dr_grpo": {},
    "pkpo": {"k": 3, "variant": "loo-1"},
    "passk_analytic": {"k": 3},
    "alpha_rloo": {"k": 2},
    "best_minus_second": {},
    "unlikeliness": {"beta": 0.5},
    "novelty": {"bonus": 0.3},
    "coverage": {"k": 2},
}


def test_every_registry_entry_is_exercised() -> None:
    assert set(SPECS) == set(REGISTRY)


def _uids(G: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([str(uuid.UUID(int=int(rng.integers(0, 2**63)))) for _ in range(G)], dtype=object)


def _flat_batch(name: str, sizes: list[int], seed: int = 0) -> dict[str, Any]:
    """Per-sample scores, answers, log-probs and prompt ids for groups of the given sizes."""
    rng = np.random.default_rng(seed)
    N = sum(sizes)
    group = np.repeat(np.arange(len(sizes)), sizes)
    p = rng.uniform(size=len(sizes))[group]
    r = (rng.uniform(size=N) < p).astype(np.float64)
    if not REGISTRY[name].binary_only and name not in ("novelty",):
        r = np.where(rng.uniform(size=N) < 0.3, rng.normal(size=N).round(1), r)
    return {
        "scores": r,
        "group": group,
        "answers": rng.integers(0, 3, size=N),
        "logprobs": rng.integers(-4, 0, size=N).astype(np.float64),  # ties on purpose
        "prompt_ids": group * 10 + 7,
    }


def _loop_reference(name: str, params: dict[str, Any], batch: dict[str, Any], order: np.ndarray) -> np.ndarray:
    """One ``passlens.advantage`` call per group (samples in batch order), singletons 0."""
    group = batch["group"][order]
    out = np.zeros(group.size)
    state = AnswerCounts() if name == "novelty" else None
    for g in dict.fromkeys(group.tolist()):
        rows = np.flatnonzero(group == g)
        if rows.size == 1:
            continue
        kw: dict[str, Any] = {}
        if "answers" in REGISTRY[name].inputs:
            kw["answers"] = batch["answers"][order][rows][None]
        if "logprobs" in REGISTRY[name].inputs:
            kw["logprobs"] = batch["logprobs"][order][rows][None]
        if name == "novelty":
            kw["state"] = state
            kw["prompt_ids"] = [int(batch["prompt_ids"][order][rows][0])]
            kw["update"] = False
        out[rows] = advantage(name, batch["scores"][order][rows][None], **kw, **params)[0]
    return out


def _call(name: str, params: dict[str, Any], batch: dict[str, Any], order: np.ndarray, index: Any,
          **kw: Any) -> Any:
    inputs: dict[str, Any] = {}
    if "answers" in REGISTRY[name].inputs:
        inputs["answers"] = batch["answers"][order]
    if "logprobs" in REGISTRY[name].inputs:
        inputs["logprobs"] = batch["logprobs"][order]
    if name == "novelty":
        inputs["state"] = AnswerCounts()
        inputs["prompt_ids"] = batch["prompt_ids"][order]
    return grouped_advantage(format_spec(name, params), batch["scores"][order], index, **inputs, **kw)


# ---------------------------------------------------------------------------------------
# group_index


@pytest.mark.parametrize("layout", ["contiguous", "shuffled", "ragged", "ragged-shuffled", "singletons"])
def test_group_index_partitions_the_batch(layout: str) -> None:
    rng = np.random.default_rng(1)
    sizes = {"contiguous": [4] * 6, "shuffled": [4] * 6, "ragged": [4, 1, 3, 4, 2, 5],
             "ragged-shuffled": [4, 1, 3, 4, 2, 5], "singletons": [1] * 7}[layout]
    uids = _uids(len(sizes))
    index = np.repeat(uids, sizes)
    if "shuffled" in layout:
        index = index[rng.permutation(index.size)]
    g = group_index(index)
    assert g.contiguous == ("shuffled" not in layout)
    pos = g.ordered()
    assert sorted(pos.tolist()) == list(range(index.size))  # every sample exactly once
    seen = []
    for i in range(g.n_groups):
        members = pos[g.starts[i]:g.starts[i + 1]]
        assert (np.diff(members) > 0).all()  # batch order inside a group
        assert set(index[members].tolist()) == {g.keys[i]}  # one value per group ...
        seen.append(int(members[0]))
    assert seen == sorted(seen)  # ... and groups in order of first appearance
    assert len(set(g.keys.tolist())) == g.n_groups  # ... and distinct values across groups
    codes = g.group_of()
    assert (g.keys[codes] == index).all()


@pytest.mark.parametrize("kind", ["int64", "uint8", "unicode", "list-of-str", "torch", "mixed", "tuples", "float"])
def test_group_index_accepts_common_index_types(kind: str) -> None:
    base = [3, 1, 3, 2, 1, 3]
    index: Any = {
        "int64": np.array(base),
        "uint8": np.array(base, dtype=np.uint8),
        "unicode": np.array([f"p{v}" for v in base]),
        "list-of-str": [f"p{v}" for v in base],
        "torch": torch.tensor(base),
        "mixed": [3, "1", 3, 2.5, "1", 3],  # polars cannot type it: the dict path
        "tuples": [(v, "x") for v in base],
        "float": np.array(base, dtype=np.float32),
    }[kind]
    g = group_index(index)
    members = [sorted(g.ordered()[g.starts[i]:g.starts[i + 1]].tolist()) for i in range(g.n_groups)]
    assert members == [[0, 2, 5], [1, 4], [3]]


def test_group_index_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="index is required"):
        group_index(None)
    with pytest.raises(ValueError, match="1-D"):
        group_index(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="sample 1 has nan"):
        group_index(np.array([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="hashable"):
        group_index(np.array([[1], [2], [1]] + [None], dtype=object)[:3].tolist())
    assert group_index(np.array([], dtype=object)).n_groups == 0


def test_a_repeated_value_far_apart_is_not_taken_as_contiguous() -> None:
    index = np.array(["a"] * 3 + ["b"] * 5000 + ["a"], dtype=object)  # beyond the prefix check
    g = group_index(index)
    assert not g.contiguous and g.sizes.tolist() == [4, 5000]


# ---------------------------------------------------------------------------------------
# grouped_advantage against one call per group


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("layout", ["contiguous", "shuffled", "ragged-shuffled"])
def test_grouped_advantage_equals_one_call_per_group(name: str, layout: str) -> None:
    sizes = [4] * 8 if layout != "ragged-shuffled" else [4, 5, 1, 4, 6, 5, 4, 1, 6]
    batch = _flat_batch(name, sizes, seed=len(name))
    N = sum(sizes)
    order = np.random.default_rng(3).permutation(N) if "shuffled" in layout else np.arange(N)
    index = _uids(len(sizes))[batch["group"][order]]
    got = _call(name, SPECS[name], batch, order, index)
    ref = _loop_reference(name, SPECS[name], batch, order)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


def test_contiguous_equal_groups_equal_the_reshaped_registry_call() -> None:
    rng = np.random.default_rng(0)
    R = (rng.uniform(size=(64, 16)) < rng.uniform(size=(64, 1))).astype(np.float32)
    index = np.repeat(_uids(64), 16)
    got = grouped_advantage("pkpo:k=4", R.reshape(-1), index)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, advantage("pkpo:k=4", R).reshape(-1))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_sample_order_does_not_matter(sizes: list[int], rnd: Any) -> None:
    """Permuting the batch permutes the advantages (verl's balance_batch reorders samples)."""
    batch = _flat_batch("rloo", sizes, seed=rnd.randint(0, 10**6))
    N = sum(sizes)
    perm = np.array(rnd.sample(range(N), N))
    index = batch["group"]
    base = grouped_advantage("pkpo:k=1,variant=s", batch["scores"], index)
    shuffled = grouped_advantage("pkpo:k=1,variant=s", batch["scores"][perm], index[perm])
    np.testing.assert_allclose(shuffled, base[perm], rtol=0, atol=1e-12)


def test_singletons_get_zero_and_are_counted() -> None:
    scores = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    info = grouped_advantage_info("rloo", scores, ["a", "a", "b", "c", "c"])
    np.testing.assert_allclose(info.advantages, [2.0 / 2 * 1, -1.0, 0.0, 2.0 / 2 * 1, -1.0])
    assert (info.groups, info.singletons, info.zeroed, info.sizes) == (3, 1, 0, (1, 2))


def test_small_groups_error_names_the_group_and_zero_policy_counts_it() -> None:
    scores = np.array([1.0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1])
    index = ["big"] * 8 + ["cut-by-dapo"] * 3
    with pytest.raises(ValueError, match=r"group 'cut-by-dapo' has 3 samples, too few .*k=8 exceeds n=3.*small_groups='zero'"):
        grouped_advantage("pkpo:k=8", scores, index)
    info = grouped_advantage_info("pkpo:k=8", scores, index, small_groups="zero")
    assert (info.zeroed, info.zeroed_samples) == (1, 3)
    np.testing.assert_array_equal(info.advantages[8:], 0.0)
    np.testing.assert_allclose(info.advantages[:8], advantage("pkpo:k=8", scores[None, :8])[0])
    # loo needs n > k: a group of exactly k samples is too small for it, and named
    with pytest.raises(ValueError, match="group 'big' has 8 samples.*needs n > k"):
        grouped_advantage("pkpo:k=8,variant=loo", scores[:8], index[:8])


def test_parameter_problems_are_not_reported_as_small_groups() -> None:
    with pytest.raises(ValueError, match="needs k ≥ 2"):
        grouped_advantage("pkpo:k=1,variant=loo-1", np.ones(4), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="missing required parameter"):
        grouped_advantage("pkpo", np.ones(4), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="given both"):
        grouped_advantage("pkpo:k=2", np.ones(4), [0, 0, 1, 1], k=2)
    with pytest.raises(ValueError, match="small_groups must be"):
        grouped_advantage("rloo", np.ones(4), [0, 0, 1, 1], small_groups="drop")  # type: ignore[arg-type]


def test_input_errors_are_one_line_and_name_the_sample() -> None:
    with pytest.raises(ValueError, match="sample 2 has nan"):
        grouped_advantage("rloo", np.array([1.0, 0.0, np.nan, 1.0]), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="index has 3 entries, scores has 4"):
        grouped_advantage("rloo", np.ones(4), [0, 0, 1])
    with pytest.raises(ValueError, match="coverage needs the per-sample input answers="):
        grouped_advantage("coverage:k=2", np.ones(4), [0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"answers must hold one value per sample, shape \(4,\)"):
        grouped_advantage("coverage:k=2", np.ones(4), [0, 0, 1, 1], answers=[1, 2])
    with pytest.raises(ValueError, match="novelty needs state="):
        grouped_advantage("novelty", np.ones(4), [0, 0, 1, 1], answers=[1, 2, 3, 4], prompt_ids=[0, 0, 1, 1])
    with pytest.raises(ValueError, match="prompt_ids differ within group 'x'"):
        grouped_advantage("novelty", np.ones(5), ["x", "x", "y", "y", "y"], answers=[1, 2, 3, 4, 5],
                          prompt_ids=[0, 1, 2, 2, 2], state=AnswerCounts())
    with pytest.raises(ValueError, match="scores must be 1-D"):
        grouped_advantage("rloo", np.ones((2, 2)), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="unknown advantage estimator"):
        grouped_advantage("nope", np.ones(4), [0, 0, 1, 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_numpy_dtype_round_trip(dtype: Any) -> None:
    scores = np.array([1, 0, 1, 1, 0, 0], dtype=dtype)
    for index in (np.array([0, 0, 0, 1, 1, 1]), np.array([0, 1, 0, 1, 0, 1]), np.array([0, 0, 0, 1, 1, 2])):
        out = grouped_advantage("rloo", scores, index)
        assert isinstance(out, np.ndarray)
        assert out.dtype == (np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.float64)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.int64])
def test_torch_dtype_round_trip(dtype: torch.dtype) -> None:
    scores = torch.tensor([1, 0, 1, 1, 0, 0]).to(dtype)
    for index in ([0, 0, 0, 1, 1, 1], [0, 1, 0, 1, 0, 1], [0, 0, 0, 1, 1, 2]):
        out = grouped_advantage("rloo", scores, np.array(index))
        assert isinstance(out, torch.Tensor) and out.device == scores.device
        assert out.dtype == (dtype if dtype.is_floating_point else torch.get_default_dtype())
        ref = grouped_advantage("rloo", scores.double().numpy(), np.array(index))
        np.testing.assert_allclose(out.double().numpy(), ref, rtol=1e-2 if dtype == torch.bfloat16 else 1e-6)


def test_novelty_records_a_ragged_step_once_with_one_discount() -> None:
    """Buckets of different sizes are looked up first and recorded after, with one discount."""
    scores = np.array([1.0, 1, 0, 1, 1, 1, 0])
    index = ["a", "a", "a", "b", "b", "c", "c"]
    answers = np.array([5, 5, 6, 5, 7, 9, 9])
    prompts = np.array([1, 1, 1, 2, 2, 1, 1])  # groups a and c share prompt 1
    state = AnswerCounts(discount=0.5)
    state.update([1], np.array([[5, 5]]))  # history: prompt 1 gave answer 5 twice
    grouped_advantage("novelty:bonus=1.0", scores, index, answers=answers, prompt_ids=prompts, state=state)
    # lookups saw only the history (c did not see a's answers of this step) ...
    ref_state = AnswerCounts(discount=0.5)
    ref_state.update([1], np.array([[5, 5]]))
    ref_a = advantage("novelty:bonus=1.0,update=False", scores[None, :3], answers=answers[None, :3],
                      prompt_ids=[1], state=ref_state)
    got = grouped_advantage("novelty:bonus=1.0,update=False", scores, index, answers=answers, prompt_ids=prompts,
                            state=ref_state)
    np.testing.assert_allclose(got[:3], ref_a[0])
    # ... and the stored counts were discounted once: 2·0.5 + 2 (a) for (1, 5)
    np.testing.assert_allclose(state.counts([1, 2, 1], np.array([[5, 6], [5, 7], [9, 9]])),
                               [[3.0, 1.0], [1.0, 1.0], [2.0, 2.0]])


# ---------------------------------------------------------------------------------------
# answer ids


def test_answer_ids_equal_iff_answers_equal() -> None:
    ids = answer_ids(["42", "41", "42", None, None, 1, "1", 1.0])
    assert ids[0] == ids[2] and ids[3] == ids[4]
    assert len(set(ids[[0, 1, 3, 5, 6, 7]].tolist())) == 6  # "1", 1 and 1.0 are different answers
    np.testing.assert_array_equal(answer_ids(np.array([3, 1, 3])), [3, 1, 3])
    np.testing.assert_array_equal(answer_ids(torch.tensor([3, 1, 3])), [3, 1, 3])
    np.testing.assert_array_equal(answer_ids([2**40, 5]), [2**40, 5])
    with pytest.raises(ValueError, match="1-D"):
        answer_ids(np.zeros((2, 2), dtype=np.int64))


def test_answer_ids_are_the_same_in_another_process() -> None:
    """novelty keys its memory by answer id across steps: the ids may not depend on the process."""
    code = "from passlens.integrations import answer_ids; print(answer_ids(['x=3', 'λ', None]).tolist())"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert outs == {str(answer_ids(["x=3", "λ", None]).tolist()) + "\n"}


# ---------------------------------------------------------------------------------------
# exploration metrics against per-prompt estimator calls


def _metric_batch(seed: int = 0, P: int = 30, n_choices: tuple[int, ...] = (8,)) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    sizes = rng.choice(n_choices, size=P)
    group = np.repeat(np.arange(P), sizes)
    p = rng.beta(0.5, 0.5, size=P)[group]
    ok = rng.uniform(size=group.size) < p
    answers = np.where(ok, rng.integers(0, 3, group.size), rng.integers(3, 6, group.size))
    perm = rng.permutation(group.size)
    return {"group": group[perm], "ok": ok[perm], "answers": answers[perm].astype(str),
            "rewards": np.where(ok, 1.0, rng.uniform(0, 0.5, group.size))[perm]}


def test_exploration_metrics_equal_per_prompt_estimators() -> None:
    b = _metric_batch()
    m = exploration_metrics(b["ok"], b["group"], answers=b["answers"], rewards=b["rewards"], group_size=4)
    prompts = sorted(set(b["group"].tolist()))
    n = np.array([np.sum(b["group"] == g) for g in prompts])
    c = np.array([np.sum(b["ok"][b["group"] == g]) for g in prompts])
    ks = [1, 2, 4, 8]
    np.testing.assert_allclose([m[f"pass@{k}"] for k in ks], passlens.pass_at_k(n, c, ks).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose([m[f"pass^{k}"] for k in ks], passlens.pass_hat_k(n, c, ks).mean(axis=0), rtol=1e-12)
    cur = passlens.curve(n, c, ks, method="analytic")
    np.testing.assert_allclose([m[f"pass@{k}"] for k in ks], cur.estimate, rtol=1e-12)
    votes, flags, rewards = [], [], []
    for g in prompts:
        sel = b["group"] == g
        values, counts = np.unique(b["answers"][sel], return_counts=True)
        votes.append(counts)
        flags.append(np.array([bool(b["ok"][sel][b["answers"][sel] == v].any()) for v in values]))
        rewards.append(b["rewards"][sel])
    np.testing.assert_allclose([m[f"maj@{k}"] for k in ks], passlens.maj_at_k(votes, flags, ks).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose([m[f"coverage@{k}"] for k in ks],
                               passlens.coverage_at_k(votes, flags, ks).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose([m[f"max@{k}"] for k in ks], passlens.max_at_k(rewards, ks).mean(axis=0), rtol=1e-12)
    assert m["never_solved"] == np.mean(c == 0) and m["always_solved"] == np.mean(c == n)
    assert m["polarized"] == np.mean((c == 0) | (c == n))
    assert m["zero_signal@4"] == pytest.approx(np.mean(theory.zero_signal_hat(n, c, 4)), rel=1e-12)
    assert m["distinct_correct"] == pytest.approx(np.mean([f.sum() for f in flags]))
    assert m["prompts"] == 30 and m["samples"] == b["ok"].size and m["answer_conflicts"] == 0
    assert not any(key.startswith("prompts@") for key in m)


def test_budgets_beyond_some_prompts_average_the_others_and_say_how_many() -> None:
    b = _metric_batch(seed=2, n_choices=(4, 8))
    m = exploration_metrics(b["ok"], b["group"], group_size=8)
    prompts = sorted(set(b["group"].tolist()))
    n = np.array([np.sum(b["group"] == g) for g in prompts])
    c = np.array([np.sum(b["ok"][b["group"] == g]) for g in prompts])
    big = n >= 8
    assert m["pass@8"] == pytest.approx(passlens.pass_at_k(n[big], c[big], 8).mean(), rel=1e-12)
    assert m["prompts@8"] == big.sum() and "prompts@4" not in m
    assert m["zero_signal@8"] == pytest.approx(np.mean(theory.zero_signal_hat(n[big], c[big], 8)), rel=1e-12)
    assert "max@1" not in m  # no rewards given
    m16 = exploration_metrics(b["ok"], b["group"], ks=[1, 16], group_size=16)
    assert "pass@16" not in m16 and m16["prompts@16"] == 0  # no prompt has 16 samples: left out, and said
    assert "zero_signal@16" not in m16


def test_continuous_rewards_alone_give_max_at_k() -> None:
    rewards = np.array([0.2, 0.9, 0.5, 0.1, 0.1, 0.4])
    group = np.array([0, 0, 0, 1, 1, 1])
    m = exploration_metrics(None, group, rewards=rewards, ks=[1, 2, 3])
    ref = passlens.max_at_k([rewards[:3], rewards[3:]], [1, 2, 3]).mean(axis=0)
    np.testing.assert_allclose([m["max@1"], m["max@2"], m["max@3"]], ref, rtol=1e-12)
    assert set(m) == {"prompts", "samples", "max@1", "max@2", "max@3"}


def test_an_answer_graded_both_ways_leaves_its_prompt_out_of_maj_and_coverage() -> None:
    ok = np.array([1, 0, 1, 1, 0, 0, 1, 1])
    group = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    answers = np.array(["a", "a", "b", "b", "c", "d", "e", "e"])  # prompt 0: "a" is right once, wrong once
    m = exploration_metrics(ok, group, answers=answers, ks=[1, 2])
    assert m["answer_conflicts"] == 1
    assert m["maj@2"] == pytest.approx(passlens.maj_at_k([np.array([1, 1, 2])], [np.array([False, False, True])], 2)[0])
    assert m["pass@1"] == pytest.approx((3 / 4 + 2 / 4) / 2)  # pass@k still uses every prompt


def test_binary_rewards_add_no_max_at_k_and_bad_correctness_is_named() -> None:
    m = exploration_metrics([1, 0, 1, 1], [0, 0, 1, 1], rewards=[1.0, 0.0, 1.0, 1.0])
    assert "max@1" not in m
    with pytest.raises(ValueError, match="sample 1 has 0.5"):
        as_correct(np.array([1.0, 0.5]))
    with pytest.raises(ValueError, match="index has 3 entries, the batch has 4 samples"):
        exploration_metrics([1, 0, 1, 1], [0, 0, 1])
    with pytest.raises(ValueError, match="needs correct="):
        exploration_metrics(None, [0, 0, 1])
    assert as_correct(torch.tensor([True, False])).tolist() == [True, False]
    assert exploration_metrics([], []) == {"prompts": 0.0, "samples": 0.0}


def test_tracker_pools_updates_like_one_batch() -> None:
    b = _metric_batch(seed=4)
    ref = exploration_metrics(b["ok"], b["group"], answers=b["answers"], rewards=b["rewards"], group_size=4)
    t = ExplorationTracker(group_size=4)
    cuts = [0, 50, 51, 170, b["ok"].size]  # a prompt's samples split over several updates
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        t.update(b["ok"][lo:hi], b["group"][lo:hi], answers=b["answers"][lo:hi], rewards=b["rewards"][lo:hi])
    assert t.compute() == ref
    t.reset()
    assert t.compute() == {"prompts": 0.0, "samples": 0.0}
    t.update([1, 0], ["a", "a"])
    with pytest.raises(ValueError, match="answers were not given in earlier updates"):
        t.update([1], ["b"], answers=["x"])
    with pytest.raises(ValueError, match="index has shape"):
        t.update([1, 0], ["b"])


def test_importing_the_core_imports_no_framework() -> None:
    code = ("import sys, passlens, passlens.integrations; "
            "print(sorted(m for m in ('torch', 'verl', 'trl', 'transformers', 'ray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
