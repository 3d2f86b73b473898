"""passlens.rl model, KV-cache sampler, trainer step, run directory, resume (tiny configs, CPU)."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from passlens.rl.checkpoint import load_checkpoint  # noqa: E402
from passlens.rl.model import GPT, ModelConfig  # noqa: E402
from passlens.rl.sampler import left_pad, sample, sequence_logprobs  # noqa: E402
from passlens.rl.tasks import TASKS, Problem, Task, register  # noqa: E402
from passlens.rl.tokenizer import EOS, PAD, CharTokenizer  # noqa: E402
from passlens.rl.trainer import TrainConfig, Trainer  # noqa: E402
from passlens.rl.warmstart import WarmStartConfig  # noqa: E402

torch.set_num_threads(1)
TOK = CharTokenizer()
TINY = ModelConfig(d_model=32, n_layer=2, n_head=2, block_size=40)


class DigitFirst(Task):
    """Toy task for RL tests: reward 1 when the answer starts with a digit (≈ 20% under a random policy)."""

    name = "digit_first_test"
    max_answer_len = 3

    def _make(self, rng: random.Random) -> Problem:
        x = rng.randrange(10_000)
        return Problem(str(x), {"x": x})

    def prompt(self, problem: Problem) -> str:
        return f"{problem.data['x']}:"

    def verify(self, problem: Problem, answer: str) -> float:
        return float(answer[:1].isdigit())

    def answer_class(self, problem: Problem, answer: str) -> str | None:
        return answer[:1] if self.verify(problem, answer) else None

    def references(self, problem: Problem) -> list[str]:
        return [str(problem.data["x"] % 10)]


@pytest.fixture(autouse=True)
def _toy_task():
    register(DigitFirst)
    yield
    TASKS.pop(DigitFirst.name, None)


def tiny_cfg(**kw) -> TrainConfig:
    base = dict(
        task=DigitFirst.name, objective="rloo", steps=4, prompts_per_step=4, n=4, lr=1e-3, train_problems=50,
        eval_problems=4, eval_every=2, eval_n=8, model=TINY, warm=WarmStartConfig(steps=0), seed=1, device="cpu",
    )
    base.update(kw)
    return TrainConfig(**base)


# -- model and sampler ----------------------------------------------------------------------
def test_default_model_size() -> None:
    n = GPT(ModelConfig()).num_params()
    assert 0.5e6 <= n <= 2e6


def test_kv_cache_logits_equal_uncached() -> None:
    torch.manual_seed(0)
    m = GPT(TINY).eval()
    prompts = [TOK.encode("12+3="), TOK.encode("7:"), TOK.encode("1,2,3>6:")]  # different lengths
    ptok, pvalid = left_pad(prompts)  # (3, Tp)
    B, Tp = ptok.shape
    extra = torch.randint(3, TOK.vocab_size, (B, 6))  # (3, 6) continuation tokens
    seq = torch.cat([ptok, extra], 1)
    valid = torch.cat([pvalid, torch.ones_like(extra, dtype=torch.bool)], 1)
    with torch.no_grad():
        full = m(seq, valid)  # (3, Tp+6, V) uncached
        cache = m.new_cache(B, seq.shape[1])
        steps = [m(ptok, valid, cache, 0)]
        for t in range(6):
            steps.append(m(extra[:, t : t + 1], valid, cache, Tp + t))
        cached = torch.cat(steps, 1)
    real = valid[:, :, None].expand_as(full)
    assert torch.allclose(cached[real], full[real], atol=1e-5)
    # left padding does not change a prompt's logits
    with torch.no_grad():
        alone = m(seq[1:2, Tp - 3 :], valid[1:2, Tp - 3 :])
    assert torch.allclose(alone[0], full[1, Tp - 3 :], atol=1e-5)


def test_sampler_cached_equals_uncached_and_logprobs_match_teacher_forcing() -> None:
    torch.manual_seed(0)
    m = GPT(TINY)
    prompts = [TOK.encode("12+3="), TOK.encode("7:")]
    a = sample(m, prompts, 5, max_new=8, generator=torch.Generator().manual_seed(3), top_p=0.9, temperature=0.8)
    b = sample(m, prompts, 5, max_new=8, generator=torch.Generator().manual_seed(3), top_p=0.9, temperature=0.8,
               use_cache=False)
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.mask, b.mask)
    assert torch.allclose(a.logprobs, b.logprobs, atol=1e-5)
    lp, ent = sequence_logprobs(m, a, temperature=0.8, with_entropy=True)
    assert torch.allclose(lp, a.logprobs, atol=1e-5)
    assert (ent[a.mask] > 0).all() and torch.isfinite(ent).all()
    assert a.tokens.shape == (10, 8) and (a.logprobs[a.mask] < 0).all()
    assert not torch.isin(a.tokens[a.mask], torch.tensor([PAD, 1])).any()  # pad/bos never generated


def test_stop_tokens_and_greedy() -> None:
    torch.manual_seed(0)
    m = GPT(TINY)
    with torch.no_grad():
        m.lm_head.weight[EOS] += 3.0  # make eos likely
    s = sample(m, [TOK.encode("5:")], 64, max_new=10, generator=torch.Generator().manual_seed(0))
    for row_tok, row_mask in zip(s.tokens.tolist(), s.mask.tolist()):
        if EOS in row_tok:
            e = row_tok.index(EOS)
            assert all(row_mask[: e + 1]) and not any(row_mask[e + 1 :])
            assert all(t == PAD for t in row_tok[e + 1 :])
    greedy = sample(m, [TOK.encode("5:")], 3, max_new=6, temperature=0.0)
    nucleus = sample(m, [TOK.encode("5:")], 3, max_new=6, top_p=1e-6, generator=torch.Generator().manual_seed(1))
    assert torch.equal(greedy.tokens, nucleus.tokens)
    assert (greedy.tokens == greedy.tokens[0]).all()


# -- trainer ---------------------------------------------------------------------------------
def test_one_rl_step_raises_logprob_of_rewarded_completions(tmp_path: Path) -> None:
    tr = Trainer(tiny_cfg(prompts_per_step=8, n=8, lr=3e-3), tmp_path / "run")
    before = copy.deepcopy(tr.model)
    tr.train_step()
    s, rewards, adv = tr.last_batch
    r = torch.as_tensor(rewards.reshape(-1))
    assert 0 < r.mean() < 1, "toy reward should be mixed under the initial policy"
    with torch.no_grad():
        old = sequence_logprobs(before, s)[0].sum(1)
        new = sequence_logprobs(tr.model, s)[0].sum(1)
    delta = new - old  # (N,)
    assert delta[r == 1].mean() > 0 > delta[r == 0].mean()
    A = torch.as_tensor(np.asarray(adv).reshape(-1), dtype=torch.float32)
    assert (delta * A).sum() > 0  # first-order: Δ log π aligns with the advantages


def test_rewards_are_grouped_by_prompt_when_prompts_and_samples_differ(tmp_path: Path) -> None:
    """Sample i belongs to prompt i // n: rewards are (B, n) rows per prompt, and the estimator sees those rows."""
    from passlens import advantage
    from passlens.rl.trainer import _decode_all

    tr = Trainer(tiny_cfg(prompts_per_step=3, n=5, lr=3e-3), tmp_path / "run")
    tr.train_step()
    s, rewards, adv = tr.last_batch
    assert rewards.shape == (3, 5) and np.asarray(adv).shape == (3, 5)
    expect = np.array([float(t[:1].isdigit()) for t in _decode_all(tr.tok, s)]).reshape(3, 5)
    np.testing.assert_array_equal(rewards, expect)
    np.testing.assert_allclose(np.asarray(adv), advantage("rloo", expect), rtol=1e-12)


