"""passlens.integrations.openrlhf without OpenRLHF (it needs deepspeed and flash-attn):
the pure functions on OpenRLHF's reward layout, and the subclass / install / launcher
contract against stand-ins. The subclass was also run once against OpenRLHF 0.11.2's real
``compute_advantages_and_returns`` (heavy imports stubbed): see docs/integrations/openrlhf.md."""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace as NS
from typing import Any

import numpy as np
import pytest
import torch

import passlens
from passlens.advantages import AnswerCounts
from passlens.integrations import openrlhf


def _experiences(P: int = 6, n: int = 4, T: int = 5, seed: int = 0, parts: int = 3) -> tuple[np.ndarray, list[Any]]:
    """Rewards (P, n) and Experience stand-ins holding the samples in a scrambled rollout order."""
    rng = np.random.default_rng(seed)
    R = (rng.uniform(size=(P, n)) < rng.uniform(size=(P, 1))).astype(np.float32)
    perm = rng.permutation(P * n)
    exps = []
    for chunk in np.array_split(perm, parts):
        lp = torch.tensor(rng.integers(-3, 0, size=(chunk.size, T)), dtype=torch.float32)
        exps.append(NS(index=chunk.tolist(), rewards=torch.tensor(R.reshape(-1)[chunk]),
                       action_log_probs=lp, action_mask=torch.ones(chunk.size, T, dtype=torch.bool)))
    return R, exps


def _gathered(exps: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    idx = np.concatenate([e.index for e in exps])
    return idx, np.concatenate([e.rewards.numpy() for e in exps])


def test_group_advantages_is_the_registry_on_the_reward_matrix() -> None:
    R = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]])
    out = openrlhf.group_advantages("pkpo:k=2", R)
    assert isinstance(out, torch.Tensor) and out.dtype == R.dtype
    np.testing.assert_allclose(out.numpy(), passlens.advantage("pkpo:k=2", R.numpy()), rtol=1e-6)
    answers = ["a", "b", "a", "c", "x", "x", "y", "x"]  # flat, row-major, strings
    cov = openrlhf.group_advantages("coverage:k=2", R, answers=answers)
    ids = np.array([[0, 1, 0, 2], [3, 3, 4, 3]])
    np.testing.assert_allclose(cov.numpy(), passlens.advantage("coverage:k=2", R.numpy(), answers=ids), rtol=1e-6)


@pytest.mark.parametrize("spec", ["rloo", "pkpo:k=3", "grpo"])
def test_replace_rewards_follows_experience_index(spec: str) -> None:
    R, exps = _experiences()
    openrlhf.replace_rewards(exps, spec, 4)
    idx, got = _gathered(exps)
    ref = passlens.advantage(spec, R).reshape(-1)
    np.testing.assert_allclose(got, ref[idx], rtol=1e-6, atol=1e-6)
    assert all(e.rewards.dtype == torch.float32 for e in exps)


def test_replace_rewards_with_answers_and_logprobs() -> None:
    R, exps = _experiences(seed=1)
    idx = np.concatenate([e.index for e in exps])
    answers_prompt_major = np.random.default_rng(2).integers(0, 3, size=R.size)
    openrlhf.replace_rewards(exps, "coverage:k=2", 4, answers=[f"ans{a}" for a in answers_prompt_major[idx]])
    _, got = _gathered(exps)
    ref = passlens.advantage("coverage:k=2", R, answers=answers_prompt_major.reshape(R.shape)).reshape(-1)
    np.testing.assert_allclose(got, ref[idx], rtol=1e-6, atol=1e-6)

    R, exps = _experiences(seed=3)
    lp = np.empty(R.size)
    lp[np.concatenate([e.index for e in exps])] = np.concatenate([e.action_log_probs.sum(-1).numpy() for e in exps])
    openrlhf.replace_rewards(exps, "unlikeliness", 4, use_logprobs=True)
    idx, got = _gathered(exps)
    ref = passlens.advantage("unlikeliness", R, logprobs=lp.reshape(R.shape)).reshape(-1)
    np.testing.assert_allclose(got, ref[idx], rtol=1e-6, atol=1e-6)


def test_replace_rewards_errors() -> None:
    _, exps = _experiences()
    with pytest.raises(ValueError, match="do not split into groups of n_samples_per_prompt=5"):
        openrlhf.replace_rewards(exps, "rloo", 5)
    exps[0].index[0] = exps[1].index[0]
    with pytest.raises(ValueError, match="experience.index must number the samples"):
        openrlhf.replace_rewards(exps, "rloo", 4)
    openrlhf.replace_rewards([], "rloo", 4)  # nothing to do


class _FakeMaker:
    """Stands in for OpenRLHF's RemoteExperienceMaker: records what its method saw."""

    seen: list[tuple[str, list[float]]] = []

    def __init__(self, estimator: str = "dr_grpo") -> None:
        self.strategy = NS(args=NS(algo=NS(advantage=NS(estimator=estimator)), rollout=NS(n_samples_per_prompt=4)))
        self.advantage_estimator = estimator

    def compute_advantages_and_returns(self, experiences: list[Any]) -> list[Any]:
        _FakeMaker.seen.append((self.strategy.args.algo.advantage.estimator,
                                np.concatenate([e.rewards.numpy() for e in experiences]).tolist()))
        if getattr(self, "fail", False):
            raise RuntimeError("boom")
        return experiences


