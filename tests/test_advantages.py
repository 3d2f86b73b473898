"""Common invariance suite over the whole advantage REGISTRY, the registry API, the
numpy ↔ torch dispatch and input errors (the variance table: test_variance.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from passlens.advantages import (
    INPUTS,
    REGISTRY,
    AnswerCounts,
    advantage,
    format_spec,
    parse_spec,
    pkpo,
)
from passlens.advantages.passk import _pkpo_sorted

# Parameters each registry estimator is exercised with (every entry must be covered).
PARAMS: dict[str, list[dict[str, Any]]] = {
    "rloo": [{}],
    "grpo": [{}, {"ddof": 0, "eps": 0.0}],
    "dr_grpo": [{}],
    "pkpo": [{"k": 3, "variant": v} for v in ("s", "loo", "loo-1")] + [{"k": 1, "variant": "s"}],
    "passk_analytic": [{"k": 3}],
    "alpha_rloo": [{"k": 3}],
    "best_minus_second": [{}],
    "unlikeliness": [{}, {"beta": 0.9}],
    "novelty": [{"bonus": 0.3}, {"bonus": 0.3, "correct_only": False}],
    "coverage": [{"k": 3, "variant": v} for v in ("rloo", "loo-1", "s")] + [{"k": 1, "variant": "loo-1"}],
}
CASES = [(name, p) for name in REGISTRY for p in PARAMS[name]]
IDS = [format_spec(name, p) for name, p in CASES]


def test_every_registry_entry_is_exercised() -> None:
    assert set(PARAMS) == set(REGISTRY)


def _batch(name: str, B: int = 9, n: int = 6, seed: int = 0) -> dict[str, Any]:
    """A batch with ties in rewards and log-probs, and some answer classes shared."""
    rng = np.random.default_rng(seed)
    if REGISTRY[name].binary_only:
        rewards = (rng.random((B, n)) < 0.5).astype(np.float64)
    else:
        rewards = rng.choice([0.0, 0.25, 0.5, 1.0, -0.3], size=(B, n))
    answers = rng.integers(0, 3, size=(B, n))
    logprobs = -rng.choice([0.5, 1.0, 2.0, 3.5], size=(B, n)) - rng.integers(0, 2, size=(B, n))
    return {"rewards": rewards, "answers": answers, "logprobs": logprobs, "prompt_ids": list(range(100, 100 + B))}


def _history(prompt_ids: list[Any], n: int) -> AnswerCounts:
    """A non-empty novelty state (answers 0 and 1 seen before, 2 never)."""
    st = AnswerCounts()
    st.update(prompt_ids, np.tile(np.array([0, 0, 1] + [0] * (n - 3)), (len(prompt_ids), 1)))
    return st


def _call(name: str, params: dict[str, Any], batch: dict[str, Any], state: Any = None, **over: Any) -> Any:
    kw = dict(batch, **over)
    if "state" in REGISTRY[name].inputs and state is None:
        state = _history(list(kw["prompt_ids"]), np.shape(kw["rewards"])[-1])
    return advantage(
        name, kw["rewards"], answers=kw["answers"], logprobs=kw["logprobs"], state=state,
        prompt_ids=kw["prompt_ids"], **params,
    )


# --------------------------------------------------------------------------- invariances


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_permutation_equivariance(name: str, params: dict[str, Any]) -> None:
    batch = _batch(name)
    B, n = batch["rewards"].shape
    base = np.asarray(_call(name, params, batch))
    rng = np.random.default_rng(1)
    perm = np.argsort(rng.random((B, n)), axis=1)  # a different permutation per group
    shuffled = {key: np.take_along_axis(v, perm, axis=1) for key, v in batch.items() if key != "prompt_ids"}
    got = np.asarray(_call(name, params, dict(batch, **shuffled)))
    np.testing.assert_allclose(got, np.take_along_axis(base, perm, axis=1), rtol=0, atol=1e-12)
    assert np.abs(base).max() > 0  # the batch is not trivially zero


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_zero_reward_groups_get_zero(name: str, params: dict[str, Any]) -> None:
    batch = _batch(name)
    batch["rewards"][:] = 0.0
    batch["answers"][:] = 2  # never-seen answer: no novelty differences either
    assert (np.asarray(_call(name, params, batch)) == 0).all()


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_identical_samples(name: str, params: dict[str, Any]) -> None:
    """Groups of identical samples (same reward, answer, log-prob) get 0 exactly when the spec says so."""
    spec = REGISTRY[name]
    batch = _batch(name)
    B, n = batch["rewards"].shape
    batch["rewards"] = np.repeat(np.array([[1.0], [1.0], [0.5 if not spec.binary_only else 1.0]]), n, axis=1)
    batch["answers"] = np.full((3, n), 1)
    batch["logprobs"] = np.full((3, n), -2.0)
    batch["prompt_ids"] = [1, 2, 3]
    a = np.asarray(_call(name, params, batch))
    if spec.zero_on_identical(spec.resolve(params)):
        assert (np.abs(a) < 1e-12).all()
    else:
        assert (np.abs(a) > 1e-6).any()


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_vectorized_equals_loop_over_groups(name: str, params: dict[str, Any]) -> None:
    batch = _batch(name, B=7)
    full = np.asarray(_call(name, params, batch))
    state = _history(batch["prompt_ids"], batch["rewards"].shape[1])
    rows = []
    for b in range(7):
        one = {key: (v[b : b + 1] if key != "prompt_ids" else v[b : b + 1]) for key, v in batch.items()}
        rows.append(np.asarray(_call(name, params, one, state=state)))  # distinct prompts: one shared state is fine
    np.testing.assert_allclose(full, np.concatenate(rows), rtol=0, atol=1e-13)


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_numpy_torch_round_trip(name: str, params: dict[str, Any]) -> None:
    batch = _batch(name)
    ref = np.asarray(_call(name, params, batch))
    assert ref.dtype == np.float64
    for dtype, np_dtype, tol in ((torch.float64, np.float64, 1e-12), (torch.float32, np.float32, 1e-6)):
        t_in = {
            "rewards": torch.tensor(batch["rewards"], dtype=dtype),
            "answers": torch.tensor(batch["answers"]),
            "logprobs": torch.tensor(batch["logprobs"], dtype=dtype),
            "prompt_ids": torch.tensor(batch["prompt_ids"]),
        }
        out_t = _call(name, params, batch, **t_in)
        assert isinstance(out_t, torch.Tensor) and out_t.dtype == dtype and out_t.device == t_in["rewards"].device
        assert out_t.shape == ref.shape and not out_t.requires_grad
        np.testing.assert_allclose(out_t.numpy(), ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max()))
        out_n = np.asarray(_call(name, params, batch, rewards=batch["rewards"].astype(np_dtype)))
        assert out_n.dtype == np_dtype
        np.testing.assert_allclose(out_n, ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max()))


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_inputs_are_not_modified(name: str, params: dict[str, Any]) -> None:
    batch = _batch(name)
    keep = {key: np.array(v, copy=True) for key, v in batch.items()}
    _call(name, params, batch)
    t = torch.tensor(batch["rewards"])
    _call(name, params, batch, rewards=t)
    for key, v in keep.items():
        np.testing.assert_array_equal(batch[key], v)
    np.testing.assert_array_equal(t.numpy(), keep["rewards"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_round_trip() -> None:
    for name, params in CASES:
        batch = _batch(name)
        ref = np.asarray(_call(name, params, batch))
        for dtype, tol in ((torch.float32, 1e-6), (torch.float64, 1e-12)):
            r = torch.tensor(batch["rewards"], dtype=dtype, device="cuda")
            out = _call(name, params, batch, rewards=r, logprobs=torch.tensor(batch["logprobs"], device="cuda"),
                        answers=torch.tensor(batch["answers"], device="cuda"),
                        prompt_ids=torch.tensor(batch["prompt_ids"], device="cuda"))
            assert out.device == r.device and out.dtype == dtype, name
            np.testing.assert_allclose(out.cpu().numpy(), ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max()))


def test_half_precision_dtypes_are_kept() -> None:
    r = np.array([[1.0, 0.0, 0.5, 0.25]])
    ref = np.asarray(advantage("pkpo:k=2,variant=s", r))
    for dtype in (torch.float16, torch.bfloat16):
        out = advantage("pkpo:k=2,variant=s", torch.tensor(r, dtype=dtype))
        assert out.dtype == dtype
        np.testing.assert_allclose(out.float().numpy(), ref, rtol=1e-2)
    out = advantage("rloo", torch.tensor([[1, 0, 0]]))  # integer rewards → default float dtype
    assert out.dtype == torch.get_default_dtype()
    assert advantage("rloo", np.array([[1, 0, 0]])).dtype == np.float64


def test_torch_float16_is_rounded_once_from_float64() -> None:
    """A float16 result is the float64 result rounded once (numpy's cast through the numpy twin):
    torch's own float64 → float16 cast goes through float32 and can round twice."""
    from passlens.advantages._array import as_rewards

    v = np.array([[1 + 2**-11 + 2**-40, -(2049 + 2**-30)]])  # just past halfway between two float16s
    assert not np.array_equal(torch.from_numpy(v).to(torch.float16).numpy(), v.astype(np.float16))  # torch: twice
    for dtype in (torch.float16, torch.float32, torch.float64, torch.bfloat16):
        out = as_rewards(torch.zeros((1, 2), dtype=dtype))[1](v)
        assert isinstance(out, torch.Tensor) and out.dtype == dtype
        if dtype == torch.bfloat16:  # no numpy twin: torch's cast from float64
            want = torch.from_numpy(v).to(dtype)
        else:
            want = torch.from_numpy(v.astype(str(dtype).removeprefix("torch.")))
        assert torch.equal(out, want), dtype
    assert as_rewards(torch.zeros((1, 2), dtype=torch.float16))[1](v).tolist() == [[1.0009765625, -2050.0]]


def test_requires_grad_input_is_detached() -> None:
    r = torch.tensor([[1.0, 0.0, 1.0]], requires_grad=True)
    out = advantage("rloo", r)
    assert not out.requires_grad and out.dtype == torch.float32


def test_torch_is_imported_lazily() -> None:
    code = (
        "import sys, numpy as np\n"
        "from passlens.advantages import advantage, REGISTRY\n"
        "import passlens.lab.variance\n"
        "advantage('pkpo:k=2', np.array([[1.0, 0.0, 0.5]]))\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_shape_and_value_errors(name: str, params: dict[str, Any]) -> None:
    spec = REGISTRY[name]
    batch = _batch(name)
    B, n = batch["rewards"].shape
    with pytest.raises(ValueError, match="2-D"):
        _call(name, params, batch, rewards=batch["rewards"][0])
    with pytest.raises(ValueError, match="2-D"):
        _call(name, params, batch, rewards=batch["rewards"][None])
    for value in (np.nan, -np.inf, 1e308):  # 1e308: finite, but its differences overflow
        bad = batch["rewards"].copy()
        bad[4, 2] = value
        with pytest.raises(ValueError, match="finite and within ±1e\\+300 .*: group 4 .*sample 2"):
            _call(name, params, batch, rewards=bad)
    if "answers" in spec.inputs:
        with pytest.raises(ValueError, match="answers has shape"):
            _call(name, params, batch, answers=batch["answers"][:, :-1])
        with pytest.raises(ValueError, match="needs the input answers"):
            advantage(name, batch["rewards"], logprobs=batch["logprobs"], prompt_ids=batch["prompt_ids"], state=AnswerCounts(), **params)
    if "logprobs" in spec.inputs:
        with pytest.raises(ValueError, match="logprobs has shape"):
            _call(name, params, batch, logprobs=batch["logprobs"][:-1])
    if "prompt_ids" in spec.inputs:
        with pytest.raises(ValueError, match="prompt_ids has length"):
            _call(name, params, batch, prompt_ids=batch["prompt_ids"][:-1])
    if "k" in params:
        with pytest.raises(ValueError, match=f"k={n + 1} exceeds n={n}"):
            _call(name, dict(params, k=n + 1), batch)
        with pytest.raises(ValueError, match="k must be"):
            _call(name, dict(params, k=0), batch)
    if spec.binary_only:
        half = batch["rewards"].copy()
        half[3, 1] = 0.5
        with pytest.raises(ValueError, match=r"binary rewards.*group 3 .*sample 1"):
            _call(name, params, batch, rewards=half)


def test_variant_requirements() -> None:
    r = np.array([[1.0, 0.0, 0.3]])
    with pytest.raises(ValueError, match="loo' needs n > k"):
        pkpo(r, 3, variant="loo")
    with pytest.raises(ValueError, match="loo-1' needs k ≥ 2"):
        pkpo(r, 1, variant="loo-1")
    with pytest.raises(ValueError, match="needs n ≥ 2"):
        advantage("rloo", np.array([[1.0], [0.0]]))
    with pytest.raises(ValueError, match="must be one of"):
        advantage("pkpo", r, k=2, variant="bogus")


# --------------------------------------------------------------------------- registry API


def test_registry_specs_are_complete() -> None:
    for name, spec in REGISTRY.items():
        assert spec.name == name and callable(spec.fn)
        assert set(spec.inputs) <= set(INPUTS)
        assert spec.target and spec.source
        assert (spec.new_state is not None) == ("state" in spec.inputs)
        assert spec.fn.__doc__ and "Returns" in spec.fn.__doc__ and "(B, n)" in spec.fn.__doc__


def test_registry_order_and_registration_at_definition() -> None:
    from passlens.advantages import registry

    assert list(REGISTRY) == ["rloo", "grpo", "dr_grpo", "pkpo", "passk_analytic", "alpha_rloo",
                              "best_minus_second", "unlikeliness", "novelty", "coverage"]
    assert registry.REGISTRY is REGISTRY
    for name, spec in REGISTRY.items():  # each entry's function is the one its module defines
        assert getattr(sys.modules[spec.fn.__module__], spec.fn.__name__) is spec.fn


def test_register_rejects_a_second_name_and_metadata_that_does_not_match_the_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from passlens.advantages import registry
    from passlens.advantages.registry import Param, register

    entries = dict(registry._ENTRIES)
    monkeypatch.setattr(registry, "_ENTRIES", entries)  # registrations below go to a copy
    meta: dict[str, Any] = {"target": "t", "unbiased": False, "binary_only": False, "source": "s"}
    with pytest.raises(ValueError, match="'rloo' is already registered"):
        register("rloo", **meta)(lambda rewards: rewards)

    def shaped(rewards: Any, logprobs: Any, *, beta: float = 0.5) -> Any:
        return rewards

    with pytest.raises(TypeError, match="default of beta is 0.25 in the registry, 0.5 in shaped"):
        register("t1", inputs=("logprobs",), params=(Param("beta", float, 0.25),), **meta)(shaped)
    with pytest.raises(TypeError, match="default of beta"):
        register("t2", inputs=("logprobs",), params=(Param("beta", float),), **meta)(shaped)
    with pytest.raises(TypeError, match=r"must take \(rewards, answers, ...\)"):
        register("t3", inputs=("answers",), params=(Param("beta", float, 0.5),), **meta)(shaped)
    with pytest.raises(TypeError, match="do not match"):
        register("t4", inputs=("logprobs",), **meta)(shaped)
    with pytest.raises(TypeError, match="in the order"):
        register("t5", inputs=("state", "answers"), **meta)(lambda rewards, state, answers: rewards)
    assert entries.keys() == REGISTRY.keys()  # nothing added by the failures
    assert register("t6", inputs=("logprobs",), params=(Param("beta", float, 0.5),), **meta)(shaped) is shaped
    assert list(entries)[-1] == "t6" and entries["t6"].fn is shaped and "t6" not in REGISTRY


def test_unknown_and_missing_names_and_params() -> None:
    r = np.array([[1.0, 0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="unknown advantage estimator 'ppo'.*rloo.*pkpo.*coverage"):
        advantage("ppo", r)
    with pytest.raises(ValueError, match="unknown parameter.*kk.*accepted: k, variant"):
        advantage("pkpo", r, k=2, kk=3)
    with pytest.raises(ValueError, match="missing required parameter.*k"):
        advantage("pkpo", r)
    with pytest.raises(ValueError, match="must be int"):
        advantage("pkpo", r, k=2.5)
    with pytest.raises(ValueError, match="given both"):
        advantage("pkpo:k=2", r, k=3)
    with pytest.raises(ValueError, match="needs the input logprobs"):
        advantage("unlikeliness", r)


def test_parse_spec() -> None:
    assert parse_spec("pkpo:k=8,variant=loo-1") == ("pkpo", {"k": 8, "variant": "loo-1"})
    assert parse_spec(" rloo ") == ("rloo", {})
    assert parse_spec("grpo:eps=0,ddof=0") == ("grpo", {"eps": 0.0, "ddof": 0})
    assert parse_spec("novelty:correct_only=false,bonus=1e-2") == ("novelty", {"correct_only": False, "bonus": 0.01})
    assert parse_spec("pkpo:variant=s") == ("pkpo", {"variant": "s"})  # k may come later
    for bad, msg in [
        ("nope:k=1", "unknown advantage estimator"),
        ("pkpo:k=eight", "k must be int"),
        ("pkpo:k", "expected key=value"),
        ("pkpo:k=2,k=3", "given twice"),
        ("pkpo:q=2", "unknown parameter 'q'"),
        ("pkpo:k=2,variant=loo2", "must be one of"),
        ("novelty:update=maybe", "must be bool"),
    ]:
        with pytest.raises(ValueError, match=msg):
            parse_spec(bad)
    for name, params in CASES:
        assert parse_spec(format_spec(name, params)) == (name, params)
    for name, params, msg in [
        ("pkpo", {"variant": "a,b"}, "cannot be written in a spec"),
        ("grpo", {"foo": 1}, "unknown parameter 'foo'"),
        ("pkpo", {"variant": "bogus"}, "must be one of"),
        ("pkpo", {"k": 2.5}, "k must be int"),
    ]:
        with pytest.raises(ValueError, match=msg):
            format_spec(name, params)
    r = np.array([[1.0, 0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(advantage("pkpo:k=2,variant=s", r), pkpo(r, 2, variant="s"))


def test_spec_defaults_match_function_defaults() -> None:
    import inspect

    for name, spec in REGISTRY.items():
        sig = inspect.signature(spec.fn)
        for p in spec.params:
            default = sig.parameters[p.name].default
            if p.required:
                assert default is inspect.Parameter.empty, (name, p.name)
            else:
                assert default == p.default, (name, p.name)


# --------------------------------------------------------------------------- numerics at scale


def test_large_n_is_finite_and_paths_agree() -> None:
    """n = 4096 with k = 1024: binomials far beyond float64 (C(4096, 1024) ≈ 10⁹⁷⁹) never formed."""
    rng = np.random.default_rng(0)
    r = (rng.random((4, 4096)) < np.array([[0.001], [0.05], [0.5], [0.99]])).astype(float)
    for k in (1024, 4096):
        a = np.asarray(pkpo(r, k, variant="loo-1"))
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, _pkpo_sorted(r, k, "loo-1"), rtol=1e-8, atol=1e-8 * np.abs(a).max())
        for name in ("alpha_rloo", "passk_analytic", "coverage"):
            out = np.asarray(advantage(name, r, answers=rng.integers(0, 50, size=r.shape), k=k))
            assert np.isfinite(out).all()


# --------------------------------------------------------------------------- fast paths vs loops


def test_tables_match_math_comb() -> None:
    import math

    from passlens.advantages._tables import avoid_table, rank_weights

    for N in range(0, 15):
        for kappa in range(0, N + 1):
            want = [math.comb(N - m, kappa) / math.comb(N, kappa) for m in range(N + 1)]
            np.testing.assert_allclose(avoid_table(N, kappa), want, rtol=1e-13, atol=0)
            if kappa >= 1:
                w = [math.comb(r - 1, kappa - 1) / math.comb(N, kappa) for r in range(1, N + 1)]
                np.testing.assert_allclose(rank_weights(N, kappa), w, rtol=1e-13, atol=0)
    assert not avoid_table(9, 3).flags.writeable  # memoised tables cannot be corrupted


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(st.lists(st.integers(-3, 3), min_size=6, max_size=6), min_size=1, max_size=5),
)
def test_rank_factors_match_loop_on_small_integers(rows: list[list[int]]) -> None:
    """The rank table indexed by each value's min-rank #{j : x_j < x_i}, ties sharing the lowest."""
    from passlens.advantages.exploration import _rank_factors

    x = np.array(rows, dtype=float)
    fac = np.arange(x.shape[1], dtype=float) ** 2 + 0.5  # any table; a non-identity one checks the lookup
    want = [[fac[sum(v < xi for v in row)] for xi in row] for row in rows]
    np.testing.assert_array_equal(_rank_factors(x, fac), want)


@pytest.mark.parametrize("kind", ["distinct", "ties", "near ties", "negative ties"])
def test_rank_factors_match_loop(kind: str) -> None:
    """unlikeliness' factor table read at each sample's min-rank: fast (no ties) and tie paths vs a loop."""
    from passlens.advantages.exploration import _rank_factors

    rng = np.random.default_rng(5)
    B, n = 30, 16
    x = rng.normal(-20.0, 5.0, size=(B, n))
    if kind == "ties":  # repeated completions: a few distinct values per row
        x = np.take_along_axis(rng.normal(-20.0, 5.0, size=(B, 4)), rng.integers(0, 4, size=(B, n)), axis=1)
    elif kind == "near ties":  # values equal but for their last bits (the packed keys cannot tell them apart)
        x[:, ::2] = 0.1 + 0.2
        x[:, 1::2] = 0.3
    elif kind == "negative ties":
        x = -np.abs(np.round(x))
    fac = rng.random(n)
    want = [[fac[sum(v < xi for v in row)] for xi in row] for row in x.tolist()]
    np.testing.assert_array_equal(_rank_factors(x, fac), want)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(2, 9), st.data())
def test_pkpo_row_identities(n: int, data: st.DataObject) -> None:
    """Σ_i A^s_i / n = k·max@k estimate; loo-1 ≥ 0 and monotone in the reward; binary == sorted path."""
    from passlens.advantages.passk import _pkpo_binary
    from passlens.estimators import max_at_k

    g = np.array([data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, -1.0]), min_size=n, max_size=n))])
    k = data.draw(st.integers(1, n))
    a_s = np.asarray(pkpo(g, k, variant="s"))
    np.testing.assert_allclose(a_s.mean(), k * max_at_k(g, k)[0], rtol=1e-12, atol=1e-12)
    if k >= 2:
        a1 = np.asarray(pkpo(g, k, variant="loo-1"))[0]
        assert (a1 >= 0).all()
        order = np.argsort(g[0], kind="stable")
        assert (np.diff(a1[order]) >= -1e-12).all()
    b = (g > 0.7).astype(float)
    for variant in ("s", "loo", "loo-1"):
        if (variant == "loo" and k >= n) or (variant == "loo-1" and k < 2):
            continue
        np.testing.assert_allclose(_pkpo_binary(b, k, variant), _pkpo_sorted(b, k, variant), atol=1e-12)