def _every_registry_spec() -> list[str]:
    from passlens.advantages import REGISTRY

    return [name + (":k=2" if "k" in REGISTRY[name].required else "") for name in sorted(REGISTRY)]


@pytest.mark.parametrize("objective", _every_registry_spec())
def test_every_registry_objective_trains(tmp_path: Path, objective: str) -> None:
    """Each registry estimator, by name, drives a step: the trainer passes it what it needs."""
    tr = Trainer(tiny_cfg(objective=objective, prompts_per_step=4, n=4, lr=3e-3), tmp_path / "run")
    before = [p.detach().clone() for p in tr.model.parameters()]
    m = tr.train_step()
    s, rewards, adv = tr.last_batch
    assert np.asarray(adv).shape == rewards.shape == (4, 4) and np.isfinite(np.asarray(adv)).all()
    assert np.isfinite(m["loss"]) and np.isfinite(m["grad_norm"])
    if np.abs(np.asarray(adv)).max() > 0:  # a batch with signal must move the policy
        assert any(not torch.equal(a, b) for a, b in zip(before, tr.model.parameters()))


def test_rl_improves_toy_reward(tmp_path: Path) -> None:
    tr = Trainer(tiny_cfg(steps=25, lr=3e-3, prompts_per_step=8, n=8, eval_every=0), tmp_path / "run")
    m = tr.run()
    first = np.mean([x["reward"] for x in m[:5]])
    last = np.mean([x["reward"] for x in m[-5:]])
    assert last > first + 0.2


