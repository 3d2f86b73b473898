"""passlens.integrations.verl against the real verl 0.9.1 (CPU).

What runs here is verl's own code: ``ray_trainer.compute_advantage`` on real ``DataProto``
batches, ``process_validation_metrics``, the v1 trainer's ``_compute_advantage`` and
``_val_metrics_update`` (on an instance built without Ray, TransferQueue replaced by an
in-memory store filled with verl's ``list_of_dict_to_tensordict``), and the ``verl.plugins``
entry point in fresh interpreters.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import uuid
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="the verl integration needs torch")
verl = pytest.importorskip("verl", reason="verl is not importable here (pip install 'passlens[verl]')")
pytest.importorskip("verl.trainer.ppo.ray_trainer", reason="verl's trainer needs cachetools, uvicorn, fastapi")

import torch  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from verl import DataProto  # noqa: E402
from verl.trainer.ppo import core_algos, ray_trainer  # noqa: E402
from verl.trainer.ppo.metric_utils import process_validation_metrics  # noqa: E402

import passlens  # noqa: E402
from passlens.advantages import REGISTRY  # noqa: E402
from passlens.integrations import verl as pv  # noqa: E402

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")


# ---------------------------------------------------------------------------------------
# fixtures: a verl batch in balance_batch order, ragged, with a singleton group


def make_batch(sizes: list[int], *, L: int = 7, seed: int = 0, binary: bool = True, dtype: Any = torch.float32,
               extra: dict[str, Any] | None = None) -> tuple[DataProto, dict[str, np.ndarray]]:
    """A DataProto like verl's at the advantage step, samples shuffled as balance_batch leaves them.

    Returns the batch and, per uid, the positions of its samples (batch order).
    """
    rng = np.random.default_rng(seed)
    uids = [str(uuid.uuid4()) for _ in sizes]
    index = np.array([u for u, s in zip(uids, sizes) for _ in range(s)], dtype=object)
    N = index.size
    perm = rng.permutation(N)
    index = index[perm]
    lengths = rng.integers(1, L + 1, N)
    mask = (np.arange(L)[None, :] < lengths[:, None]).astype(np.int64)  # (N, L)
    r = rng.integers(0, 2, N).astype(np.float64) if binary else rng.normal(size=N)
    tlr = np.zeros((N, L))
    tlr[np.arange(N), lengths - 1] = r  # the score sits on the last response token, as verl's reward loop puts it
    tensors = {"token_level_rewards": torch.tensor(tlr, dtype=dtype), "response_mask": torch.tensor(mask)}
    non_tensors: dict[str, Any] = {"uid": index}
    for key, value in (extra or {}).items():
        if isinstance(value, torch.Tensor):
            tensors[key] = value
        else:
            non_tensors[key] = value
    data = DataProto.from_dict(tensors=tensors, non_tensors=non_tensors)
    return data, {u: np.flatnonzero(index == u) for u in uids}


def per_sample(adv: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """The scalar each sample's advantage row carries (rows are A·mask)."""
    return (adv.double() * mask).sum(-1).numpy() / mask.sum(-1).numpy()


def algo(estimator: str, **params: Any) -> Any:
    """config.algorithm as verl hands it: a DictConfig with the +algorithm.passlens.* keys."""
    return OmegaConf.create({"adv_estimator": estimator, "gamma": 1.0, "lam": 1.0, "passlens": params})


def run_verl(data: DataProto, estimator: str, config: Any) -> DataProto:
    return ray_trainer.compute_advantage(data, adv_estimator=estimator, config=config)


def scores_of(data: DataProto) -> np.ndarray:
    return data.batch["token_level_rewards"].double().sum(-1).numpy()


# ---------------------------------------------------------------------------------------
# registration


def test_every_estimator_registered_once_and_idempotently() -> None:
    names = [f"passlens_{n}" for n in [*REGISTRY, "objective"]]
    assert all(core_algos.get_adv_estimator_fn(n) is pv.estimator(n[len("passlens_"):]) for n in names)
    before = {n: core_algos.ADV_ESTIMATOR_REGISTRY[n] for n in names}
    assert pv.register() == names  # again: no error, same function objects
    assert {n: core_algos.ADV_ESTIMATOR_REGISTRY[n] for n in names} == before
    with pytest.raises(ValueError, match="already been registered"):  # verl refuses a different function
        core_algos.register_adv_est("passlens_pkpo")(lambda *a, **k: None)
    # verl's compute_advantage is wrapped transparently (for every estimator, passlens or not)
    assert ray_trainer.compute_advantage.__wrapped__.__name__ == "compute_advantage"


def _probe(env_extra: dict[str, str], code: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240,
                         env={**ENV, **env_extra})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


PROBE = """
import json, sys
import verl
from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY as R
names = sorted(k for k in R if k.startswith("passlens_"))
from verl.trainer.ppo.v1 import trainer_base
trainers = sorted(k for k in trainer_base.TRAINER_REGISTRY if k.startswith("passlens_"))
print(json.dumps({"names": names, "trainers": trainers, "loaded": "passlens.integrations.verl" in sys.modules}))
"""


def test_bare_import_verl_registers_estimators_and_trainers_through_the_entry_point() -> None:
    got = _probe({}, PROBE)
    assert got["loaded"] and got["names"] == sorted(f"passlens_{n}" for n in [*REGISTRY, "objective"])
    # the trainers appear when verl's v1 package is imported, as TaskRunnerV1.run does
    assert got["trainers"] == ["passlens_colocate_async", "passlens_separate_async", "passlens_sync"]