def test_answer_counts_match_a_dict_loop() -> None:
    """Vectorized AnswerCounts vs a plain dict, over steps with repeated prompts in a batch and discounting."""
    rng = np.random.default_rng(12)
    fast = AnswerCounts(discount=0.9)
    ref: dict[tuple[Any, int], float] = {}
    pool = [0, 1, "a", "b", 7]
    for step in range(6):
        ids = [pool[i] for i in rng.integers(0, len(pool), size=4)]
        ans = rng.integers(-2, 4, size=(4, 5)) * (10**12 if step % 2 else 1)  # small and huge ids
        probe = ans.copy()
        probe[0, 0] = 99  # never seen
        want = np.array([[ref.get((p, int(x)), 0.0) for x in row] for p, row in zip(ids, probe)])
        np.testing.assert_allclose(fast.counts(ids, probe), want, rtol=1e-12)
        fast.update(ids, ans)
        ref = {key: 0.9 * v for key, v in ref.items()}
        for p, row in zip(ids, ans):
            for x in row:
                ref[(p, int(x))] = ref.get((p, int(x)), 0.0) + 1.0
    snap = fast.state_dict()
    got = {(p, a): c for p, a, c in zip(snap["prompt_ids"], snap["answers"], snap["counts"])}
    assert got.keys() == ref.keys()
    for key in ref:
        assert got[key] == pytest.approx(ref[key], rel=1e-12)