@pytest.mark.parametrize("objective,extra", [("novelty", {}), ("pkpo:k=2", {"ppo_epochs": 2, "kl_coef": 0.1, "entropy_coef": 0.01})])
def test_resume_equals_uninterrupted(tmp_path: Path, objective: str, extra: dict) -> None:
    cfg = dict(objective=objective, steps=5, save_every=2, eval_every=2, **extra)
    full = Trainer(tiny_cfg(**cfg), tmp_path / "a")
    full.run()
    killed = Trainer(tiny_cfg(**cfg), tmp_path / "b")
    killed.run(stop_after=3)  # checkpoint at 2; step 3 is lost as in a kill
    resumed = Trainer.resume(tmp_path / "b")
    assert resumed.step == 2
    resumed.run()
    import polars as pl

    a = pl.read_parquet(tmp_path / "a" / "metrics.parquet").drop("seconds")
    b = pl.read_parquet(tmp_path / "b" / "metrics.parquet").drop("seconds")
    assert a.height == 5 and a.equals(b)
    assert a["reward"].n_unique() > 1  # the comparison is not between constant columns
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    ea = pl.read_parquet(tmp_path / "a" / "evals" / "step_000004.parquet")
    eb = pl.read_parquet(tmp_path / "b" / "evals" / "step_000004.parquet")
    assert ea.equals(eb)


@pytest.mark.parametrize("objective", ["rloo", "pkpo:k=2/3/rloo"])
def test_extending_a_finished_run_equals_a_longer_run(tmp_path: Path, objective: str) -> None:
    """A 4-step run extended to 7 (--resume --steps) reproduces a 7-step run: the rows, every
    evaluation, the weights; config.json then says 7. A schedule switching after the old end
    takes effect in the extension as in the long run."""
    import polars as pl

    long = Trainer(tiny_cfg(objective=objective, steps=7), tmp_path / "a")
    long.run()
    Trainer(tiny_cfg(objective=objective, steps=4), tmp_path / "b").run()
    ext = Trainer.resume(tmp_path / "b", steps=7)
    assert ext.step == 4 and json.loads((tmp_path / "b" / "config.json").read_text())["steps"] == 7
    ext.run()
    a = pl.read_parquet(tmp_path / "a" / "metrics.parquet").drop("seconds")
    b = pl.read_parquet(tmp_path / "b" / "metrics.parquet").drop("seconds")
    assert a.height == 7 and a["reward"].n_unique() > 1 and a.equals(b)
    for k, v in long.model.state_dict().items():
        assert torch.equal(v, ext.model.state_dict()[k]), k
    for step in (0, 2, 4, 6, 7):
        name = f"step_{step:06d}.parquet"
        assert pl.read_parquet(tmp_path / "a" / "evals" / name).equals(pl.read_parquet(tmp_path / "b" / "evals" / name))


def test_a_run_cannot_be_shortened_below_the_step_it_reached(tmp_path: Path) -> None:
    Trainer(tiny_cfg(steps=4, eval_every=0), tmp_path / "r").run()
    before = (tmp_path / "r" / "config.json").read_bytes()
    with pytest.raises(ValueError, match=r"--steps 3: the run has already reached step 4"):
        Trainer.resume(tmp_path / "r", steps=3)
    assert (tmp_path / "r" / "config.json").read_bytes() == before
    Trainer.resume(tmp_path / "r", steps=4).close()  # its own length: nothing to change
    assert (tmp_path / "r" / "config.json").read_bytes() == before


def test_scheduled_objective_takes_the_step_and_resume_continues_the_schedule(tmp_path: Path) -> None:
    """pkpo:k=2 for step 0, rloo from step 1 on; a run killed after its first step resumes at rloo."""
    from passlens import advantage

    cfg = dict(objective="pkpo:k=2/1/rloo", steps=2, save_every=1, eval_every=0)
    full = Trainer(tiny_cfg(**cfg), tmp_path / "a")
    full.run()
    killed = Trainer(tiny_cfg(**cfg), tmp_path / "b")
    killed.run(stop_after=1)
    _, rewards, adv = killed.last_batch
    np.testing.assert_allclose(np.asarray(adv), advantage("pkpo:k=2", rewards), rtol=1e-12)
    resumed = Trainer.resume(tmp_path / "b")
    assert resumed.step == 1
    resumed.run()
    _, rewards, adv = resumed.last_batch
    np.testing.assert_allclose(np.asarray(adv), advantage("rloo", rewards), rtol=1e-12)
    import polars as pl

    a = pl.read_parquet(tmp_path / "a" / "metrics.parquet").drop("seconds")
    b = pl.read_parquet(tmp_path / "b" / "metrics.parquet").drop("seconds")
    assert a["objective_in_force"].to_list() == ["pkpo:k=2", "rloo"] and a.equals(b)
    # the objective's term is logged apart from the KL and entropy terms it is summed with
    assert {"pg_loss", "kl", "entropy", "loss"} <= set(a.columns)