def test_plugins_opt_out_and_the_environment_variable_of_older_verl() -> None:
    off = _probe({"VERL_USE_EXTERNAL_PLUGINS": "none"}, PROBE)
    assert off == {"names": [], "trainers": [], "loaded": False}
    env = {"VERL_USE_EXTERNAL_PLUGINS": "none", "VERL_USE_EXTERNAL_MODULES": "passlens.integrations.verl"}
    on = _probe(env, PROBE)
    assert on["loaded"] and len(on["names"]) == len(REGISTRY) + 1 and "passlens_sync" in on["trainers"]


def test_import_passlens_imports_no_framework_and_the_module_is_a_no_op_without_verl() -> None:
    code = """
import json, sys
import passlens, passlens.integrations
first = sorted(m for m in ("verl", "torch", "ray", "transformers", "trl") if m in sys.modules)
sys.modules["verl"] = None          # as if verl were not installed
import passlens.integrations.verl as pv
second = sorted(m for m in ("torch", "ray", "transformers") if m in sys.modules)
m = pv.validation_metrics(["d"] * 4, ["a", "a", "b", "b"], {"acc": [1, 0, 0, 0]})
print(json.dumps({"first": first, "second": second, "registered": pv._config._REGISTERED, "p1": m["d"]["acc"]["pass@1"]}))
"""
    got = _probe({}, code)
    assert got == {"first": [], "second": [], "registered": {}, "p1": 0.25}


def test_a_registration_failure_is_one_warning_line_not_an_error(tmp_path: Path) -> None:
    fake = tmp_path / "verl"
    fake.mkdir()
    (fake / "__init__.py").write_text("")  # a "verl" without core_algos: registration must fail softly
    code = """
import json, warnings
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    import passlens.integrations.verl as pv
msgs = [str(x.message) for x in w if issubclass(x.category, RuntimeWarning)]
print(json.dumps({"msgs": msgs, "registered": pv._config._REGISTERED}))
"""
    got = _probe({"PYTHONPATH": str(tmp_path)}, code)
    assert got["registered"] == {} and len(got["msgs"]) == 1
    assert got["msgs"][0].startswith("passlens: the passlens_* advantage estimators were not registered in verl")
    assert "\n" not in got["msgs"][0] and "ModuleNotFoundError" in got["msgs"][0]


# ---------------------------------------------------------------------------------------
# the estimators through verl's own compute_advantage


@pytest.mark.parametrize("spec", ["rloo", "grpo", "dr_grpo", "pkpo:k=4", "pkpo:k=4,variant=s", "alpha_rloo:k=3",
                                  "best_minus_second", "passk_analytic:k=2"])
def test_compute_advantage_equals_the_registry_on_each_uid_group(spec: str) -> None:
    name, params = passlens.advantages.parse_spec(spec)
    sizes = [8, 8, 6, 1, 8, 5]  # ragged, one singleton
    data, groups = make_batch(sizes, seed=hash(spec) % 1000, binary=REGISTRY[name].binary_only or spec == "pkpo:k=4")
    mask = data.batch["response_mask"]
    out = run_verl(data, f"passlens_{name}", algo(f"passlens_{name}", **params))
    adv, ret = out.batch["advantages"], out.batch["returns"]
    assert adv.dtype == torch.float32 and adv.shape == mask.shape and torch.equal(adv, ret)
    assert float((adv * (1 - mask)).abs().max()) == 0.0  # zero outside the response
    got = per_sample(adv, mask)
    r = scores_of(data)
    for pos in groups.values():
        if pos.size == 1:
            assert got[pos][0] == 0.0  # singleton: no baseline, advantage 0
            continue
        want = passlens.advantage(spec, r[pos][None, :])[0]
        np.testing.assert_allclose(got[pos], want, rtol=0, atol=2e-6 * max(1.0, np.abs(want).max()))


def test_objective_estimator_takes_a_composite_spec_and_the_step() -> None:
    """passlens_objective with +algorithm.passlens.objective=<spec>: a mix is its parts' weighted sum per uid
    group; a schedule reads the step from the batch's meta_info (verl's global_steps, 1 at the first update)."""
    data, groups = make_batch([6, 6, 5, 1, 6], seed=21)
    r = scores_of(data)
    mask = data.batch["response_mask"]
    mix = "rloo@0.7+pkpo:k=2,variant=s@0.3"
    got = per_sample(run_verl(data, "passlens_objective", algo("passlens_objective", objective=mix)).batch["advantages"],
                     mask)
    for pos in groups.values():
        want = (0.7 * passlens.advantage("rloo", r[pos][None]) + 0.3 * passlens.advantage("pkpo:k=2,variant=s", r[pos][None])
                if pos.size > 1 else np.zeros((1, 1)))
        np.testing.assert_allclose(got[pos], want[0], rtol=0, atol=2e-6)
    sched = algo("passlens_objective", objective="pkpo:k=2/3/rloo")
    with pytest.raises(ValueError, match="changes over training steps.*passlens_sync"):
        run_verl(data, "passlens_objective", sched)
    for global_steps, spec in ((3, "pkpo:k=2"), (4, "rloo")):  # updates taken: 2, then 3
        data.meta_info["global_steps"] = global_steps
        got = per_sample(run_verl(data, "passlens_objective", sched).batch["advantages"], mask)
        for pos in groups.values():
            if pos.size > 1:
                np.testing.assert_allclose(got[pos], passlens.advantage(spec, r[pos][None])[0], atol=2e-6)
    with pytest.raises(ValueError, match=r"objective 'rloo@x': weight 'x' is not a number"):
        run_verl(data, "passlens_objective", algo("passlens_objective", objective="rloo@x"))
    with pytest.raises(ValueError, match=r"needs \+algorithm.passlens.objective=<spec>"):
        run_verl(data, "passlens_objective", algo("passlens_objective"))
    with pytest.raises(ValueError, match="unknown key.*k for passlens_objective"):
        run_verl(data, "passlens_objective", algo("passlens_objective", objective="rloo", k=2))