def test_grpo_adds_its_default_epsilon_to_the_std() -> None:
    """A = (r − r̄)/(std(r, ddof=1) + 1e-6): ε outside the square root (as verl and TRL), visible on a tiny spread."""
    r = np.array([[0.0, 0.0, 0.0, 1e-3], [0.0, 1.0, 1.0, 0.0]])
    want = (r - r.mean(axis=1, keepdims=True)) / (r.std(axis=1, ddof=1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(advantage("grpo", r), want, rtol=1e-12)


def test_coverage_names_in_exploration_are_deprecated_aliases() -> None:
    import passlens.advantages.exploration as exploration

    for name in ("coverage", "coverage_at_k"):
        with pytest.warns(DeprecationWarning, match=f"moved to passlens.advantages.coverage.{name}"):
            assert getattr(exploration, name) is getattr(sys.modules["passlens.advantages"], name)
    with pytest.raises(AttributeError, match=r"^module 'passlens\.advantages\.exploration' has no attribute 'no_such_name'$"):
        exploration.no_such_name  # noqa: B018


# --------------------------------------------------------------------------- pkpo's two paths


def test_is_binary_reads_every_reward_after_the_first_64() -> None:
    """The binary closed forms are taken only when every reward is 0 or 1, not just the first 64."""
    from passlens.advantages.passk import _is_binary

    assert _is_binary(np.array([[0.0, 1.0, 1.0, 0.0]]))
    assert _is_binary(np.zeros((2, 3))) and _is_binary(np.ones((2, 3)))
    assert not _is_binary(np.array([[0.0, 0.5, 1.0]]))
    head = np.tile([[1.0, 0.0, 1.0, 1.0]], (16, 1))  # 64 binary rewards first
    for late in ([0.5, 0.2, 0.3, 0.7], [1.0, 0.0, 2.0, 1.0], [0.0, 0.0, 0.0, 0.25]):
        r = np.vstack([head, [late]])
        assert _is_binary(np.vstack([head, head]))
        assert not _is_binary(r)
        for variant in ("s", "loo", "loo-1"):
            got = np.asarray(pkpo(r, 2, variant=variant))
            want = np.vstack([_pkpo_sorted(row[None, :], 2, variant) for row in r])  # one group at a time
            np.testing.assert_array_equal(got, want)


def test_pkpo_variant_errors_word_for_word() -> None:
    r = np.array([[1.0, 0.0, 0.3]])
    with pytest.raises(ValueError) as info:
        pkpo(r, 2, variant="bogus")  # type: ignore[arg-type]
    assert str(info.value) == "pkpo: variant must be one of s, loo, loo-1; got 'bogus'"
    with pytest.raises(ValueError) as info:
        pkpo(r, 1, variant="loo-1")
    assert str(info.value) == (
        "pkpo: variant 'loo-1' needs k ≥ 2 (its baseline uses k − 1 samples); for k = 1 use 'loo' or rloo"
    )


def test_pkpo_binary_overwrites_its_input_only_when_asked() -> None:
    """inplace=True builds the result in r's own buffer (no fresh (B, n) array); inplace=False leaves r alone."""
    from passlens.advantages.passk import _pkpo_binary

    r0 = np.array([[1.0, 0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    for variant in ("s", "loo", "loo-1"):
        r = r0.copy()
        want = _pkpo_binary(r, 3, variant)
        np.testing.assert_array_equal(r, r0)
        got = _pkpo_binary(r, 3, variant, inplace=True)
        assert got is r
        np.testing.assert_array_equal(got, want)


def test_pkpo_sorted_copies_float32_and_fortran_input() -> None:
    """Not in place, the sorted path works on its own C-ordered float64 copy of any input."""
    rng = np.random.default_rng(3)
    x = np.asfortranarray(rng.normal(size=(6, 7)).astype(np.float32))
    x0 = x.copy()
    for variant in ("s", "loo", "loo-1"):
        got = _pkpo_sorted(x, 3, variant)
        np.testing.assert_array_equal(x, x0)
        assert got.dtype == np.float64 and got.flags.c_contiguous
        want = _pkpo_sorted(np.ascontiguousarray(x, dtype=np.float64), 3, variant)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got, np.asarray(pkpo(x.astype(np.float64), 3, variant=variant)))


def test_coverage_at_k_names_itself_in_its_errors() -> None:
    from passlens.advantages import coverage_at_k

    r, a = np.array([[1.0, 0.0, 1.0]]), np.array([[0, 1, 0]])
    for k, rewards, answers, message in (
        (0, r, a, "coverage_at_k: k must be ≥ 1, got 0"),
        (2, np.array([[1.0, 0.5, 1.0]]), a, "coverage_at_k needs binary rewards in {0, 1}: group 0 (row 0), sample 1 has reward 0.5"),
        (2, r, None, "coverage_at_k needs answers= (int (B, n) answer-class ids)"),
    ):
        with pytest.raises(ValueError) as info:
            coverage_at_k(rewards, answers, k)
        assert str(info.value) == message


def test_centring_shifts_by_a_sample_so_differences_stay_exact() -> None:
    """r − r̄ after subtracting the first sample: differences of nearby large rewards are exact (Sterbenz)."""
    from passlens.advantages import dr_grpo, grpo, rloo

    r = np.array([[1e16, 1e16 + 2.0, 1e16 + 4.0], [0.5, 0.5, 0.5]])
    np.testing.assert_array_equal(np.asarray(dr_grpo(r)), [[-2.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(np.asarray(rloo(r)), [[-3.0, 0.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(np.asarray(grpo(r, eps=0.0)), [[-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])


def test_grpo_with_zero_epsilon_normalises_the_other_groups() -> None:
    """ε = 0 beside a constant group: that group gets 0 and every other one is still divided by its std."""
    from passlens.advantages import grpo

    r = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 2.0], [3.0, 3.0, 3.0, 3.0]])
    with np.errstate(all="raise"):
        got = np.asarray(grpo(r, eps=0.0, ddof=0))
    s = np.sqrt(0.5)  # population std of (0, 1, 1, 2)
    np.testing.assert_array_equal(got, [[0.0] * 4, [-1.0 / s, 0.0, 0.0, 1.0 / s], [0.0] * 4])


def test_grpo_parameter_errors_word_for_word() -> None:
    from passlens.advantages import grpo

    r = np.array([[1.0, 0.0, 1.0]])
    for kwargs, message in (
        ({"ddof": 2}, "grpo: ddof must be 0 or 1, got 2"),
        ({"ddof": True}, "grpo: ddof must be 0 or 1, got True"),
        ({"ddof": -1}, "grpo: ddof must be 0 or 1, got -1"),
        ({"eps": "x"}, "grpo: eps must be a float, got 'x'"),
        ({"eps": None}, "grpo: eps must be a float, got None"),
        ({"eps": -1e-9}, "grpo: eps must be a finite float ≥ 0, got -1e-09"),
        ({"eps": float("inf")}, "grpo: eps must be a finite float ≥ 0, got inf"),
        ({"eps": float("nan")}, "grpo: eps must be a finite float ≥ 0, got nan"),
    ):
        with pytest.raises(ValueError) as info:
            grpo(r, **kwargs)
        assert str(info.value) == message


def test_input_checks_word_for_word() -> None:
    """Every input check of the estimators names what is wrong and where, in one line."""
    from passlens.advantages._array import MAX_REWARD, as_answers, as_logprobs, as_rewards, check_k

    def error(fn: Any, *args: Any) -> str:
        with pytest.raises(ValueError) as info:
            fn(*args)
        return str(info.value)

    for shape in ((0, 3), (3, 0)):
        assert error(as_rewards, np.zeros(shape)) == (
            f"rewards must hold at least one group of at least one sample, got shape {shape}")
    assert error(as_rewards, np.array([["a", "b"]])) == "rewards must be numeric, got dtype <U1"
    edge = np.array([[MAX_REWARD, -MAX_REWARD]])  # the bound itself is allowed
    np.testing.assert_array_equal(as_rewards(edge)[0], edge)
    assert error(as_rewards, np.array([[MAX_REWARD, np.inf]])) == (
        "rewards must be finite and within ±1e+300 (differences of larger ones overflow): "
        "group 0 (row 0), sample 1 has reward inf")
    assert error(check_k, "2", 4, "est") == "est: k must be an integer, got '2'"
    assert error(check_k, True, 4, "est") == "est: k must be an integer, got True"

    shape = (2, 2)
    assert error(as_answers, None, shape, "est") == "est needs answers= (int (B, n) answer-class ids)"
    assert error(as_answers, np.zeros((2, 3), dtype=int), shape, "est") == (
        "answers has shape (2, 3), rewards has shape (2, 2); they must match")
    assert error(as_answers, np.zeros(shape), shape, "est") == "answers must be integer answer-class ids, got dtype float64"
    big = np.array([[0, 1], [2, 2**63]], dtype=np.uint64)
    assert error(as_answers, big, shape, "est") == "answers must fit in int64"
    for ok in (np.array([[0, 200], [3, 255]], dtype=np.uint8), np.array([[0, 1], [2, 2**63 - 1]], dtype=np.uint64)):
        got = as_answers(ok, shape, "est")
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, ok.astype(np.int64))

    assert error(as_logprobs, None, shape, "est") == "est needs logprobs= (float (B, n) sequence log-probabilities)"
    assert error(as_logprobs, np.zeros((1, 2)), shape, "est") == (
        "logprobs has shape (1, 2), rewards has shape (2, 2); they must match")
    assert error(as_logprobs, np.array([["a", "b"], ["c", "d"]]), shape, "est") == (
        "logprobs must be numeric, got dtype <U1")
    for bad, where, shown in (([[0.0, 1.0], [2.0, np.nan]], "group 1 (row 1), sample 1", "nan"),
                              ([[0.0, -np.inf], [np.inf, 0.0]], "group 0 (row 0), sample 1", "-inf")):
        assert error(as_logprobs, np.array(bad), shape, "est") == f"logprobs must be finite: {where} has logprob {shown}"
    ints = as_logprobs(np.array([[-1, -2], [-3, -4]]), shape, "est")
    assert ints.dtype == np.float64
    np.testing.assert_array_equal(ints, [[-1.0, -2.0], [-3.0, -4.0]])


# --------------------------------------------------------------------------- each estimator's own checks


ONE_SAMPLE, HALF = np.array([[1.0], [0.0]]), np.array([[1.0, 0.5, 1.0]])


@pytest.mark.parametrize("call,who", [
    (lambda r: advantage("rloo", r), "rloo"),
    (lambda r: advantage("grpo", r), "grpo"),
    (lambda r: advantage("dr_grpo", r), "dr_grpo"),
    (lambda r: advantage("alpha_rloo", r, k=1), "alpha_rloo"),
    (lambda r: advantage("best_minus_second", r), "best_minus_second"),
])
def test_min_n_errors_name_the_estimator(call: Any, who: str) -> None:
    with pytest.raises(ValueError) as info:
        call(ONE_SAMPLE)
    assert str(info.value) == f"{who} needs n ≥ 2 samples per group, got n=1"


@pytest.mark.parametrize("name,extra", [("pkpo", {"variant": "s"}), ("passk_analytic", {}), ("alpha_rloo", {}),
                                        ("coverage", {"answers": np.array([[0, 1, 0]])})])
def test_k_and_binary_errors_name_the_estimator(name: str, extra: dict[str, Any]) -> None:
    r = np.array([[1.0, 0.0, 1.0]])
    with pytest.raises(ValueError) as info:
        advantage(name, r, k=0, **extra)
    assert str(info.value) == f"{name}: k must be ≥ 1, got 0"
    with pytest.raises(ValueError) as info:
        advantage(name, r, k=4, **extra)
    assert str(info.value) == f"{name}: k=4 exceeds n=3 samples per group; no unbiased estimate exists for k > n"
    if REGISTRY[name].binary_only:
        with pytest.raises(ValueError) as info:
            advantage(name, HALF, k=2, **extra)
        assert str(info.value) == (
            f"{name} needs binary rewards in {{0, 1}}: group 0 (row 0), sample 1 has reward 0.5")


def test_coverage_errors_word_for_word() -> None:
    from passlens.advantages import coverage

    r, a = np.array([[1.0, 0.0, 1.0]]), np.array([[0, 1, 0]])
    with pytest.raises(ValueError) as info:
        coverage(r, a, 2, variant="bogus")  # type: ignore[arg-type]
    assert str(info.value) == "coverage: variant must be one of rloo, loo-1, s; got 'bogus'"
    with pytest.raises(ValueError) as info:
        coverage(r, None, 2)
    assert str(info.value) == "coverage needs answers= (int (B, n) answer-class ids)"
    with pytest.raises(ValueError) as info:
        coverage(np.array([[1.0], [0.0]]), np.array([[0], [0]]), 1)
    assert str(info.value) == "coverage (variant 'rloo') needs n ≥ 2 samples per group, got n=1"
    for variant in ("loo-1", "s"):  # need no leave-one-out baseline: n = 1 is fine
        np.testing.assert_array_equal(coverage(np.array([[1.0], [0.0]]), np.array([[0], [0]]), 1, variant=variant),
                                      [[1.0], [0.0]])


def test_estimators_work_at_their_minimum_n() -> None:
    from passlens.advantages import alpha_rloo, best_minus_second, coverage, dr_grpo, grpo, rloo

    r = np.array([[0.25, 1.0], [1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(rloo(r), [[-0.75, 0.75], [0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(dr_grpo(r), [[-0.375, 0.375], [0.0, 0.0], [0.0, 0.0]])
    s = 0.75 / np.sqrt(2.0)  # std of (0.25, 1), ddof = 1
    np.testing.assert_allclose(grpo(r), [[-0.375 / (s + 1e-6), 0.375 / (s + 1e-6)], [0.0, 0.0], [0.0, 0.0]], rtol=1e-15)
    np.testing.assert_array_equal(best_minus_second(r), [[0.0, 1.5], [0.0, 0.0], [0.0, 0.0]])
    b = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    # α̂_{−i}(r_i − c_{−i}), α̂_{−i} = k·C(1 − c_{−i}, k − 1): k = 2 keeps a correct sample's 2 beside a wrong one.
    np.testing.assert_array_equal(alpha_rloo(b, 2), [[2.0, 0.0], [0.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(alpha_rloo(b, 1), rloo(b))
    # Two correct samples: one class of two gets nothing at k = 2, two classes get 2 each (each is new).
    a = np.array([[0, 0], [4, 4], [3, 3], [0, 1]])
    np.testing.assert_array_equal(coverage(b, a, 2), [[2.0, 0.0], [0.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(coverage(b, np.array([[0, 0], [4, 4], [3, 5], [0, 1]]), 2)[2], [2.0, 2.0])
    np.testing.assert_array_equal(coverage(b, a, 1), rloo(b))


def test_defaults_of_pkpo_coverage_and_passk_analytic() -> None:
    from passlens.advantages import coverage, passk_analytic

    rng = np.random.default_rng(5)
    b = (rng.random((6, 5)) < 0.5).astype(float)
    a = rng.integers(0, 3, size=b.shape)
    for r in (b, rng.normal(size=(6, 5))):
        np.testing.assert_array_equal(pkpo(r, 3), pkpo(r, 3, variant="loo-1"))
    np.testing.assert_array_equal(coverage(b, a, 3), coverage(b, a, 3, variant="rloo"))
    # c = 1 of n = 400 at k = 1: σ = √(ρ(1 − ρ)) ≈ 0.05, so ε = 1e-6 moves A by ~2·10⁻⁵ relative, far above rounding.
    r = np.zeros((1, 400))
    r[0, 0] = 1.0
    rho = 1 / 400
    want = np.where(r == 1.0, 1 - rho, -rho) / (np.sqrt(rho * (1 - rho)) + 1e-6)
    np.testing.assert_allclose(passk_analytic(r, 1), want, rtol=1e-12)
    assert not np.allclose(passk_analytic(r, 1, eps=0.0), want, rtol=1e-6, atol=0)
    np.testing.assert_array_equal(passk_analytic(b, 3), passk_analytic(b, 3, eps=1e-6))


def test_passk_analytic_eps_checks_and_zero_eps() -> None:
    from passlens.advantages import passk_analytic

    r = np.array([[1.0, 0.0, 1.0]])
    for eps, shown in ((-1.0, "-1.0"), (-1e-9, "-1e-09"), (float("inf"), "inf"), (float("nan"), "nan")):
        with pytest.raises(ValueError) as info:
            passk_analytic(r, 2, eps=eps)
        assert str(info.value) == f"passk_analytic: eps must be a finite float ≥ 0, got {shown}"
    # ε = 0: groups with R̄ ∈ {0, 1} (σ = 0) get exactly 0, however many, beside groups with a signal.
    rng = np.random.default_rng(2)
    big = np.repeat(np.array([[0.0] * 8, [1.0] * 8, [1.0] + [0.0] * 7]), 50, axis=0)[rng.permutation(150)]
    for k in (1, 3, 7):  # (k = 8 = n would give R̄ = 1 to the c = 1 groups too)
        with np.errstate(all="raise"), warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. numpy's warning on a ``where`` without ``out`` (uninitialised 1/σ)
            got = np.asarray(passk_analytic(big, k, eps=0.0))
        flat = (big == big[:, :1]).all(axis=1)
        assert (got[flat] == 0.0).all() and not np.signbit(got[flat]).any()
        np.testing.assert_allclose(got[~flat], np.asarray(passk_analytic(big[~flat], k, eps=0.0)), rtol=0)
        assert (got[~flat] != 0.0).any()


def test_memoised_weight_tables_are_read_only() -> None:
    from passlens.advantages._tables import avoid_table, rank_weights
    from passlens.advantages.passk import _loo_suffix_weights, _s_suffix_weights

    # Shared cached arrays: a caller writing into one would corrupt every later result.
    for table in (avoid_table(9, 3), avoid_table(9, 0), rank_weights(7, 3), rank_weights(7, 1),
                  _s_suffix_weights(7, 3), _loo_suffix_weights(7, 3), _loo_suffix_weights(7, 1)):
        assert table.flags.writeable is False
        with pytest.raises(ValueError, match="read-only"):
            table[0] = 1.0


def test_binary_pkpo_takes_the_closed_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    """{0, 1} batches never sort (O(B·n)): the sorted path is only for other rewards."""
    import passlens.advantages.passk as passk

    r = np.array([[1.0, 0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    want = {v: np.asarray(pkpo(r, 3, variant=v)) for v in ("s", "loo", "loo-1")}

    def no_sort(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("binary rewards were sorted")

    monkeypatch.setattr(passk, "_pkpo_sorted", no_sort)
    for v, a in want.items():
        np.testing.assert_array_equal(pkpo(r, 3, variant=v), a)
    with pytest.raises(AssertionError, match="sorted"):
        pkpo(np.array([[1.0, 0.5, 0.0]]), 2)


# --------------------------------------------------------------------------- unlikeliness: ranks, defaults, errors


def _min_rank_reference(x: np.ndarray, fac: np.ndarray) -> np.ndarray:
    """fac at each value's min-rank #{j : x_bj < x_bi}, by a binary search in the sorted row."""
    return np.stack([fac[np.searchsorted(np.sort(row), row, side="left")] for row in x])


def test_rank_factors_of_groups_over_2_to_the_20_take_argsort() -> None:
    """n > 2²⁰ samples per group: the packed keys have no room for the column index, so each row is
    argsorted; ties (a few hundred distinct values per row) share the lowest rank, rows stay apart."""
    from passlens.advantages.exploration import _rank_factors

    rng = np.random.default_rng(11)
    from passlens.advantages._array import packed_order

    B, n = 3, 2**20 + 1
    x = -rng.integers(0, 300, size=(B, n)).astype(float) - np.array([[0.0], [0.5], [0.25]])  # rows differ
    fac = rng.random(n)
    assert packed_order(x, check_distinct=True, transposed=False) is None  # the path under test: no packed keys
    np.testing.assert_array_equal(_rank_factors(x, fac), _min_rank_reference(x, fac))


def test_rank_factors_resort_a_later_row_misordered_past_its_first_slot() -> None:
    """Values equal but for their last bit can come out of the packed sort misordered; the check must
    compare neighbours (not the row's first value) and re-sort the right row (here the third of three)."""
    from passlens.advantages.exploration import _rank_factors

    lo = np.nextafter(-2.0, -np.inf)  # −2 − 1 ulp: its key equals −2's above the 2 index bits of n = 4
    x = np.array([[-9.0, -3.0, -2.5, -1.0], [-1.0, -4.0, -8.0, -6.0], [-9.0, -2.0, lo, -1.0]])
    from passlens.advantages._array import packed_order

    fac = np.array([10.0, 20.0, 30.0, 40.0])
    want = [[10.0, 20.0, 30.0, 40.0], [40.0, 30.0, 10.0, 20.0], [10.0, 30.0, 20.0, 40.0]]
    packed = packed_order(x, check_distinct=True, transposed=False)
    assert packed is not None
    xs = x.ravel()[packed[0]]  # the path under test: the packed sort misorders the third row only
    assert (xs[:, 1:] < xs[:, :-1]).any(axis=1).tolist() == [False, False, True]
    np.testing.assert_array_equal(_min_rank_reference(x, fac), want)
    np.testing.assert_array_equal(_rank_factors(x, fac), want)


def test_unlikeliness_at_n_2_by_hand_and_its_default_beta() -> None:
    """n = 2: the likelier correct sample gets rank 1, factor 1 − β/2; a tie shares rank 0 (factor 1)."""
    from passlens.advantages import unlikeliness

    r, lp = np.array([[1.0, 0.0]]), np.array([[-1.0, -2.0]])
    s = 1.0 - 0.25 / 2  # 0.875: sample 0 is the likelier one
    want = np.array([[1.0, -1.0]]) * (s / 2) / (s / 2 * np.sqrt(2.0) + 1e-6)  # GRPO of (s, 0), ddof 1, ε 1e-6
    np.testing.assert_allclose(unlikeliness(r, lp), want, rtol=1e-14)  # the default β = 0.25
    np.testing.assert_allclose(unlikeliness(r, lp, beta=0.25), want, rtol=1e-14)
    # Two correct samples with tied log-probabilities: both factor 1, no spread, A = 0 exactly.
    np.testing.assert_array_equal(unlikeliness(np.array([[1.0, 1.0]]), np.array([[-1.0, -1.0]]), beta=0.5), [[0.0, 0.0]])


def test_unlikeliness_errors_name_it_word_for_word() -> None:
    import re

    from passlens.advantages import unlikeliness

    r, lp = np.array([[1.0, 0.0, 1.0]]), np.array([[-1.0, -2.0, -3.0]])
    cases = [
        (lambda: unlikeliness(np.ones((2, 1)), np.zeros((2, 1))), "unlikeliness needs n ≥ 2 samples per group, got n=1"),
        (lambda: unlikeliness(r, None), "unlikeliness needs logprobs= (float (B, n) sequence log-probabilities)"),
        (lambda: unlikeliness(r, lp, beta=-1.0), "unlikeliness: beta must be a finite float ≥ 0, got -1.0"),
        (lambda: unlikeliness(r, lp, beta=-1e-9), "unlikeliness: beta must be a finite float ≥ 0, got -1e-09"),
        (lambda: unlikeliness(r, lp, beta=float("inf")), "unlikeliness: beta must be a finite float ≥ 0, got inf"),
        (lambda: unlikeliness(r, lp, beta=float("nan")), "unlikeliness: beta must be a finite float ≥ 0, got nan"),
        (lambda: unlikeliness(r, lp, eps=-1.0), "unlikeliness: eps must be a finite float ≥ 0, got -1.0"),
        (lambda: unlikeliness(r, lp, ddof=2), "unlikeliness: ddof must be 0 or 1, got 2"),
    ]
    for call, msg in cases:
        with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
            call()


@pytest.mark.skipif("MUTANT_UNDER_TEST" in os.environ,  # set by mutmut, even to "" for its clean run
                    reason="mutmut's trampoline adds a frame between the caller and __getattr__")
def test_exploration_deprecation_warnings_point_at_the_caller() -> None:
    """stacklevel=2: the warning names the line that used the old name, not exploration.py."""
    import passlens.advantages.exploration as exploration

    with pytest.warns(DeprecationWarning) as rec:
        exploration.coverage_at_k  # noqa: B018
    assert [w.filename for w in rec] == [__file__]


# --------------------------------------------------------------------------- the registry: entries, specs, messages


def test_register_stores_every_field_and_refuses_reserved_parameter_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from passlens.advantages import registry
    from passlens.advantages.registry import REQUIRED, Param, register
    from passlens.advantages.registry import K as K_PARAM

    entries = dict(registry._ENTRIES)
    monkeypatch.setattr(registry, "_ENTRIES", entries)  # registrations below go to a copy
    assert repr(REQUIRED) == "REQUIRED"

    def zero_if(params: Any) -> bool:
        return False

    def make_state() -> dict[str, int]:
        return {}

    def est(rewards: Any, answers: Any, state: Any, *, k: int, beta: float = 0.5) -> Any:
        return rewards

    beta = Param("beta", float, 0.5)
    register("t_fields", target="the target", unbiased=True, binary_only=True, source="the source",
             inputs=["answers", "state"], params=[K_PARAM, beta], zero_on_identical=zero_if,
             new_state=make_state)(est)
    spec = entries["t_fields"]
    assert (spec.name, spec.fn, spec.inputs, spec.params) == ("t_fields", est, ("answers", "state"), (K_PARAM, beta))
    assert (spec.target, spec.unbiased, spec.binary_only, spec.source) == ("the target", True, True, "the source")
    assert spec.zero_on_identical is zero_if and spec.new_state is make_state
    assert spec.required == ("k",) and spec.defaults == {"beta": 0.5}
    meta: dict[str, Any] = {"target": "t", "unbiased": False, "binary_only": False, "source": "s"}
    register("t_plain", **meta)(lambda rewards: rewards)
    assert entries["t_plain"].zero_on_identical({}) is True and entries["t_plain"].new_state is None

    def stepped(rewards: Any, *, steps: int = 3, step: int = 0) -> Any:
        return rewards

    msg = ("register 't_step': parameter name(s) step, steps are reserved "
           "(composite specs and advantage() use them)")
    with pytest.raises(TypeError) as info:
        register("t_step", params=(Param("steps", int, 3), Param("step", int, 0)), **meta)(stepped)
    assert str(info.value) == msg
    assert "t_step" not in entries


def test_registry_messages_word_for_word() -> None:
    cases: list[tuple[Any, str]] = [
        (lambda: parse_spec(3), "spec must be a string, got int"),
        (lambda: parse_spec("pkpo:variant=a=b"), "pkpo: parameter variant must be one of ['s', 'loo', 'loo-1'], got 'a=b'"),
        (lambda: parse_spec("rloo:x=1"), "rloo: unknown parameter 'x'; accepted: none"),
        (lambda: parse_spec("pkpo:q=1"), "pkpo: unknown parameter 'q'; accepted: k, variant"),
        (lambda: parse_spec("pkpo:k=eight"), "pkpo: parameter k must be int, got 'eight'"),
        (lambda: format_spec("rloo", {"x": 1}), "rloo: unknown parameter 'x'; accepted: none"),
        (lambda: format_spec("pkpo", {"q": 1}), "pkpo: unknown parameter 'q'; accepted: k, variant"),
        (lambda: format_spec("pkpo", {"variant": "X"}), "pkpo: parameter variant must be one of ['s', 'loo', 'loo-1'], got 'X'"),
    ]
    for call, msg in cases:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == msg


def test_format_spec_writes_parameters_in_the_estimator_order() -> None:
    # grpo declares (eps, ddof): not alphabetical; the dict order given does not matter either.
    assert format_spec("grpo", {"ddof": 0, "eps": 0.5}) == "grpo:eps=0.5,ddof=0"
    assert format_spec("unlikeliness", {"ddof": 0, "beta": 0.5, "eps": 0.0}) == "unlikeliness:beta=0.5,eps=0.0,ddof=0"


def test_advantage_strips_a_plain_name_as_it_strips_a_spec() -> None:
    r = np.array([[1.0, 0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(advantage(" rloo ", r), advantage("rloo", r))
    np.testing.assert_array_equal(advantage(" pkpo:k=2 ", r), advantage("pkpo", r, k=2))


def test_param_convert_word_for_word() -> None:
    from passlens.advantages.registry import Param

    flag = Param("flag", bool)
    for text, want in [("true", True), (" TRUE ", True), ("1", True), ("Yes", True),
                       ("false", False), ("0", False), (" no", False), ("FALSE", False)]:
        assert flag.convert(text, "t") is want, text
    assert flag.convert(True, "t") is True and flag.convert(np.bool_(True), "t") is True
    assert flag.convert(np.bool_(False), "t") is False
    x = Param("x", float)
    assert x.convert(2, "t") == 2.0 and type(x.convert(np.float32(0.5), "t")) is float
    for param, value, msg in [
        (flag, "maybe", "t: parameter flag must be bool, got 'maybe'"),
        (flag, 1, "t: parameter flag must be bool, got 1"),
        (x, True, "t: parameter x must be float, got True"),
        (x, 1j, "t: parameter x must be float, got 1j"),
        (x, "abc", "t: parameter x must be float, got 'abc'"),
    ]:
        with pytest.raises(ValueError) as info:
            param.convert(value, "t")
        assert str(info.value) == msg


def test_resolve_and_advantage_messages_word_for_word() -> None:
    from passlens.advantages.registry import EstimatorSpec, Param

    r = np.array([[1.0, 0.0, 1.0, 0.0]])
    valid = ", ".join(REGISTRY)
    cases: list[tuple[Any, str]] = [
        (lambda: advantage("rloo", r, foo=1), "rloo: unknown parameter(s) foo; accepted: none"),
        (lambda: advantage("rloo", r, foo=1, bar=2), "rloo: unknown parameter(s) bar, foo; accepted: none"),
        (lambda: advantage("pkpo", r, k=2.5), "pkpo: parameter k must be int, got 2.5"),
        (lambda: advantage(3, r), f"unknown advantage estimator 3; valid names: {valid}"),
        (lambda: advantage(["rloo"], r), f"unknown advantage estimator ['rloo']; valid names: {valid}"),
        (lambda: advantage("grpo:eps=0.1,ddof=0", r, eps=0.2, ddof=1),
         "grpo: parameter(s) ddof, eps given both in the spec and as keywords"),
        (lambda: advantage("rloo@0.5+grpo@0.5", r, eps=0.1, ddof=0),
         "objective 'rloo@0.5+grpo@0.5': keyword parameter(s) ddof, eps apply to one estimator; write them into the spec"),
    ]
    two = EstimatorSpec("t2", lambda rewards, *, a, b: rewards, (), (Param("a", int), Param("b", int)), "t",
                        False, False, "s")
    cases.append((lambda: two.resolve({}), "t2: missing required parameter(s) a, b"))
    for call, msg in cases:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == msg


def test_composite_gets_the_state_and_prompt_ids() -> None:
    """A parsed objective (here novelty alone, the one estimator with a state) is called with every input."""
    from passlens.advantages.compose import as_composite

    rng = np.random.default_rng(4)
    r = (rng.random((3, 5)) < 0.5).astype(float)
    a = rng.integers(0, 3, size=(3, 5))
    ids = ["p", "q", "p"]
    mine, ref = AnswerCounts(), AnswerCounts()
    comp = as_composite("novelty:bonus=0.2")
    for _ in range(2):  # the second step reads the counts of the first
        got = advantage(comp, r, answers=a, state=mine, prompt_ids=ids)
        want = advantage("novelty:bonus=0.2", r, answers=a, state=ref, prompt_ids=ids)
        np.testing.assert_array_equal(got, want)
    assert len(mine) == len(ref) > 0