def test_mixed_objective_is_the_weighted_sum_and_a_bad_one_is_one_line(tmp_path: Path) -> None:
    from passlens import advantage

    tr = Trainer(tiny_cfg(objective="rloo@0.5+pkpo:k=2,variant=s@0.25"), tmp_path / "run")
    m = tr.train_step()
    _, rewards, adv = tr.last_batch
    want = 0.5 * advantage("rloo", rewards) + 0.25 * advantage("pkpo:k=2,variant=s", rewards)
    np.testing.assert_allclose(np.asarray(adv), want, rtol=1e-12)
    assert "objective_in_force" not in m  # not scheduled: the mix is the same at every step
    with pytest.raises(ValueError, match=r"^objective rloo/5/pkpo:k=8-2,steps=0-9: k=8 exceeds n=4"):
        tiny_cfg(objective="rloo/5/pkpo:k=8-2,steps=0-9")
    with pytest.raises(ValueError, match=r"^objective 'rloo\+novelty': novelty keeps a memory"):
        tiny_cfg(objective="rloo+novelty")


def test_resume_after_a_kill_during_the_warm_start(tmp_path: Path) -> None:
    """config.json exists but no checkpoint: resume redoes the (seeded) warm start and matches a clean run."""
    cfg = tiny_cfg(steps=3, eval_every=3, warm=WarmStartConfig(steps=4, batch=8))
    Trainer(cfg, tmp_path / "a").run()
    killed = Trainer(cfg, tmp_path / "b")
    killed.close()  # the killed process's lock is gone with it
    (tmp_path / "b" / "checkpoints" / "base.pt").unlink()  # as if killed before the base was saved
    messages: list[str] = []
    resumed = Trainer.resume(tmp_path / "b", log=messages.append)
    assert resumed.step == 0 and any("warm start" in m for m in messages)
    assert (tmp_path / "b" / "checkpoints" / "base.pt").exists()
    for k, v in killed.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k  # the same base as before the kill
    resumed.run()
    import polars as pl

    a = pl.read_parquet(tmp_path / "a" / "metrics.parquet").drop("seconds")
    b = pl.read_parquet(tmp_path / "b" / "metrics.parquet").drop("seconds")
    assert a.height == 3 and a.equals(b)


def test_resumed_checkpoint_holds_the_same_state_as_an_uninterrupted_one(tmp_path: Path) -> None:
    """With a KL term the base model is built (and its random init discarded) on the first step of each
    process; that must not advance the global generator, whose state the checkpoint stores."""
    cfg = tiny_cfg(steps=4, save_every=2, eval_every=0, kl_coef=0.1)
    Trainer(cfg, tmp_path / "a").run()
    Trainer(cfg, tmp_path / "b").run(stop_after=3)
    Trainer.resume(tmp_path / "b").run()
    a, b = (load_checkpoint(tmp_path / d / "checkpoints" / "latest.pt") for d in "ab")
    assert a["step"] == b["step"] == 4
    for key in ("torch_generator", "torch_global"):
        assert torch.equal(a["rng"][key], b["rng"][key]), key
    assert a["rng"]["numpy"] == b["rng"]["numpy"] and a["rng"]["python"] == b["rng"]["python"]
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k


def test_resume_with_another_torch_thread_count_says_so(tmp_path: Path) -> None:
    out = tmp_path / "run"
    Trainer(tiny_cfg(steps=4, save_every=2, eval_every=0), out).run(stop_after=2)
    latest = out / "checkpoints" / "latest.pt"
    ck = load_checkpoint(latest)
    now = torch.get_num_threads()
    assert ck["rng"]["torch_threads"] == now
    messages: list[str] = []
    Trainer.resume(out, log=messages.append)
    assert not any("torch threads" in m for m in messages)
    ck["rng"]["torch_threads"] = now + 3
    torch.save(ck, latest)
    Trainer.resume(out, log=messages.append)
    assert [m for m in messages if "torch threads" in m] == [
        f"note: the checkpoint was written with {now + 3} torch threads, this process has {now}: later steps may "
        f"differ from an uninterrupted run in the last bits (OMP_NUM_THREADS={now + 3} continues it exactly)"]
    del ck["rng"]["torch_threads"]  # an older checkpoint: nothing to compare, no note
    torch.save(ck, latest)
    messages.clear()
    Trainer.resume(out, log=messages.append)
    assert not any("torch threads" in m for m in messages)


