"""passlens.integrations.trl against the real TRL GRPOTrainer (CPU, no hub download).

A locally built WordLevel tokenizer and a 1-layer, 16-dim Qwen2 run GRPO end to end for one or
two steps; the advantages that reach TRL's loss, the completions table and the logged metrics
are checked against passlens computed independently from the rewards the trainer saw.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
import warnings
from collections import defaultdict, deque
from typing import Any

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl", reason="TRL is not installed (pip install 'passlens[trl]')")
try:
    import passlens.integrations.trl as pt
except ImportError as e:  # an installed TRL outside the supported range: the adapter refuses it
    if "supports trl" not in str(e):
        raise
    pytest.skip(str(e), allow_module_level=True)

import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers  # noqa: E402
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

import passlens  # noqa: E402
from passlens.advantages import AnswerCounts  # noqa: E402
from passlens.integrations import exploration_metrics, grouped_advantage  # noqa: E402

G = 4
WORDS = ["a", "b", "c", "d", "e", "f", "g", "h"]
GOOD = ("a", "b", "c", "d")  # a completion is correct when its first word is one of these


# ---------------------------------------------------------------------------------------
# a tiny offline GRPO setup


def _tokenizer() -> PreTrainedTokenizerFast:
    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    vocab.update({f"q{i}": len(vocab) + i for i in range(4)})
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")


def _model(vocab_size: int) -> Qwen2ForCausalLM:
    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=vocab_size, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=64, pad_token_id=0, eos_token_id=1, tie_word_embeddings=True,
    )
    return Qwen2ForCausalLM(cfg)


def _dataset(n: int = 4) -> Dataset:
    return Dataset.from_dict({"prompt": [f"q{i % 4} {WORDS[i % 8]}" for i in range(n)], "pid": list(range(n))})


def first_word(text: str) -> str:
    words = text.split()
    return words[0] if words else ""


def accuracy(completions: list[str], **kwargs: Any) -> list[float]:
    return [float(first_word(c) in GOOD) for c in completions]


def accuracy_or_none(completions: list[str], **kwargs: Any) -> list[float | None]:
    """``accuracy``, but local sample 1 (group 0, sample 1 on one process) is unscorable."""
    return [None if i == 1 else r for i, r in enumerate(accuracy(completions))]


def length_bonus(completions: list[str], **kwargs: Any) -> list[float]:
    return [0.25 * min(len(c.split()), 2) for c in completions]


def answer_of(prompts: list[str], completions: list[str], **kwargs: Any) -> list[str]:
    assert "pid" in kwargs and "trainer_state" in kwargs  # called like a reward function
    return [first_word(c) for c in completions]


class Recording:
    """Keeps what the trainer saw and produced, per generation batch (mixed in before the trainer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.rec: dict[str, list[Any]] = defaultdict(list)
        super().__init__(*args, **kwargs)

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rpf = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self.rec["rewards"].append(rpf.detach().clone())
        self.rec["prompts"].append([row["prompt"] for row in inputs])
        self.rec["completions"].append(list(completions))
        return rpf

    def _generate_and_score_completions(self, inputs):
        out = super()._generate_and_score_completions(inputs)
        self.rec["mode"].append("train" if self.model.training else "eval")
        self.rec["out"].append({k: v.detach().clone() if torch.is_tensor(v) else v for k, v in out.items()})
        self.rec["table"].append(list(self._logs["advantages"]))
        return out

    def _compute_loss(self, model, inputs):
        self.rec["loss_advantages"].append(inputs["advantages"].detach().clone())
        return super()._compute_loss(model, inputs)


class RecPasslens(Recording, pt.PasslensGRPOTrainer):
    pass


class RecTRL(Recording, GRPOTrainer):
    pass


def make(tmp_path: Any, cls: type = RecPasslens, *, reward_funcs: Any = accuracy, config: dict[str, Any] | None = None,
         n_prompts: int = 4, eval_dataset: Dataset | None = None, **kwargs: Any) -> Any:
    tok = _tokenizer()
    cfg = dict(
        output_dir=str(tmp_path), use_cpu=True, report_to=[], max_steps=2, logging_steps=1,
        per_device_train_batch_size=2 * G, num_generations=G, max_completion_length=6, seed=0, bf16=False,
        loss_type="dr_grpo", save_strategy="no", per_device_eval_batch_size=2 * G,
    )
    cfg.update(config or {})
    return cls(
        model=_model(len(tok)), reward_funcs=reward_funcs, args=GRPOConfig(**cfg), train_dataset=_dataset(n_prompts),
        eval_dataset=eval_dataset, processing_class=tok, **kwargs,
    )


def train_logs(trainer: Any) -> list[dict[str, float]]:
    return [h for h in trainer.state.log_history if "loss" in h]


# ---------------------------------------------------------------------------------------
# pure helpers


def test_process_slice_partitions_the_gathered_batch_in_process_order() -> None:
    for P, n_local in [(1, 8), (2, 8), (4, 3), (3, 0)]:
        rows = np.arange(P * n_local)
        parts = [rows[pt.process_slice(p, P, n_local, P * n_local)] for p in range(P)]
        assert all(part.size == n_local for part in parts)
        np.testing.assert_array_equal(np.concatenate(parts), rows)
    assert pt.process_slice(1, 2, 8, 16) == slice(8, 16)
    with pytest.raises(ValueError, match=r"process_index must be in \[0, 2\), got 2"):
        pt.process_slice(2, 2, 8, 16)
    with pytest.raises(ValueError, match="has 12 rows, expected 2 processes × 8 local samples"):
        pt.process_slice(0, 2, 8, 12)


@pytest.mark.parametrize("version", ["1.10.0", "1.10.0.dev0", "1.16.0", "1.99.3", "1.17.0rc1"])
def test_supported_versions_pass(version: str) -> None:
    pt.check_trl_version(version)


@pytest.mark.parametrize("version", ["1.9.0", "0.29.1", "2.0.0", "2.0.0.dev0", "not-a-version"])
def test_unsupported_versions_are_one_line_import_errors(version: str) -> None:
    with pytest.raises(ImportError) as err:
        pt.check_trl_version(version)
    msg = str(err.value)
    assert "\n" not in msg and version in msg and pt.SUPPORTED_TRL in msg


def test_trainer_api_check() -> None:
    pt.check_trainer_api(GRPOTrainer, "1.16.0")

    class NoHook:
        def _generate_and_score_completions(self, inputs: Any) -> None: ...

    class Renamed(NoHook):
        def _calculate_rewards(self, inputs: Any, prompts: Any, completions: Any) -> None: ...

    with pytest.raises(ImportError, match=r"trl 9\.9 GRPOTrainer has no _calculate_rewards\(\)"):
        pt.check_trainer_api(NoHook, "9.9")
    with pytest.raises(ImportError, match=r"takes \(inputs, prompts, completions\), expected .*completion_ids_list"):
        pt.check_trainer_api(Renamed, "9.9")


def test_weighted_rewards_match_a_loop() -> None:
    nan = float("nan")
    rpf = torch.tensor([[1.0, 0.5], [nan, 0.5], [nan, nan], [0.0, nan], [1.0, 1.0]])
    w = torch.tensor([2.0, -1.0])
    got = pt.weighted_rewards(rpf, w)
    expected = []
    for row in rpf.tolist():
        terms = [wi * v for wi, v in zip(w.tolist(), row) if not math.isnan(v)]
        expected.append(sum(terms) if terms else nan)
    np.testing.assert_array_equal(got.numpy(), np.array(expected, dtype=np.float32))
    with pytest.raises(ValueError, match="reward_weights"):
        pt.weighted_rewards(rpf, torch.ones(3))


def test_correctness_rule() -> None:
    nan = float("nan")
    rpf = torch.tensor([[1.0, 0.5], [0.0, 0.5], [nan, nan], [nan, 0.0], [1.0, 0.0]])
    w = torch.tensor([1.0, 1.0])
    values, valid, correct = pt.correctness(rpf, w)  # weighted sum > 0
    np.testing.assert_array_equal(valid, [True, True, False, True, True])
    np.testing.assert_array_equal(correct, [True, True, False, False, True])
    values, valid, correct = pt.correctness(rpf, w, threshold=0.75)
    np.testing.assert_array_equal(correct, [True, False, False, False, True])
    values, valid, correct = pt.correctness(rpf, w, reward_index=0)  # the first function alone
    np.testing.assert_array_equal(valid, [True, True, False, False, True])
    np.testing.assert_array_equal(correct, [True, False, False, False, True])
    np.testing.assert_array_equal(values[valid], [1.0, 0.0, 1.0])


def test_trl_advantages_full_groups_equal_the_registry_on_the_reshaped_batch() -> None:
    rng = np.random.default_rng(0)
    r = torch.tensor(rng.integers(0, 2, size=24), dtype=torch.float32)
    info = pt.trl_advantages("pkpo:k=2", r, G)
    assert torch.equal(info.advantages, passlens.advantage("pkpo:k=2", r.view(-1, G)).reshape(-1))
    assert info.advantages.dtype == torch.float32


def test_trl_advantages_leave_unscorable_samples_out_of_their_group() -> None:
    nan = float("nan")
    r = torch.tensor([1.0, nan, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, nan, nan, nan, nan, 1.0, nan, 0.0, 0.0])
    info = pt.trl_advantages("rloo", r, G)
    keep = ~torch.isnan(r)
    expected = grouped_advantage("rloo", r[keep], (np.arange(16) // G)[keep.numpy()])
    assert torch.equal(info.advantages[keep], expected)
    assert torch.equal(info.advantages[~keep], torch.zeros(6))
    # group 0 has 3 scorable samples: rloo on [1, 0, 1], not on [1, 0, 0, 1] (a 0 for the None)
    np.testing.assert_allclose(info.advantages[[0, 2, 3]].numpy(), [0.5, -1.0, 0.5], rtol=1e-6)


def test_trl_advantages_small_groups_error_or_zero() -> None:
    nan = float("nan")
    r = torch.tensor([1.0, nan, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match=r"group 0 has 3 samples, too few .*small_groups='zero'"):
        pt.trl_advantages("pkpo:k=4", r, G)
    info = pt.trl_advantages("pkpo:k=4", r, G, small_groups="zero")
    assert info.zeroed == 1
    assert torch.equal(info.advantages[:4], torch.zeros(4))
    assert torch.equal(info.advantages[4:], passlens.advantage("pkpo:k=4", r[4:].view(1, G)).reshape(-1))


def test_binary_only_estimators_refuse_graded_rewards() -> None:
    r = torch.tensor([1.0, 0.0, 0.5, 1.0, 0.0, 0.0, 1.0, 1.0])
    for spec in ("alpha_rloo:k=2", "passk_analytic:k=2"):
        with pytest.raises(ValueError, match=r"needs 0/1 rewards, but sample 2 \(group 0\) has weighted reward 0.5"):
            pt.trl_advantages(spec, r, G)
    with pytest.raises(ValueError, match="multiple of num_generations=3"):
        pt.trl_advantages("rloo", r, 3)


def test_trl_metrics_are_the_unbiased_estimators_per_group() -> None:
    correct = np.array([1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1], dtype=bool)
    valid = np.ones(12, dtype=bool)
    values = correct.astype(np.float64)
    m = pt.trl_metrics(values, valid, correct, G, (1, 2, 8))
    c = np.array([2, 0, 4])
    for k in (1, 2):
        assert m[f"passlens/pass@{k}"] == pytest.approx(passlens.pass_at_k(G, c, k).mean(), abs=1e-15)
        assert m[f"passlens/pass^{k}"] == pytest.approx(passlens.pass_hat_k(G, c, k).mean(), abs=1e-15)
    assert "passlens/pass@8" not in m  # k > G is not logged
    assert m["passlens/never_solved"] == pytest.approx(1 / 3) and m["passlens/always_solved"] == pytest.approx(1 / 3)
    assert m["passlens/zero_signal@4"] == pytest.approx(2 / 3) and m["passlens/unscored"] == 0.0
    assert "passlens/prompts" not in m and "passlens/maj@1" not in m
    # a left-out sample: its group has 3 samples, pass@4 averages over the other groups
    valid[0] = False
    m = pt.trl_metrics(values, valid, correct, G, (1, 4), answers=list("abcdabcdaaab"))
    assert m["passlens/unscored"] == pytest.approx(1 / 12) and m["passlens/prompts@4"] == 2.0
    assert m["passlens/pass@1"] == pytest.approx(np.mean([1 / 3, 0.0, 1.0]))
    assert "passlens/maj@1" in m and "passlens/coverage@4" in m and "passlens/distinct_correct" in m
    # no group keeps 4 samples: pass@4 is left out (TRL would log None), prompts@4 says why
    valid[[4, 8]] = False
    m = pt.trl_metrics(values, valid, correct, G, (1, 4))
    assert "passlens/pass@4" not in m and "passlens/pass^4" not in m and m["passlens/prompts@4"] == 0.0
    assert all(not math.isnan(v) for v in m.values())


def test_replace_tail() -> None:
    log: deque[float] = deque([9.0, 1.0, 2.0], maxlen=4)
    pt.replace_tail(log, [5.0, 6.0])
    assert list(log) == [9.0, 5.0, 6.0]
    log = deque([1.0, 2.0], maxlen=2)  # the bound already dropped older entries: the newest are written
    pt.replace_tail(log, [5.0, 6.0, 7.0])
    assert list(log) == [6.0, 7.0]


# ---------------------------------------------------------------------------------------
# construction checks (real GRPOTrainer)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(advantage="nope"), r"advantage='nope': unknown advantage estimator 'nope'; valid names: rloo"),
        (dict(advantage="pkpo:k=2,beta=1"), r"advantage='pkpo:k=2,beta=1': pkpo: unknown parameter 'beta'"),
        (dict(advantage="pkpo"), r"advantage='pkpo': pkpo: missing required parameter\(s\) k"),
        (dict(advantage="pkpo:k=8"), r"advantage='pkpo:k=8' cannot run on groups of num_generations=4: .*k"),
        (dict(advantage="coverage:k=2"), r"advantage='coverage:k=2' needs answers: pass answer_fn="),
        (dict(advantage="novelty"), r"advantage='novelty' needs answers"),
        (dict(advantage=3), r"advantage must be a registry spec string"),
        (dict(passk=()), r"passk must be a non-empty sequence of integers ≥ 1"),
        (dict(passk=(0, 2)), r"passk must be"),
        (dict(passk=8), r"passk must be"),
        (dict(passk=(1.5,)), r"passk must be"),
        (dict(small_groups="drop"), r"small_groups must be 'error' or 'zero', got 'drop'"),
        (dict(correct_reward="acc"), r"correct_reward='acc' is not a reward function; they are: \['accuracy'\]"),
        (dict(correct_threshold=float("nan")), r"correct_threshold must be a finite number"),
    ],
)
def test_bad_arguments_are_one_line_value_errors(tmp_path: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        make(tmp_path, pt.PasslensGRPOTrainer, **kwargs)
    assert "\n" not in str(err.value)


def test_normalize_then_sum_is_refused_with_an_advantage(tmp_path: Any) -> None:
    cfg = {"multi_objective_aggregation": "normalize_then_sum"}
    with pytest.raises(ValueError, match="needs multi_objective_aggregation='sum_then_normalize'"):
        make(tmp_path, pt.PasslensGRPOTrainer, config=cfg, advantage="rloo")
    make(tmp_path, pt.PasslensGRPOTrainer, config=cfg)  # metrics only: allowed


def test_warnings_for_settings_that_break_unbiasedness_or_are_ignored(tmp_path: Any) -> None:
    with pytest.warns(UserWarning, match=r"loss_type='dapo' .* use loss_type='dr_grpo'"):
        make(tmp_path, pt.PasslensGRPOTrainer, config={"loss_type": "dapo"}, advantage="pkpo:k=2")
    with pytest.warns(UserWarning, match=r"scale_rewards='none' is ignored"):
        make(tmp_path, pt.PasslensGRPOTrainer, config={"scale_rewards": "none"}, advantage="rloo")
    with pytest.warns(UserWarning, match=r"passk budgets \[16\] exceed num_generations=4 \(eval: 4\)"):
        make(tmp_path, pt.PasslensGRPOTrainer, passk=(1, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        make(tmp_path, pt.PasslensGRPOTrainer, advantage="pkpo:k=2")  # dr_grpo: no warning
        make(tmp_path, pt.PasslensGRPOTrainer, config={"loss_type": "dapo"}, advantage="grpo")  # biased anyway


# ---------------------------------------------------------------------------------------
# end to end


def test_pkpo_advantages_reach_the_loss_and_pass_at_k_is_logged(tmp_path: Any) -> None:
    trainer = make(tmp_path, advantage="pkpo:k=2")
    trainer.train()
    rec = trainer.rec
    assert rec["mode"] == ["train", "train"]
    logs = train_logs(trainer)
    assert len(logs) == 2
    for step, rpf in enumerate(rec["rewards"]):
        assert rpf.shape == (2 * G, 1)
        expected = passlens.advantage("pkpo:k=2", rpf[:, 0].view(-1, G)).reshape(-1)  # (N,)
        assert torch.equal(rec["out"][step]["advantages"], expected)  # one process: the slice is everything
        # TRL shuffles the batch before the loss: the same values, in another order
        assert torch.equal(rec["loss_advantages"][step].sort().values, expected.sort().values)
        assert rec["table"][step] == expected.tolist()  # the completions table shows what was used
        c = rpf[:, 0].view(-1, G).sum(1).numpy().astype(int)
        for k in (1, 2, 4):
            want = passlens.pass_at_k(G, c, k).mean()
            assert logs[step][f"passlens/pass@{k}"] == pytest.approx(want, abs=1e-12)
        assert "passlens/pass@8" not in logs[step]
        assert logs[step]["passlens/pass^2"] == pytest.approx(passlens.pass_hat_k(G, c, 2).mean(), abs=1e-12)
        assert logs[step]["passlens/zero_signal@4"] == pytest.approx(np.mean((c == 0) | (c == G)), abs=1e-12)
    # the run must have had signal, or the comparison above proves little
    assert any(bool(out["advantages"].abs().sum() > 0) for out in rec["out"])
    trl_default = [passlens.advantage("grpo:eps=0.0001", r[:, 0].view(-1, G)).reshape(-1) for r in rec["rewards"]]
    assert any(not torch.allclose(out["advantages"], d) for out, d in zip(rec["out"], trl_default))


def test_a_scheduled_spec_takes_trls_global_step(tmp_path: Any) -> None:
    """advantage="pkpo:k=2/1/rloo": the first update (global_step 0) uses pkpo, the second rloo."""
    trainer = make(tmp_path, advantage="pkpo:k=2/1/rloo")
    trainer.train()
    rec = trainer.rec
    assert len(rec["rewards"]) == 2
    for step, (spec, rpf) in enumerate(zip(("pkpo:k=2", "rloo"), rec["rewards"])):
        expected = passlens.advantage(spec, rpf[:, 0].view(-1, G)).reshape(-1)
        assert torch.equal(rec["out"][step]["advantages"], expected), step
    # and a mix is its parts' weighted sum, group by group
    r = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0])
    got = pt.trl_advantages("rloo@0.5+pkpo:k=2,variant=s@2", r, G).advantages
    want = (0.5 * passlens.advantage("rloo", r.view(-1, G)) + 2 * passlens.advantage("pkpo:k=2,variant=s", r.view(-1, G)))
    torch.testing.assert_close(got, want.reshape(-1), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="changes over training steps: pass step="):
        pt.trl_advantages("pkpo:k=2/1/rloo", r, G)


def test_metrics_only_keeps_trl_advantages(tmp_path: Any) -> None:
    """advantage=None: the same run as plain GRPOTrainer, plus passlens metrics."""
    funcs = [accuracy, length_bonus]
    cfg = {"reward_weights": [1.0, 0.5]}
    ours = make(tmp_path / "a", reward_funcs=funcs, config=cfg, correct_reward="accuracy")
    ours.train()
    theirs = make(tmp_path / "b", RecTRL, reward_funcs=funcs, config=cfg)  # built after: the same seeded RNG
    theirs.train()
    for a, b in zip(ours.rec["out"], theirs.rec["out"], strict=True):
        assert torch.equal(a["completion_ids"], b["completion_ids"])  # the same samples ...
        assert torch.equal(a["advantages"], b["advantages"])  # ... and TRL's advantages, untouched
    for ra, rb in zip(ours.rec["rewards"], theirs.rec["rewards"], strict=True):
        assert torch.equal(ra, rb)
    logs_a, logs_b = train_logs(ours), train_logs(theirs)
    assert not any(k.startswith("passlens/") for k in logs_b[0])
    for step, rpf in enumerate(ours.rec["rewards"]):
        acc = rpf[:, 0].view(-1, G)  # correctness: the accuracy function alone, not the weighted sum
        assert logs_a[step]["passlens/pass@1"] == pytest.approx(float(acc.mean()), abs=1e-7)
        assert "passlens/max@2" not in logs_a[step]  # accuracy is 0/1: no max@k
        # TRL's default = GRPO with ε = 1e-4 (ddof 1) on the weighted sum: TRL's own values reached the loss
        weighted = pt.weighted_rewards(rpf, torch.tensor([1.0, 0.5])).view(-1, G)
        expected_trl = passlens.advantage("grpo:eps=0.0001", weighted)
        torch.testing.assert_close(ours.rec["out"][step]["advantages"], expected_trl.reshape(-1), atol=1e-5, rtol=1e-5)


def test_graded_rewards_log_max_at_k(tmp_path: Any) -> None:
    trainer = make(tmp_path, reward_funcs=[accuracy, length_bonus], config={"max_steps": 1}, passk=(2,))
    trainer.train()
    (log,) = train_logs(trainer)
    r = pt.weighted_rewards(trainer.rec["rewards"][0], torch.ones(2)).view(-1, G).double().numpy()
    assert log["passlens/max@2"] == pytest.approx(passlens.max_at_k(list(r), 2).mean(), abs=1e-12)
    assert log["passlens/pass@2"] == pytest.approx(passlens.pass_at_k(G, (r > 0).sum(1), 2).mean(), abs=1e-12)


def test_coverage_with_answer_fn_and_an_unscorable_sample(tmp_path: Any) -> None:
    trainer = make(tmp_path, reward_funcs=accuracy_or_none, advantage="coverage:k=2", answer_fn=answer_of)
    trainer.train()
    logs = train_logs(trainer)
    for step, rpf in enumerate(trainer.rec["rewards"]):
        r = rpf[:, 0]
        assert bool(torch.isnan(r[1])) and int(torch.isnan(r).sum()) == 1
        answers = [first_word(c) for c in trainer.rec["completions"][step]]
        keep = ~torch.isnan(r)
        index = (np.arange(2 * G) // G)[keep.numpy()]
        kept_answers = np.array(answers, dtype=object)[keep.numpy()]
        expected = grouped_advantage("coverage:k=2", r[keep], index, answers=kept_answers)
        adv = trainer.rec["out"][step]["advantages"]
        assert adv[1] == 0.0  # unscorable: advantage 0 ...
        assert torch.equal(adv[keep], expected)  # ... and left out of group 0's baseline
        m = exploration_metrics(r[keep].numpy() > 0, index, answers=kept_answers, ks=[1, 2, 4], group_size=G)
        for key in ("pass@1", "maj@2", "coverage@2", "coverage@4", "distinct_correct", "prompts@4"):
            assert logs[step][f"passlens/{key}"] == pytest.approx(m[key], abs=1e-12)
        assert logs[step]["passlens/unscored"] == pytest.approx(1 / (2 * G))
    assert any(bool(out["advantages"].abs().sum() > 0) for out in trainer.rec["out"])


def test_too_small_group_and_graded_rewards_fail_training_with_one_line(tmp_path: Any) -> None:
    trainer = make(tmp_path / "a", reward_funcs=accuracy_or_none, advantage="pkpo:k=4", config={"max_steps": 1})
    with pytest.raises(ValueError, match=r"pkpo: group 0 has 3 samples, too few .*small_groups='zero'"):
        trainer.train()
    trainer = make(tmp_path / "b", reward_funcs=accuracy_or_none, advantage="pkpo:k=4", config={"max_steps": 1},
                   small_groups="zero")
    trainer.train()
    assert torch.equal(trainer.rec["out"][0]["advantages"][:G], torch.zeros(G))
    assert train_logs(trainer)[0]["passlens/zeroed_groups"] == 1.0
    trainer = make(tmp_path / "c", reward_funcs=[accuracy, length_bonus], advantage="alpha_rloo:k=2",
                   config={"max_steps": 1})
    with pytest.raises(ValueError, match=r"alpha_rloo needs 0/1 rewards, but sample \d+ \(group \d\)"):
        trainer.train()


def test_eval_logs_metrics_and_keeps_trl_advantages(tmp_path: Any) -> None:
    trainer = make(tmp_path, advantage="pkpo:k=2", eval_dataset=_dataset(4), config={"num_generations_eval": G})
    out = trainer.evaluate()
    assert set(trainer.rec["mode"]) == {"eval"}
    assert "eval_passlens/pass@1" in out and "eval_passlens/pass@4" in out
    c_all = []
    for step, rpf in enumerate(trainer.rec["rewards"]):
        r = rpf[:, 0].view(-1, G)
        c_all.append(r.sum(1))
        trl_adv = passlens.advantage("grpo:eps=0.0001", r).reshape(-1)  # TRL's own (group-scaled) advantages
        torch.testing.assert_close(trainer.rec["out"][step]["advantages"], trl_adv, atol=1e-5, rtol=1e-5)
    # log() averages the per-batch values
    per_batch = [passlens.pass_at_k(G, c.numpy().astype(int), 2).mean() for c in c_all]
    assert out["eval_passlens/pass@2"] == pytest.approx(np.mean(per_batch), abs=1e-12)


@pytest.mark.parametrize("num_iterations", [1, 2])  # 1: one extra forward pass; 2: TRL's old_per_token_logps
def test_unlikeliness_uses_sequence_logprobs_of_the_sampling_policy(tmp_path: Any, num_iterations: int,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[torch.Tensor] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        used.append(kwargs["logprobs"].detach().clone())
        return trl_advantages(*args, **kwargs)

    trl_advantages = pt.trl_advantages
    monkeypatch.setattr(pt, "trl_advantages", spy)
    trainer = make(tmp_path, advantage="unlikeliness",
                   config={"max_steps": 1, "num_iterations": num_iterations, "max_completion_length": 12})
    frozen = copy.deepcopy(trainer.model)  # the weights that sampled step 0, without TRL's fused LM head
    frozen_ref = _model(trainer.model.config.vocab_size)  # a freshly built model with the same seed
    assert all(torch.equal(a, b) for a, b in zip(frozen_ref.state_dict().values(), frozen.state_dict().values()))
    trainer.train()
    out = trainer.rec["out"][0]
    assert ("old_per_token_logps" in out) == (num_iterations == 2)
    ids = torch.cat([out["prompt_ids"], out["completion_ids"]], dim=1)
    attention = torch.cat([out["prompt_mask"], out["completion_mask"]], dim=1)
    C = out["completion_ids"].shape[1]
    with torch.no_grad():
        logits = frozen_ref(input_ids=ids, attention_mask=attention).logits[:, -C - 1:-1].double()  # (B, C, V)
    token_logps = torch.log_softmax(logits, -1).gather(-1, out["completion_ids"].unsqueeze(-1)).squeeze(-1)
    seq = (token_logps * out["completion_mask"]).sum(-1)  # (B,)
    assert len(used) == 1 and bool((out["completion_mask"] == 0).any())  # some padding to mask
    torch.testing.assert_close(used[0].double(), seq, atol=2e-5, rtol=0)
    r = trainer.rec["rewards"][0][:, 0].view(-1, G)
    expected = passlens.advantage("unlikeliness", r, logprobs=seq.float().view(-1, G)).reshape(-1)
    torch.testing.assert_close(out["advantages"], expected, atol=1e-6, rtol=0)


def test_novelty_keeps_its_answer_counts_across_steps(tmp_path: Any) -> None:
    trainer = make(tmp_path, advantage="novelty:bonus=0.5", answer_fn=answer_of, config={"max_steps": 2},
                   n_prompts=2)  # 2 prompts, seen at both steps
    trainer.train()
    state = AnswerCounts()
    for step, rpf in enumerate(trainer.rec["rewards"]):
        answers = [first_word(c) for c in trainer.rec["completions"][step]]
        expected = grouped_advantage("novelty:bonus=0.5", rpf[:, 0], np.arange(2 * G) // G, answers=answers,
                                     state=state, prompt_ids=trainer.rec["prompts"][step])
        assert torch.equal(trainer.rec["out"][step]["advantages"], expected)
    assert len(state) > 0 and state.state_dict() == trainer.passlens_state.state_dict()


_TWO_PROCESS_SCRIPT = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import test_integration_trl as t
trainer = t.make(sys.argv[2], reward_funcs=t.accuracy_or_none, advantage="coverage:k=2", answer_fn=t.answer_of,
                 config={"per_device_train_batch_size": t.G})
trainer.train()
rec = trainer.rec
with open(os.path.join(sys.argv[2], f"rank{trainer.accelerator.process_index}.json"), "w") as f:
    json.dump({"world": trainer.accelerator.num_processes, "rewards": [r[:, 0].tolist() for r in rec["rewards"]],
               "completions": rec["completions"], "advantages": [o["advantages"].tolist() for o in rec["out"]],
               "table": rec["table"], "logs": [{k: v for k, v in h.items() if k.startswith("passlens/")}
                                               for h in t.train_logs(trainer)]}, f)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="two CPU processes with torch.distributed (gloo), Linux only")
def test_two_processes_slice_the_gathered_batch_and_agree_on_metrics(tmp_path: Path) -> None:
    """torchrun, 2 CPU processes, one group each: every process gets its slice of the global advantages."""
    script = tmp_path / "run.py"
    script.write_text(_TWO_PROCESS_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script),
         str(Path(__file__).parent), str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{p}.json").read_text()) for p in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["rewards"] == ranks[1]["rewards"] and ranks[0]["logs"] == ranks[1]["logs"]
    for step, rewards in enumerate(ranks[0]["rewards"]):
        r = torch.tensor(rewards)  # (2G,) gathered: process 0's group, then process 1's
        assert r.shape == (2 * G,) and int(torch.isnan(r).sum()) == 2  # local sample 1 of each process
        answers = [first_word(c) for p in (0, 1) for c in ranks[p]["completions"][step]]  # gathered in process order
        expected = pt.trl_advantages("coverage:k=2", r, G, answers=answers).advantages
        for p in (0, 1):
            assert ranks[p]["advantages"][step] == expected[p * G:(p + 1) * G].tolist()
            assert ranks[p]["table"][step] == expected.tolist()
        keep = ~torch.isnan(r)
        m = exploration_metrics(r[keep].numpy() > 0, (np.arange(2 * G) // G)[keep.numpy()],
                                answers=np.array(answers, dtype=object)[keep.numpy()], ks=[1, 2, 4], group_size=G)
        for key in ("pass@1", "pass@2", "coverage@2", "distinct_correct"):
            assert ranks[0]["logs"][step][f"passlens/{key}"] == pytest.approx(m[key], abs=1e-12)
        assert "passlens/pass@4" not in ranks[0]["logs"][step]  # no group kept 4 samples
    assert any(any(a != 0 for a in rank["advantages"][s]) for rank in ranks for s in range(2))