def test_passlens_grpo_reproduces_verl_grpo() -> None:
    data, groups = make_batch([16, 16, 9, 16, 4], seed=3, binary=False)
    ours = run_verl(data, "passlens_grpo", algo("passlens_grpo")).batch["advantages"].clone()
    theirs = run_verl(data, "grpo", algo("grpo")).batch["advantages"]
    assert float((ours - theirs).abs().max()) <= 1e-6


def test_dtype_and_typed_hydra_values() -> None:
    data, groups = make_batch([4, 4, 4], seed=5, dtype=torch.float64)
    # Hydra gives ints; a quoted override gives a string: both are converted by the registry's Param
    out = run_verl(data, "passlens_pkpo", algo("passlens_pkpo", k="2", variant="loo-1"))
    assert out.batch["advantages"].dtype == torch.float64
    got = per_sample(out.batch["advantages"], data.batch["response_mask"])
    r = scores_of(data)
    for pos in groups.values():
        np.testing.assert_allclose(got[pos], passlens.advantage("pkpo:k=2", r[pos][None])[0], atol=1e-12)


def test_small_groups_error_names_the_uid_and_zero_mode_counts_them() -> None:
    data, groups = make_batch([8, 3, 8], seed=7)
    small = next(u for u, p in groups.items() if p.size == 3)
    with pytest.raises(ValueError, match=f"group '{small}' has 3 samples.*small_groups='zero'"):
        run_verl(data, "passlens_pkpo", algo("passlens_pkpo", k=4))
    out = run_verl(data, "passlens_pkpo", algo("passlens_pkpo", k=4, small_groups="zero"))
    got = per_sample(out.batch["advantages"], data.batch["response_mask"])
    assert np.all(got[groups[small]] == 0.0) and np.any(got != 0.0)


def test_configuration_errors_are_one_line_and_list_the_accepted_keys() -> None:
    data, _ = make_batch([4, 4], seed=1)
    with pytest.raises(ValueError) as e:
        run_verl(data, "passlens_pkpo", algo("passlens_pkpo", k=2, kk=3))
    msg = str(e.value)
    assert "\n" not in msg and "unknown key(s) kk" in msg
    assert "accepted: k, variant, small_groups, threshold, answer_key, prompt_key" in msg
    with pytest.raises(ValueError, match="missing required parameter"):
        run_verl(data, "passlens_pkpo", algo("passlens_pkpo"))
    with pytest.raises(ValueError, match="small_groups must be 'error' or 'zero'"):
        run_verl(data, "passlens_rloo", algo("passlens_rloo", small_groups="skip"))
    with pytest.raises(ValueError, match="verl passed no index"):
        pv.estimator("rloo")(data.batch["token_level_rewards"], data.batch["response_mask"], index=None)
    # the section may also be a plain dict, or absent (config None) for parameter-free estimators
    fn = pv.estimator("rloo")
    a, _ = fn(data.batch["token_level_rewards"], data.batch["response_mask"], data.non_tensor_batch["uid"], None)
    b, _ = fn(data.batch["token_level_rewards"], data.batch["response_mask"], data.non_tensor_batch["uid"],
              {"passlens": {}})
    assert torch.equal(a, b)


def test_coverage_says_what_to_set_without_answers_and_works_with_them() -> None:
    data, groups = make_batch([6, 6, 6], seed=11)
    with pytest.raises(ValueError, match="trainer.v1.trainer_mode=passlens_sync") as e:
        run_verl(data, "passlens_coverage", algo("passlens_coverage", k=2))
    assert "\n" not in str(e.value)

    rng = np.random.default_rng(0)
    r = scores_of(data)
    preds = np.array([f"{rng.integers(0, 3)}" if x == 1 else f"wrong{rng.integers(0, 3)}" for x in r], dtype=object)
    # the legacy trainer keeps compute_score's extra keys in non_tensor_batch: the wrapped
    # compute_advantage lets the estimator read them
    data2, groups2 = make_batch([6, 6, 6], seed=11, extra={"pred": preds})
    out = run_verl(data2, "passlens_coverage", algo("passlens_coverage", k=2))
    got = per_sample(out.batch["advantages"], data2.batch["response_mask"])
    ids = {a: i for i, a in enumerate(sorted(set(preds)))}
    for pos in groups2.values():
        want = passlens.advantage("coverage:k=2", r[pos][None], answers=np.array([[ids[a] for a in preds[pos]]]))[0]
        np.testing.assert_allclose(got[pos], want, atol=1e-6)
    # a verl that forwards non_tensor_batch/batch (PR #7473) is read directly
    fn = pv.estimator("coverage")
    a, _ = fn(data.batch["token_level_rewards"], data.batch["response_mask"], data.non_tensor_batch["uid"],
              algo("passlens_coverage", k=2), non_tensor_batch={"uid": data.non_tensor_batch["uid"], "pred": preds},
              batch=data.batch)
    np.testing.assert_allclose(per_sample(a, data.batch["response_mask"]), got, atol=0)