def test_resume_on_another_device_reseeds_the_sampler_and_says_so(tmp_path: Path) -> None:
    """A checkpoint whose sampler ran on another device (a CUDA generator's 16-byte Philox state) resumes with a
    reseeded stream and a note, instead of failing on the generator's state; same-device resumes stay exact."""
    out = tmp_path / "run"
    Trainer(tiny_cfg(steps=4, save_every=2, eval_every=0), out).run(stop_after=2)
    latest = out / "checkpoints" / "latest.pt"
    ck = load_checkpoint(latest)
    assert ck["rng"]["device"] == "cpu"
    messages: list[str] = []
    Trainer.resume(out, log=messages.append).close()
    assert not any("reseeded" in m for m in messages)  # same device: the exact stream
    ck["rng"]["device"] = "cuda"
    ck["rng"]["torch_generator"] = torch.zeros(16, dtype=torch.uint8)
    torch.save(ck, latest)
    resumed = Trainer.resume(out, log=messages.append, device="cpu")
    resumed.close()
    assert resumed.step == 2
    assert [m for m in messages if "reseeded" in m] == [
        "note: the checkpoint sampled on cuda, this run continues on cpu: the sampling stream is reseeded, "
        "so later steps differ from an uninterrupted run"]
    again = Trainer.resume(out)  # the reseeding is deterministic
    again.close()
    assert torch.equal(resumed.gen.get_state(), again.gen.get_state())
    resumed.run()
    assert resumed.step == 4
    del ck["rng"]["device"]  # an older checkpoint: told apart by the size of its state
    torch.save(ck, latest)
    messages.clear()
    Trainer.resume(out, log=messages.append)
    assert any("sampled on another device" in m for m in messages)


# -- CUDA (run where a GPU is present; CI has none) ------------------------------------------------
cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@cuda_only
def test_cuda_sampler_cached_equals_uncached_and_matches_cpu_scores() -> None:
    torch.manual_seed(0)
    m = GPT(TINY).cuda()
    prompts = [TOK.encode("12+3="), TOK.encode("7:")]

    def draw(cache: bool):
        return sample(m, prompts, 5, max_new=8, generator=torch.Generator("cuda").manual_seed(3), top_p=0.9,
                      temperature=0.8, use_cache=cache)

    a, b = draw(True), draw(False)
    assert a.tokens.is_cuda and a.logprobs.is_cuda
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.mask, b.mask)
    assert torch.allclose(a.logprobs, b.logprobs, atol=1e-4)
    lp, _ = sequence_logprobs(m, a, temperature=0.8)
    assert torch.allclose(lp, a.logprobs, atol=1e-4)
    # The same weights on the CPU score the GPU's completions the same (teacher forcing).
    cpu = copy.deepcopy(m).cpu()
    a_cpu = dataclasses.replace(a, **{f.name: getattr(a, f.name).cpu() for f in dataclasses.fields(a)
                                      if torch.is_tensor(getattr(a, f.name))})
    lp_cpu, _ = sequence_logprobs(cpu, a_cpu, temperature=0.8)
    assert torch.allclose(lp_cpu, a.logprobs.cpu(), atol=1e-4)


@cuda_only
@pytest.mark.parametrize("objective", ["rloo", "novelty", "coverage:k=2", "unlikeliness"])
def test_cuda_training_checkpoints_and_continues_on_cpu(tmp_path: Path, objective: str) -> None:
    """A run on the GPU trains, resumes exactly there, and its checkpoint continues on the CPU."""
    out = tmp_path / "run"
    cfg = tiny_cfg(objective=objective, steps=4, save_every=2, eval_every=2, device="cuda", lr=3e-3)
    tr = Trainer(cfg, out)
    tr.run(stop_after=3)
    assert all(p.is_cuda for p in tr.model.parameters()) and tr.gen.device.type == "cuda"
    assert all(np.isfinite(m["loss"]) and np.isfinite(m["grad_norm"]) for m in tr.metrics)
    resumed = Trainer.resume(out)
    assert resumed.step == 2 and resumed.device.type == "cuda"
    assert torch.equal(resumed.gen.get_state(), load_checkpoint(out / "checkpoints" / "latest.pt")["rng"]["torch_generator"])
    resumed.run()
    assert resumed.step == 4 and (out / "evals" / "step_000004.json").exists()
    config = json.loads((out / "config.json").read_text())
    config["steps"] = 5
    (out / "config.json").write_text(json.dumps(config))
    messages: list[str] = []
    on_cpu = Trainer.resume(out, log=messages.append, device="cpu")  # the same run, continued on the CPU
    assert on_cpu.device.type == "cpu" and any("sampled on cuda" in m for m in messages)
    assert json.loads((out / "config.json").read_text())["device"] == "cuda"  # the override is this process's
    for k, v in resumed.model.state_dict().items():
        assert torch.equal(v.cpu(), on_cpu.model.state_dict()[k]), k
    on_cpu.run()
    assert on_cpu.step == 5