def test_subclass_replaces_rewards_and_skips_the_baseline_branch() -> None:
    Sub = openrlhf.passlens_experience_maker(_FakeMaker, "pkpo:k=2")
    assert issubclass(Sub, _FakeMaker) and Sub.__name__ == "Passlens_FakeMaker"
    R, exps = _experiences()
    maker = Sub()
    _FakeMaker.seen.clear()
    assert maker.compute_advantages_and_returns(exps) is exps
    estimator_seen, rewards_seen = _FakeMaker.seen[0]
    assert estimator_seen == openrlhf.SKIP_BASELINE
    assert maker.strategy.args.algo.advantage.estimator == "dr_grpo"  # restored
    idx = np.concatenate([e.index for e in exps])
    np.testing.assert_allclose(rewards_seen, passlens.advantage("pkpo:k=2", R).reshape(-1)[idx], rtol=1e-6, atol=1e-6)
    maker.fail = True
    with pytest.raises(RuntimeError, match="boom"):
        maker.compute_advantages_and_returns(_experiences()[1])
    assert maker.strategy.args.algo.advantage.estimator == "dr_grpo"  # restored on error too


def test_subclass_refuses_whitening_estimators_and_bad_specs() -> None:
    Sub = openrlhf.passlens_experience_maker(_FakeMaker, "rloo")
    with pytest.raises(ValueError, match="--algo.advantage.estimator dr_grpo .*got 'reinforce'"):
        Sub("reinforce").compute_advantages_and_returns(_experiences()[1])
    with pytest.raises(ValueError, match="missing required parameter"):
        openrlhf.passlens_experience_maker(_FakeMaker, "pkpo")
    with pytest.raises(ValueError, match="coverage needs answers: pass answers_fn"):
        openrlhf.passlens_experience_maker(_FakeMaker, "coverage:k=2")
    with pytest.raises(ValueError, match="novelty needs a stable prompt key"):
        openrlhf.passlens_experience_maker(_FakeMaker, "novelty", answers_fn=lambda e: [])


def test_subclass_keeps_novelty_memory_across_steps() -> None:
    state = AnswerCounts()
    Sub = openrlhf.passlens_experience_maker(
        _FakeMaker, "novelty:bonus=1.0", state=state,
        answers_fn=lambda exps: [7] * sum(len(e.index) for e in exps),
        prompt_ids_fn=lambda exps: list(range(6)))
    Sub().compute_advantages_and_returns(_experiences()[1])
    assert len(state) > 0  # the step was recorded in the caller's memory


@pytest.fixture
def fake_openrlhf(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("openrlhf.trainer.ppo_trainer")
    module.RemoteExperienceMaker = _FakeMaker  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "openrlhf.trainer.ppo_trainer", module)
    return module


def test_install_is_idempotent_and_setup_hook_reads_the_environment(
        fake_openrlhf: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    first = openrlhf.install("pkpo:k=2")
    second = openrlhf.install("rloo")
    assert fake_openrlhf.RemoteExperienceMaker is second
    assert second.__mro__[1] is _FakeMaker and first.__mro__[1] is _FakeMaker  # wraps the original, not the subclass
    monkeypatch.delenv(openrlhf.SPEC_ENV, raising=False)
    openrlhf.setup_hook()
    assert fake_openrlhf.RemoteExperienceMaker is second  # unset: no-op
    monkeypatch.setenv(openrlhf.SPEC_ENV, "pkpo:k=3")
    openrlhf.setup_hook()
    assert fake_openrlhf.RemoteExperienceMaker.passlens_spec == "pkpo:k=3"


def test_launcher_starts_ray_with_the_hook_then_runs_openrlhf(
        fake_openrlhf: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, Any] = {}
    fake_ray = types.ModuleType("ray")
    fake_ray.init = lambda **kw: calls.setdefault("init", kw)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ray", fake_ray)
    monkeypatch.setattr(openrlhf.runpy, "run_module",
                        lambda name, **kw: calls.setdefault("run", (name, list(sys.argv), kw)))
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    openrlhf.main(["--algo.advantage.estimator", "dr_grpo", "--passlens-spec", "pkpo:k=8", "--rollout.n_samples_per_prompt", "8"])
    env = calls["init"]["runtime_env"]
    assert env["worker_process_setup_hook"] == "passlens.integrations.openrlhf.setup_hook"
    assert env["env_vars"][openrlhf.SPEC_ENV] == "pkpo:k=8"
    name, argv, kw = calls["run"]
    assert name == "openrlhf.cli.train_ppo_ray" and kw["run_name"] == "__main__"
    assert argv[1:] == ["--algo.advantage.estimator", "dr_grpo", "--rollout.n_samples_per_prompt", "8"]
    assert fake_openrlhf.RemoteExperienceMaker.passlens_spec == "pkpo:k=8"
    with pytest.raises(SystemExit, match="usage"):
        openrlhf.main(["--algo.advantage.estimator", "dr_grpo"])
    with pytest.raises(SystemExit, match="coverage needs answers_fn"):
        openrlhf.main(["--passlens-spec=coverage:k=2"])
    with pytest.raises(ValueError, match="unknown advantage estimator"):
        openrlhf.main(["--passlens-spec", "nope"])