def test_threshold_makes_plus_minus_one_rewards_binary() -> None:
    # verl's math_dapo scores ±1; alpha_rloo (binary only) needs 0/1
    data, groups = make_batch([6, 6, 6], seed=17)
    tlr = data.batch["token_level_rewards"]
    ends = data.batch["response_mask"].sum(-1) - 1
    r01 = tlr.sum(-1).clone()
    tlr[torch.arange(len(data)), ends] = r01 * 2 - 1  # 0/1 → −1/+1
    with pytest.raises(ValueError, match="alpha_rloo"):
        run_verl(data, "passlens_alpha_rloo", algo("passlens_alpha_rloo", k=2))
    out = run_verl(data, "passlens_alpha_rloo", algo("passlens_alpha_rloo", k=2, threshold=0.5))
    got = per_sample(out.batch["advantages"], data.batch["response_mask"])
    for pos in groups.values():
        want = passlens.advantage("alpha_rloo:k=2", r01.double().numpy()[pos][None])[0]
        np.testing.assert_allclose(got[pos], want, atol=1e-6)
    # validation: without acc, reward ≥ threshold is the correctness
    m = pv.validation_metrics(["d"] * 4, ["a", "a", "b", "b"], {"reward": [1.0, -1.0, -1.0, -1.0]}, threshold=0.5)
    assert m["d"]["acc"]["pass@1"] == 0.25 and "max@2" in m["d"]["reward"]


def test_unlikeliness_reads_old_log_probs_of_the_batch() -> None:
    rng = np.random.default_rng(2)
    probe, _ = make_batch([5, 5, 5], seed=13)
    olp = torch.tensor(rng.normal(-1.0, 0.5, size=tuple(probe.batch["response_mask"].shape)), dtype=torch.float32)
    data, groups = make_batch([5, 5, 5], seed=13, extra={"old_log_probs": olp})
    mask = data.batch["response_mask"]
    out = run_verl(data, "passlens_unlikeliness", algo("passlens_unlikeliness", beta=0.5))
    got = per_sample(out.batch["advantages"], mask)
    seq_lp = (olp * mask).sum(-1).double().numpy()
    r = scores_of(data)
    for pos in groups.values():
        want = passlens.advantage("unlikeliness:beta=0.5", r[pos][None], logprobs=seq_lp[pos][None])[0]
        np.testing.assert_allclose(got[pos], want, atol=1e-5)


def test_novelty_keeps_answer_counts_across_steps_and_checkpoints_them() -> None:
    pv._estimators._STATES.clear()
    prompts = [[{"role": "user", "content": f"q{i}"}] for i in range(3)]
    sizes = [4, 4, 4]

    def step(seed: int) -> tuple[np.ndarray, DataProto, dict[str, np.ndarray]]:
        data, groups = make_batch(sizes, seed=seed)
        raw = np.empty(len(data), dtype=object)
        preds = np.empty(len(data), dtype=object)
        for j, pos in enumerate(groups.values()):
            for p in pos:
                raw[p] = prompts[j]
                preds[p] = f"a{p % 2}"
        data.non_tensor_batch["raw_prompt"] = raw  # fresh uids every step; the prompt names the group
        data.non_tensor_batch["pred"] = preds
        out = run_verl(data, "passlens_novelty", algo("passlens_novelty", bonus=0.5))
        return per_sample(out.batch["advantages"], data.batch["response_mask"]), data, groups

    state = REGISTRY["novelty"].new_state()  # the reference: the same steps through the registry
    for seed in (21, 22):
        got, data, groups = step(seed)
        r = scores_of(data)
        preds = data.non_tensor_batch["pred"]
        R = np.stack([r[p] for p in groups.values()])
        A = np.stack([[int(x[1]) for x in preds[p]] for p in groups.values()])
        want = passlens.advantage("novelty:bonus=0.5", R, answers=A, state=state, prompt_ids=[0, 1, 2])
        np.testing.assert_allclose(np.stack([got[p] for p in groups.values()]), want, atol=1e-6)
    snap = pv.state_dict()
    assert set(snap) == {"passlens_novelty"} and len(snap["passlens_novelty"]["counts"]) == 6
    pv._estimators._STATES.clear()
    pv.load_state_dict(json.loads(json.dumps(snap)))
    assert pv.state_dict() == snap


# ---------------------------------------------------------------------------------------
# validation metrics vs verl's process_validation_metrics


def val_fixture(seed: int = 0, P: int = 12, n: int = 8) -> tuple[list[str], list[str], dict[str, list[Any]]]:
    rng = np.random.default_rng(seed)
    sources, uids, infos = [], [], {"reward": [], "acc": [], "pred": []}
    for i in range(P):
        c = int(rng.integers(1, n))  # 0 < c < n: bootstrap best@n < 1 = pass@n, worst@n > 0 = pass^n
        uid = str(uuid.uuid4())
        ok = rng.permutation([1] * c + [0] * (n - c))
        for j in range(n):
            sources.append("math" if i % 2 else "gsm8k")
            uids.append(uid)
            infos["acc"].append(bool(ok[j]))
            infos["reward"].append(float(ok[j]))
            infos["pred"].append("42" if ok[j] else f"w{rng.integers(0, 2)}")
    return sources, uids, infos