def test_run_directory_format_and_eval_rows_readable(tmp_path: Path) -> None:
    from passlens.io import read

    out = tmp_path / "run"
    Trainer(tiny_cfg(), out).run()
    cfg = TrainConfig.from_dict(json.loads((out / "config.json").read_text()))
    assert cfg == tiny_cfg()
    import polars as pl

    met = pl.read_parquet(out / "metrics.parquet")
    assert met["step"].to_list() == [1, 2, 3, 4]
    for col in ("reward", "pass1", "entropy", "zero_adv_frac", "kl", "clip_frac", "grad_norm", "distinct_correct"):
        assert col in met.columns
    files = sorted((out / "evals").glob("*.parquet"))
    assert [f.name for f in files] == ["step_000000.parquet", "step_000002.parquet", "step_000004.parquet"]
    data = read([str(f) for f in files], by="step")
    assert sorted(data.groups, key=int) == ["0", "2", "4"]
    for table in data.groups.values():
        assert table.n.tolist() == [8] * 4
    summ = json.loads((out / "evals" / "step_000004.json").read_text())
    for key in ("pass_at_k", "gap", "theory", "polarized_fraction", "distinct_correct_mean", "entropy"):
        assert key in summ
    assert summ["pass_at_k"]["k"] == [1, 2, 4, 8]
    est = summ["pass_at_k"]["estimate"]
    assert all(a <= b + 1e-12 for a, b in zip(est, est[1:]))
    rows = pl.read_parquet(files[-1])
    c = rows.group_by("problem_id").agg(pl.col("reward").sum())["reward"].to_numpy()
    assert summ["pass_at_k"]["estimate"][0] == pytest.approx(c.mean() / 8)
    ck = load_checkpoint(out / "checkpoints" / "latest.pt")
    assert ck["step"] == 4
    assert not list(out.rglob(".*tmp*"))  # no temporary files left behind


def test_errors_are_one_line_value_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="valid names"):
        tiny_cfg(objective="ppo_magic")
    with pytest.raises(ValueError, match="valid tasks"):
        tiny_cfg(task="chess")
    with pytest.raises(ValueError, match="exceeds n"):
        Trainer(tiny_cfg(objective="pkpo:k=8", n=4), tmp_path / "k")
    Trainer(tiny_cfg(steps=1, eval_every=0), tmp_path / "r").run()
    with pytest.raises(ValueError, match="already holds a run"):
        Trainer(tiny_cfg(), tmp_path / "r")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="cannot create output folder"):
        Trainer(tiny_cfg(), blocker / "sub")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="corrupt") as ei:
        load_checkpoint(bad)
    assert "\n" not in str(ei.value)
    with pytest.raises(ValueError, match="corrupt"):
        Trainer(tiny_cfg(base=str(bad)), tmp_path / "b")
    with pytest.raises(ValueError, match="not a run directory"):
        Trainer.resume(tmp_path / "nowhere")


def test_base_checkpoint_is_used(tmp_path: Path) -> None:
    Trainer(tiny_cfg(steps=1, eval_every=0, warm=WarmStartConfig(steps=3, batch=8)), tmp_path / "a").run()
    base = tmp_path / "a" / "checkpoints" / "base.pt"
    tr = Trainer(tiny_cfg(base=str(base)), tmp_path / "b")
    sd = load_checkpoint(base)["model"]
    assert all(torch.equal(v, tr.model.state_dict()[k]) for k, v in sd.items())


def test_warm_start_gives_imperfect_diverse_policy_on_countdown() -> None:
    from passlens.rl.tasks import make_task
    from passlens.rl.warmstart import sft_pairs

    t = make_task("countdown")
    probs = t.problems("train", 40, seed=0)
    pairs = sft_pairs(t, probs, WarmStartConfig(max_refs=3, noise=0.3), random.Random(0))
    per = {}
    for prompt, ans in pairs:
        per.setdefault(prompt, []).append(ans)
    assert max(len(v) for v in per.values()) >= 2  # several answers for some problems
    wrong = sum(t.verify(p, a) == 0 for p in probs for a in per[t.prompt(p)])
    assert 0 < wrong < len(pairs) / 2  # some noise, mostly correct


# -- configuration checks (no training) ------------------------------------------------------
BAD_FIELDS = [  # (fields, message): every field checked for type, finiteness and range, named in one line
    ({"entropy_coef": float("nan")}, "entropy_coef must be a finite number ≥ 0, got nan"),
    ({"entropy_coef": float("inf")}, "entropy_coef must be a finite number ≥ 0, got inf"),
    ({"entropy_coef": -1.0}, "entropy_coef must be a finite number ≥ 0, got -1.0"),
    ({"kl_coef": float("nan")}, "kl_coef must be a finite number ≥ 0, got nan"),
    ({"kl_coef": float("inf")}, "kl_coef must be a finite number ≥ 0, got inf"),
    ({"kl_coef": -1}, "kl_coef must be a finite number ≥ 0, got -1"),
    ({"kl_coef": True}, "kl_coef must be a finite number ≥ 0, got True"),
    ({"lr": float("inf")}, r"lr must be a finite number in \(0, 1\], got inf"),
    ({"lr": "abc"}, r"lr must be a finite number in \(0, 1\], got 'abc'"),
    ({"lr": 0}, r"lr must be a finite number in \(0, 1\], got 0"),
    ({"lr": 1e-3, "weight_decay": 1e3}, "lr × weight_decay must be < 1"),
    ({"weight_decay": -0.1}, "weight_decay must be a finite number ≥ 0"),
    ({"temperature": float("inf")}, "temperature must be a finite number ≥ 1e-8, got inf"),
    ({"temperature": 0}, "temperature must be a finite number ≥ 1e-8, got 0"),
    ({"top_p": None}, r"top_p must be a finite number in \(0, 1\], got None"),
    ({"top_p": 1.5}, r"top_p must be a finite number in \(0, 1\], got 1.5"),
    ({"clip_eps": float("nan")}, "clip_eps must be a finite number > 0, got nan"),
    ({"grad_clip": -1}, "grad_clip must be a finite number > 0, got -1"),
    ({"max_new": 0}, r"max_new must be an int in \[1, 39\] or null, got 0"),
    ({"max_new": 40}, r"max_new must be an int in \[1, 39\]"),  # TINY.block_size − 1
    ({"seed": "0"}, r"seed must be an int in \[0, 4294967295\], got '0'"),
    ({"seed": -1}, r"seed must be an int in \[0, 4294967295\], got -1"),
    ({"seed": 2**32}, "seed must be an int in"),
    ({"n": 10**20}, r"n must be an int in \[1, 65536\], got 100000000000000000000"),
    ({"n": True}, "n must be an int in"),
    ({"n": 4.0}, "n must be an int in"),
    ({"prompts_per_step": 4096, "n": 4096}, "prompts_per_step × n must be ≤ 1048576"),
    ({"steps": 0}, r"steps must be an int in \[1, 10000000\], got 0"),
    ({"ppo_epochs": 10**6}, "ppo_epochs must be an int in"),
    ({"eval_every": -1}, r"eval_every must be an int in \[0, 10000000\], got -1"),
    ({"save_every": "2"}, "save_every must be an int in .* or null, got '2'"),
    ({"difficulty": 0}, r"difficulty must be an int in \[1, 1000\] or null, got 0"),
    ({"train_problems": 10**7}, "train_problems must be an int in"),
    ({"task": 3}, "task must be a non-empty string, got 3"),
    ({"base": ""}, "base must be a non-empty string or null"),
    ({"device": "tpu"}, "device must be auto, cpu or cuda, got 'tpu'"),
    ({"objective": "pkpo"}, "objective 'pkpo': pkpo: missing required parameter"),
    ({"objective": "pkpo:k=0"}, "objective pkpo:k=0: k must be ≥ 1, got 0"),
    ({"objective": "pkpo:k=8"}, "objective pkpo:k=8: k=8 exceeds n=4"),
    ({"model": "abc"}, "model must be an object of ModelConfig fields, got 'abc'"),
    ({"model": {"n_head": "2"}}, r"model.n_head must be an int in \[1, 1024\], got '2'"),
    ({"model": {"d_model": 32, "n_head": 3}}, "model.d_model=32 is not divisible by model.n_head=3"),
    ({"model": {"vocab_size": 10}}, "model.vocab_size must be 51 .the tokenizer.s., got 10"),
    ({"model": {"depth": 2}}, "model has unknown field.s. depth"),
    ({"warm": {"steps": "x"}}, r"warm.steps must be an int in \[0, 10000000\], got 'x'"),
    ({"warm": {"steps": -1}}, "warm.steps must be an int in .*, got -1"),
    ({"warm": {"noise": -1}}, r"warm.noise must be a finite number in \[0, 1\], got -1"),
    ({"warm": {"lr": float("nan")}}, "warm.lr must be a finite number"),
    ({"warm": 3}, "warm must be an object of WarmStartConfig fields, got 3"),
    ({"epochs": 3}, "unknown field.s. epochs"),
]


@pytest.mark.parametrize("fields,message", BAD_FIELDS, ids=[str(f) for f, _ in BAD_FIELDS])
def test_config_checks_every_field(fields: dict, message: str) -> None:
    """The Python API and config files (from_dict, as --config and resume read them) are checked alike."""
    ok = tiny_cfg().to_dict()
    for make in (lambda: tiny_cfg(**fields) if "epochs" not in fields else TrainConfig.from_dict(fields),
                 lambda: TrainConfig.from_dict({**ok, **{k: ({**ok[k], **v} if isinstance(v, dict) else v)
                                                         for k, v in fields.items()}})):
        with pytest.raises(ValueError, match=message) as ei:
            make()
        assert "\n" not in str(ei.value)