def counts(sources: list[str], uids: list[str], acc: list[Any], source: str) -> tuple[np.ndarray, np.ndarray]:
    per: dict[str, list[int]] = {}
    for s, u, a in zip(sources, uids, acc):
        if s == source:
            per.setdefault(u, []).append(int(bool(a)))
    return np.array([len(v) for v in per.values()]), np.array([sum(v) for v in per.values()])


def test_validation_metrics_are_unbiased_where_verls_bootstrap_is_not() -> None:
    sources, uids, infos = val_fixture()
    ours = pv.validation_metrics(sources, uids, infos, group_size=4)
    theirs = process_validation_metrics(sources, uids, infos)
    for src in ("gsm8k", "math"):
        o, t = ours[src]["acc"], theirs[src]["acc"]
        n, c = counts(sources, uids, infos["acc"], src)
        assert o["pass@1"] == pytest.approx(t["mean@8"], abs=1e-12)
        # verl's best@8 / worst@8 are bootstrap (with replacement) estimates of 1 − (1 − p̂)^8, p̂^8
        assert t["best@8/mean"] < o["pass@8"] == 1.0
        assert t["worst@8/mean"] > o["pass^8"] == 0.0
        for k in (1, 2, 4, 8):
            assert o[f"pass@{k}"] == pytest.approx(passlens.pass_at_k(n, c, k).mean(), abs=1e-12)
            assert o[f"pass^{k}"] == pytest.approx(passlens.pass_hat_k(n, c, k).mean(), abs=1e-12)
        cur = passlens.curve(n, c, [1, 2, 4, 8], method="analytic")
        np.testing.assert_allclose([o[f"pass@{k}"] for k in (1, 2, 4, 8)], cur.estimate, atol=1e-12)
        assert o["polarized"] == 0.0 and "zero_signal@4" in o and o["prompts"] == 6.0
        assert o["distinct_correct"] == 1.0 and o["coverage@8"] == 1.0
        # the reward variable is 0/1 here: the same numbers
        assert ours[src]["reward"]["pass@4"] == pytest.approx(o["pass@4"])


def brute_maj(preds: list[str], ok: list[bool], k: int) -> float:
    """Majority vote accuracy over all k-subsets, ties broken uniformly."""
    vals = []
    for sub in itertools.combinations(range(len(preds)), k):
        cnt = Counter(preds[i] for i in sub)
        top = max(cnt.values())
        winners = [a for a, m in cnt.items() if m == top]
        good = {preds[i] for i in sub if ok[i]}
        vals.append(sum(w in good for w in winners) / len(winners))
    return float(np.mean(vals))


def test_maj_at_k_is_exact_over_all_subsets() -> None:
    sources, uids, infos = val_fixture(seed=4, P=6, n=6)
    ours = pv.validation_metrics(sources, uids, infos)
    for src in ("gsm8k", "math"):
        by_uid: dict[str, tuple[list[str], list[bool]]] = {}
        for s, u, p, a in zip(sources, uids, infos["pred"], infos["acc"]):
            if s == src:
                by_uid.setdefault(u, ([], []))[0].append(p)
                by_uid[u][1].append(a)
        for k in (1, 2, 4, 6):
            want = np.mean([brute_maj(p, a, k) for p, a in by_uid.values()])
            assert ours[src]["acc"][f"maj@{k}"] == pytest.approx(want, abs=1e-12)


def test_none_values_continuous_rewards_and_failed_sessions() -> None:
    sources = ["d"] * 9
    uids = ["a"] * 4 + ["b"] * 3 + ["c"] * 2
    infos = {
        "reward": [0.9, 0.1, 0.5, 0.2, 0.0, 0.7, 0.3, 1.0, 0.4],  # continuous: max@k
        "acc": [True, False, None, False, False, True, False, True, None],  # None: not verified → incorrect
        "pred": ["x", "y", None, "y", "z", "x", "z", "x", None],
        "score": [None] * 9,  # a key this source never reports: left out
    }
    expected = {("d", "a"): 4, ("d", "b"): 4, ("d", "c"): 2, ("d", "e"): 2}  # b lost a session, e lost both
    ours = pv.validation_metrics(sources, uids, infos, expected_acc_counts=expected)["d"]
    theirs = process_validation_metrics(sources, uids, infos, expected_acc_counts=expected)["d"]
    assert "score" not in ours
    # verl: acc padded with zeros to the expected count per prompt (e: 2 failures)
    n = np.array([4, 4, 2, 2])
    c = np.array([1, 1, 1, 0])
    assert ours["acc"]["prompts"] == 4.0 and ours["acc"]["samples"] == 12.0
    assert ours["acc"]["pass@1"] == pytest.approx(np.mean(c / n))
    assert ours["acc"]["pass@2"] == pytest.approx(passlens.pass_at_k(n, c, 2).mean())
    assert ours["acc"]["prompts@4"] == 2.0  # prompts with n ≥ 4
    assert "acc_success_only" in ours and "acc_success_only" in theirs
    # reward: None-free, continuous: max@k, with max@1 = verl's mean@n averaged over prompts
    assert ours["reward"]["max@1"] == pytest.approx(np.mean([np.mean([0.9, 0.1, 0.5, 0.2]), np.mean([0.0, 0.7, 0.3]),
                                                             np.mean([1.0, 0.4])]))
    assert "pass@1" not in ours["reward"]
    rewards = [[0.9, 0.1, 0.5, 0.2], [0.0, 0.7, 0.3], [1.0, 0.4]]
    assert ours["reward"]["max@2"] == pytest.approx(passlens.max_at_k(rewards, 2).mean())