def test_config_sections_and_numbers_are_normalized() -> None:
    cfg = TrainConfig.from_dict({**tiny_cfg().to_dict(), "lr": 1, "warm": {"steps": 0, "lr": 1}})
    assert isinstance(cfg.lr, float) and isinstance(cfg.warm.lr, float) and cfg.warm.steps == 0
    assert json.loads(json.dumps(cfg.to_dict(), allow_nan=False))["lr"] == 1.0  # valid JSON: no NaN / Infinity
    with pytest.raises(ValueError, match="WarmStartConfig.noise must be a finite number in"):
        WarmStartConfig(noise=float("nan"))
    with pytest.raises(ValueError, match="ModelConfig.n_layer must be an int in"):
        ModelConfig(n_layer=True)
    warm = WarmStartConfig(steps=0)
    warm.steps = -3  # changed after construction: rechecked as part of the run's config
    with pytest.raises(ValueError, match="warm.steps must be an int"):
        tiny_cfg(warm=warm)


def test_block_size_is_checked_before_any_work(tmp_path: Path) -> None:
    small = ModelConfig(d_model=32, n_layer=2, n_head=2, block_size=6)
    with pytest.raises(ValueError, match="model.block_size=6 is too small for digit_first_test"):
        Trainer(tiny_cfg(model=small), tmp_path / "run")
    assert not (tmp_path / "run" / "config.json").exists()  # no half-made run left behind


def test_a_diverging_step_stops_with_one_line(tmp_path: Path) -> None:
    tr = Trainer(tiny_cfg(entropy_coef=3e38), tmp_path / "run")  # finite, but the gradient overflows float32
    with pytest.raises(ValueError, match="step 1: the gradient is not finite.*training diverged"):
        tr.train_step()
    assert all(torch.isfinite(p).all() for p in tr.model.parameters())  # the bad update was not applied


# -- resume with checkpoints missing ---------------------------------------------------------
def test_resume_refuses_when_the_checkpoint_it_needs_is_gone(tmp_path: Path) -> None:
    """A run that had saved a step checkpoint does not silently restart (and overwrite its metrics and evals)
    when checkpoints/latest.pt or the whole checkpoints/ folder was deleted."""
    import shutil

    out = tmp_path / "run"
    Trainer(tiny_cfg(steps=2, eval_every=0), out).run()
    metrics = (out / "metrics.parquet").read_bytes()
    gone = tmp_path / "gone"
    shutil.copytree(out, gone)
    shutil.rmtree(gone / "checkpoints")
    (out / "checkpoints" / "latest.pt").unlink()
    for run_dir in (out, gone):
        with pytest.raises(ValueError, match=r"latest.pt is missing, but the run had saved it at step 2 "
                                             r"\(metrics.parquet records steps 1–2, evals/ has step 2\)") as ei:
            Trainer.resume(run_dir)
        assert "\n" not in str(ei.value)
        assert (run_dir / "metrics.parquet").read_bytes() == metrics
    # a save point passed by later steps is evidence too (eval_every=0: no evals in between)
    mid = tmp_path / "mid"
    Trainer(tiny_cfg(steps=4, save_every=2, eval_every=0), mid).run(stop_after=3)
    (mid / "checkpoints" / "latest.pt").unlink()
    with pytest.raises(ValueError, match="had saved it at step 2 .metrics.parquet records steps 1–3"):
        Trainer.resume(mid)


def test_resume_before_the_first_save_continues_from_the_base(tmp_path: Path) -> None:
    """Killed after some steps but before the first checkpoint: the base is the checkpoint to continue from
    (said in a note); without base.pt such a run is refused rather than restarted."""
    cfg = tiny_cfg(steps=3, save_every=3, eval_every=0)
    Trainer(cfg, tmp_path / "a").run()
    Trainer(cfg, tmp_path / "b").run(stop_after=2)
    assert not (tmp_path / "b" / "checkpoints" / "latest.pt").exists()
    messages: list[str] = []
    resumed = Trainer.resume(tmp_path / "b", log=messages.append)
    assert resumed.step == 0
    assert messages == ["note: no step checkpoint yet (the first is saved at step 3): continuing from the base at "
                        "step 0, so steps 1–2 are run again"]
    resumed.run()
    import polars as pl

    a = pl.read_parquet(tmp_path / "a" / "metrics.parquet").drop("seconds")
    b = pl.read_parquet(tmp_path / "b" / "metrics.parquet").drop("seconds")
    assert a.height == 3 and a.equals(b)
    Trainer(cfg, tmp_path / "c").run(stop_after=1)
    (tmp_path / "c" / "checkpoints" / "base.pt").unlink()
    with pytest.raises(ValueError, match="base.pt is missing, but the run went past its warm start "
                                         r"\(metrics.parquet records steps 1–1\)"):
        Trainer.resume(tmp_path / "c")