# ---------------------------------------------------------------------------------------
# the v1 trainer subclass, built without Ray; TransferQueue replaced by an in-memory store


class FakeTQ:
    """kv_batch_get / kv_batch_put over dict rows, returning what verl's TensorDict helpers build."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def kv_batch_get(self, keys: list[str], partition_id: str, select_fields: Any = None) -> Any:
        from verl.utils.tensordict_utils import list_of_dict_to_tensordict

        fields = [select_fields] if isinstance(select_fields, str) else select_fields
        return list_of_dict_to_tensordict(
            [{f: v for f, v in self.rows[k].items() if fields is None or f in fields} for k in keys])

    def kv_batch_put(self, keys: list[str], partition_id: str, fields: Any = None, tags: Any = None) -> Any:
        from transfer_queue import KVBatchMeta

        for name, value in (fields.items() if fields is not None else []):
            parts = value.unbind(0)
            for k, part in zip(keys, parts):
                self.rows[k][name] = part
        return KVBatchMeta(keys=list(keys), tags=[{} for _ in keys], partition_id=partition_id)


def trainer_config(tmp_path: Path, estimator: str, **params: Any) -> Any:
    return OmegaConf.create({
        "algorithm": {"adv_estimator": estimator, "gamma": 1.0, "lam": 1.0, "use_kl_in_reward": False,
                      "norm_adv_by_std_in_grpo": True, "passlens": params},
        "actor_rollout_ref": {"rollout": {"n": 4}, "actor": {"loss_agg_mode": "seq-mean-token-sum"}},
        "trainer": {"v1": {"trainer_mode": "passlens_sync"}, "default_local_dir": str(tmp_path),
                    "log_val_generations": 0, "resume_mode": "auto"},
    })


def bare_trainer(config: Any) -> Any:
    """A passlens_sync trainer instance with the attributes _compute_advantage / _val_metrics_update use."""
    cls = pv.trainer_class("sync")
    trainer = object.__new__(cls)
    trainer.config = config
    trainer.global_steps = 30
    trainer._passlens_setup(config)
    return trainer


def fill_tq(tq: FakeTQ, sessions: dict[str, list[tuple[float, str, int]]]) -> list[str]:
    """Rows keyed {uid}_{session}_{index}; sessions: uid → [(reward, pred, outputs of the session)]."""
    keys = []
    for uid, items in sessions.items():
        for s, (reward, pred, outputs) in enumerate(items):
            for i in range(outputs):
                L = 3 + (s + i) % 3
                rm = torch.zeros(L)
                rm[-1] = reward
                key = f"{uid}_{s}_{i}"
                tq.rows[key] = {
                    "uid": uid, "response_mask": torch.ones(L, dtype=torch.int64), "rm_scores": rm,
                    "old_log_probs": torch.full((L,), -0.5), "index": 7,
                    "extra_fields": {"reward_extra_info": {"pred": pred, "acc": reward}, "turns": [i]},
                }
                keys.append(key)
    pad = f"pad{uuid.uuid4().hex}"  # verl's synthetic padding rows: one uid, all-zero response mask
    for j in range(3):
        key = f"{pad}_{j}_0"
        tq.rows[key] = {"uid": pad, "response_mask": torch.zeros(1, dtype=torch.int64), "rm_scores": torch.zeros(1),
                        "old_log_probs": torch.zeros(1), "index": 7, "extra_fields": {}}
        keys.append(key)
    return keys


def meta(keys: list[str]) -> Any:
    """The KVBatchMeta verl hands _compute_advantage: padding rows tagged is_padding, as upsampling tags them."""
    from transfer_queue import KVBatchMeta

    return KVBatchMeta(keys=list(keys), tags=[{"is_padding": True} if k.startswith("pad") else {} for k in keys],
                       partition_id="train")


def test_trainer_subclass_feeds_answers_to_coverage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import transfer_queue

    tq = FakeTQ()
    monkeypatch.setattr(transfer_queue, "kv_batch_get", tq.kv_batch_get)
    monkeypatch.setattr(transfer_queue, "kv_batch_put", tq.kv_batch_put)
    rng = np.random.default_rng(5)
    sessions = {}
    for g in range(4):
        items = []
        for s in range(4):
            ok = bool(rng.integers(0, 2))
            items.append((float(ok), f"{rng.integers(0, 2)}" if ok else "bad", 2 if (g, s) == (1, 2) else 1))
        sessions[str(uuid.uuid4())] = items
    keys = fill_tq(tq, sessions)
    order = list(rng.permutation(len(keys)))  # balance_batch reorders
    batch = meta([keys[i] for i in order])

    trainer = bare_trainer(trainer_config(tmp_path, "passlens_coverage", k=2))
    metrics: dict[str, Any] = {}
    trainer._compute_advantage(batch, metrics)

    for uid, items in sessions.items():
        R = np.array([[r for r, _, _ in items]])
        ids = {"bad": 99, "0": 0, "1": 1}
        A = np.array([[ids[p] for _, p, _ in items]])
        want = passlens.advantage("coverage:k=2", R, answers=A)[0]
        for s, (_, _, outputs) in enumerate(items):
            for i in range(outputs):  # every output of a session carries the session's advantage
                row = tq.rows[f"{uid}_{s}_{i}"]
                assert torch.equal(row["advantages"], row["returns"])
                np.testing.assert_allclose(row["advantages"].numpy(), want[s], atol=1e-6)
    pads = [k for k in keys if k.startswith("pad")]
    assert all(float(tq.rows[k]["advantages"].abs().sum()) == 0.0 for k in pads)
    assert metrics["passlens/train/groups"] == 4.0 and metrics["passlens/train/padding_groups"] == 1.0
    assert metrics["passlens/train/singleton_groups"] == 0.0 and "passlens/train/pass@2" in metrics
    # no verl metric-aggregation keyword (max/min/sum/total) in our names
    assert not any(w in k.split("/")[-1] for k in metrics for w in ("max", "min", "sum", "total"))


def test_trainer_subclass_passes_its_global_step_to_a_scheduled_objective(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    import transfer_queue

    tq = FakeTQ()
    monkeypatch.setattr(transfer_queue, "kv_batch_get", tq.kv_batch_get)
    monkeypatch.setattr(transfer_queue, "kv_batch_put", tq.kv_batch_put)
    rng = np.random.default_rng(8)
    sessions = {str(uuid.uuid4()): [(float(rng.integers(0, 2)), "x", 1) for _ in range(4)] for _ in range(3)}
    keys = fill_tq(tq, sessions)
    trainer = bare_trainer(trainer_config(tmp_path, "passlens_objective", objective="coverage:k=2/29/pkpo:k=2"))
    for global_steps, spec in ((29, "coverage:k=2"), (30, "pkpo:k=2")):  # updates taken: 28, then 29
        trainer.global_steps = global_steps
        trainer._compute_advantage(meta(keys), {})
        for uid, items in sessions.items():
            R = np.array([[rw for rw, _, _ in items]])
            want = passlens.advantage(spec, R, answers=np.zeros_like(R, dtype=np.int64))[0]
            for s_, _ in enumerate(items):
                np.testing.assert_allclose(tq.rows[f"{uid}_{s_}_0"]["advantages"].numpy(), want[s_], atol=1e-6)


def test_trainer_subclass_says_when_compute_score_returns_no_answer(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    import transfer_queue

    tq = FakeTQ()
    monkeypatch.setattr(transfer_queue, "kv_batch_get", tq.kv_batch_get)
    keys = fill_tq(tq, {"u1": [(1.0, "a", 1), (0.0, "b", 1)]})
    for k in keys:
        tq.rows[k]["extra_fields"] = {"reward_extra_info": {"acc": 1.0}}
    trainer = bare_trainer(trainer_config(tmp_path, "passlens_coverage", k=2, answer_key="answer"))
    with pytest.raises(ValueError, match=r"no sample's reward extra info holds 'answer'.*answer_key"):
        trainer._compute_advantage(meta(keys), {})


def test_trainer_runs_under_the_parent_mode_and_warns_about_token_mean(tmp_path: Path) -> None:
    cls = pv.trainer_class("sync")
    from verl.trainer.ppo.v1 import PPOTrainerSync, trainer_base

    assert trainer_base.get_trainer_cls("passlens_sync") is cls and issubclass(cls, PPOTrainerSync)
    assert pv.trainer_class("sync") is cls
    config = trainer_config(tmp_path, "passlens_pkpo", k=4)
    config.actor_rollout_ref.actor.loss_agg_mode = "token-mean"
    pv._config._WARNED.discard("loss")
    with pytest.warns(RuntimeWarning, match="loss_agg_mode=token-mean.*seq-mean-token-sum-norm"):
        try:
            cls(config)
        except Exception:
            pass  # the parent's __init__ needs a cluster; the mode is set before it runs
    assert config.trainer.v1.trainer_mode == "sync"  # verl branches on trainer_mode == "sync"
    with pytest.raises(ValueError, match="unknown key"):
        cls(trainer_config(tmp_path, "passlens_pkpo", k=4, kk=1))


def test_val_metrics_update_files_passlens_keys_after_verls_and_writes_rows(cli, tmp_path: Path) -> None:
    trainer = bare_trainer(trainer_config(tmp_path, "passlens_pkpo", k=4))
    for step, seed in ((10, 0), (20, 1)):
        sources, uids, infos = val_fixture(seed=seed, P=6, n=4)
        # same prompts at both steps, fresh uids: the prompt text names the problem
        prompts = {u: f"question {i // 4 % 6}" for i, u in enumerate(uids)}
        trainer.global_steps = step
        trainer._maybe_log_val_generations([prompts[u] for u in uids], ["out"] * len(uids), infos["reward"])
        expected = {(s, u): 4 for s, u in zip(sources, uids)}
        expected[("math", "lost")] = 4  # a prompt whose sessions all failed
        got = trainer._val_metrics_update(sources, uids, infos, [], expected_acc_counts=expected)
        assert "val-core/math/acc/mean@4" in got and "val-aux/gsm8k/acc/best@2/mean" in got  # verl's own
        assert got["val-passlens/math/acc/pass@1"] == pytest.approx(
            pv.validation_metrics(sources, uids, infos, expected_acc_counts=expected)["math"]["acc"]["pass@1"])
        assert "val-passlens/gsm8k/acc/pass^4" in got and "val-passlens/gsm8k/acc/zero_signal@4" in got
    run = tmp_path / "passlens_val" / "math"
    files = sorted(p.name for p in (run / "evals").iterdir())
    assert files == ["step_000010.jsonl", "step_000020.jsonl"]
    assert json.loads((run / "config.json").read_text())["n"] == 4
    row = json.loads((run / "evals" / "step_000010.jsonl").read_text().splitlines()[0])
    assert set(row) == {"problem_id", "step", "data_source", "correct", "reward", "answer"}

    from passlens.io import read

    data = read([str(p) for p in sorted((run / "evals").iterdir())], by="step")
    assert list(data.groups) == ["10", "20"]
    assert all(len(t.n) == 3 and set(t.n.tolist()) == {4} for t in data.groups.values())  # 3 math prompts × 4

    out = cli.run("report", str(run), "--no-html", "--out", str(tmp_path / "report"), "--n-boot", "50",
                  env={"PYTHONWARNINGS": "ignore"}, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert metrics["labels"] == ["10", "20"]


def test_rows_switch_off_and_go_where_asked(tmp_path: Path) -> None:
    sources, uids, infos = val_fixture(seed=2, P=2, n=2)
    off = bare_trainer(trainer_config(tmp_path / "a", "passlens_rloo", val_rows=False))
    off._val_metrics_update(sources, uids, infos, [], expected_acc_counts=None)
    assert not (tmp_path / "a").exists()
    there = bare_trainer(trainer_config(tmp_path / "b", "passlens_rloo", val_rows=str(tmp_path / "rows")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no prompt texts seen: rows are named by uid
        there._val_metrics_update(sources, uids, infos, [], expected_acc_counts=None)
    assert (tmp_path / "rows" / "gsm8k" / "evals" / "step_000030.jsonl").is_file()


def test_trainer_path_hands_old_log_probs_to_unlikeliness(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import transfer_queue
    from verl.trainer.ppo.v1 import utils as v1_utils

    assert v1_utils.compute_advantage.__passlens_wrapped__ is not None  # v1 imported verl's function by name
    tq = FakeTQ()
    monkeypatch.setattr(transfer_queue, "kv_batch_get", tq.kv_batch_get)
    monkeypatch.setattr(transfer_queue, "kv_batch_put", tq.kv_batch_put)
    sessions = {"g1": [(1.0, "a", 1), (1.0, "b", 1), (0.0, "c", 1)],
                "g2": [(0.0, "a", 1), (1.0, "a", 1), (1.0, "d", 1)]}
    keys = fill_tq(tq, sessions)
    trainer = bare_trainer(trainer_config(tmp_path, "passlens_unlikeliness", beta=0.5))
    trainer._compute_advantage(meta(keys), {})
    for uid, items in sessions.items():
        R = np.array([[r for r, _, _ in items]])
        lp = np.array([[-0.5 * int(tq.rows[f"{uid}_{s}_0"]["response_mask"].sum()) for s in range(len(items))]])
        want = passlens.advantage("unlikeliness:beta=0.5", R, logprobs=lp)[0]
        got = [float(tq.rows[f"{uid}_{s}_0"]["advantages"][0]) for s in range(len(items))]
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_legacy_trainer_mixin_files_passlens_metrics(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # verl deprecates RayPPOTrainer
        cls = pv.legacy_trainer_class()
    from verl.trainer.ppo.ray_trainer import RayPPOTrainer

    assert issubclass(cls, RayPPOTrainer) and pv.legacy_trainer_class() is cls
    trainer = object.__new__(cls)
    trainer.config = trainer_config(tmp_path, "passlens_rloo", val_rows=False)
    trainer.global_steps = 3
    trainer._passlens_setup(trainer.config)
    sources, uids, infos = val_fixture(seed=9, P=4, n=4)
    got = trainer._val_metrics_update(np.array(sources, dtype=object), uids, infos, [])  # the legacy signature
    assert "val-core/math/acc/mean@4" in got and "val-passlens/math/acc/pass@4" in got


def test_trainer_novelty_prompt_key_and_checkpointed_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import transfer_queue

    tq = FakeTQ()
    monkeypatch.setattr(transfer_queue, "kv_batch_get", tq.kv_batch_get)
    monkeypatch.setattr(transfer_queue, "kv_batch_put", tq.kv_batch_put)
    keys = fill_tq(tq, {"g1": [(1.0, "a", 1), (0.0, "b", 1)], "g2": [(1.0, "a", 1), (1.0, "c", 1)]})
    batch = meta(keys)
    pv._estimators._STATES.clear()
    trainer = bare_trainer(trainer_config(tmp_path, "passlens_novelty"))
    with pytest.raises(ValueError, match="no field 'raw_prompt'.*prompt_key"):
        trainer._compute_advantage(batch, {})
    trainer = bare_trainer(trainer_config(tmp_path, "passlens_novelty", prompt_key="index"))
    pv._config._WARNED.discard("prompt_key")
    with pytest.warns(RuntimeWarning, match="2 prompt groups share 1 values of 'index'.*extra_info.index"):
        trainer._compute_advantage(batch, {})  # every row has index 7 (verl's default is 0)
    snap = pv.state_dict()
    assert len(snap["passlens_novelty"]["counts"]) == 3  # prompt 7 × answers a, b, c
    trainer.global_steps = 5
    trainer._passlens_save_state()
    assert (tmp_path / "global_step_5" / "passlens_state.json").is_file()
    pv._estimators._STATES.clear()
    trainer._passlens_load_state()  # resume_mode=auto: default_local_dir/global_step_{global_steps}
    assert pv.state_dict() == snap
