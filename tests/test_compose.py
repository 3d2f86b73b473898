"""Composite objectives: parsing, canonical strings, mixes, schedules, k ramps and their metadata.

Unbiasedness of mixes is proved by enumeration in tests/test_advantage_proofs.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from passlens.advantages import (
    REGISTRY,
    Mix,
    Ramp,
    Schedule,
    Term,
    Window,
    advantage,
    is_composite,
    parse_composite,
)

RNG = np.random.default_rng(0)
R = (RNG.random((6, 8)) < 0.4).astype(np.float64)  # (B, n) binary rewards
A = RNG.integers(0, 3, size=R.shape)  # answers
LP = RNG.normal(size=R.shape)  # log-probabilities


def part(spec: str, r: np.ndarray = R) -> np.ndarray:
    """One estimator computed on its own, through the plain registry path."""
    assert not is_composite(spec)
    return np.asarray(advantage(spec, r, answers=A, logprobs=LP))


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("spec,canonical", [
    ("rloo", "rloo"),
    ("pkpo:k=8", "pkpo:k=8"),
    ("pkpo:variant=s,k=8", "pkpo:k=8,variant=s"),
    ("pkpo:k=8@1", "pkpo:k=8"),
    ("rloo@0.7+coverage:k=8@0.3", "rloo@0.7+coverage:k=8@0.3"),
    ("rloo@2.0+coverage:k=8", "rloo@2+coverage:k=8"),
    ("rloo@1e-3+grpo:eps=1e-6", "rloo@0.001+grpo:eps=1e-06"),
    ("coverage:k=8/300/rloo", "coverage:k=8/300/rloo"),
    ("coverage:k=8/200-400/rloo", "coverage:k=8/200-400/rloo"),
    ("pkpo:k=16-2,steps=0-300", "pkpo:k=16-2,steps=0-300"),
    ("pkpo:variant=s,steps=0-300,k=16-2", "pkpo:k=16-2,steps=0-300,variant=s"),
    ("pkpo:k=4-4,steps=0-9", "pkpo:k=4"),
    ("coverage:k=8@0.5+rloo@0.5/100/pkpo:k=8-2,steps=100-200/250-300/rloo",
     "coverage:k=8@0.5+rloo@0.5/100/pkpo:k=8-2,steps=100-200/250-300/rloo"),
])
def test_spec_object_spec_round_trip(spec: str, canonical: str) -> None:
    obj = parse_composite(spec)
    assert str(obj) == canonical
    assert parse_composite(canonical) == obj  # frozen dataclasses: equal specs, equal objects
    hash(obj)


def test_parsed_types() -> None:
    assert parse_composite("pkpo:k=8") == Term("pkpo", (("k", 8),))
    assert parse_composite("rloo@0.7+coverage:k=8@0.3") == Mix(((0.7, Term("rloo")), (0.3, Term("coverage", (("k", 8),)))))
    assert parse_composite("coverage:k=8/200-400/rloo") == Schedule((Term("coverage", (("k", 8),)), Term("rloo")),
                                                                    (Window(200, 400),))
    assert parse_composite("pkpo:k=16-2,steps=0-300") == Term("pkpo", (), Ramp(16, 2, Window(0, 300)))


@pytest.mark.parametrize("spec", ["rloo", "pkpo:k=8,variant=loo-1", "grpo:eps=1e-6,ddof=0", "grpo:eps=1e+3",
                                  "coverage:k=4", "unlikeliness:beta=0.5", "novelty:bonus=0.2"])
def test_plain_specs_are_not_composite_and_unchanged(spec: str) -> None:
    assert not is_composite(spec)
    name = spec.partition(":")[0]
    st = REGISTRY[name].new_state
    kw = {"state": st(), "prompt_ids": np.arange(R.shape[0])} if st else {}
    want = advantage(spec, R, answers=A, logprobs=LP, **kw)
    kw = {"state": st(), "prompt_ids": np.arange(R.shape[0])} if st else {}
    got = advantage(spec, R, answers=A, logprobs=LP, step=123, **kw)  # a plain spec ignores step
    assert np.array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize("spec,message", [
    ("rloo@x", "objective 'rloo@x': weight 'x' is not a number"),
    ("rloo@0+pkpo:k=2", "weight '0' must be positive and finite"),
    ("rloo@-1+pkpo:k=2", "weight '-1' must be positive and finite"),
    ("rloo@inf", "weight 'inf' must be positive and finite"),
    ("foo@0.5+rloo", "unknown advantage estimator 'foo'; valid names: rloo"),
    ("rloo+pkpo", "pkpo: missing required parameter(s) k"),
    ("rloo+pkpo:k=2,kk=3", "pkpo: unknown parameter 'kk'"),
    ("rloo/300", "ends with a phase"),
    ("rloo/300/", "empty part"),
    ("rloo/x/pkpo:k=2", "window 'x' is not a step T or a step range T0-T1"),
    ("rloo/400-300/pkpo:k=2", "window '400-300' ends before it starts"),
    ("rloo/300/pkpo:k=2/200/rloo", "window 200 starts before window 300 ends"),
    ("rloo+novelty", "novelty keeps a memory across steps and cannot be part of a mix or a schedule"),
    ("novelty/10/rloo", "novelty keeps a memory across steps"),
    ("pkpo:k=8-2", "pkpo: k=8-2 needs steps=T0-T1"),
    ("pkpo:k=8,steps=0-9", "pkpo: steps= is the window of a k ramp"),
    ("rloo:k=2-4,steps=0-9", "rloo has no parameter k to anneal"),
    ("pkpo:k=0-4,steps=0-9", "pkpo: k must be ≥ 1"),
    ("pkpo:k=8,k=2-4,steps=0-9", "pkpo: parameter 'k' given twice"),
    ("rloo+", "a '+' joins two terms and must be followed by an estimator's name"),
    ("rloo++pkpo:k=2", "must be followed by an estimator's name"),
])
def test_bad_specs_are_one_line_naming_the_bad_part(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_composite(spec)
    text = str(e.value)
    assert "\n" not in text and text.startswith(f"objective {spec!r}: ")
    assert message in text


def test_keyword_params_and_step_errors() -> None:
    with pytest.raises(ValueError, match="keyword parameter.*k apply to one estimator"):
        advantage("rloo+pkpo:k=2", R, k=3)
    with pytest.raises(ValueError, match=r"^objective 'rloo/3/pkpo:k=2' changes over training steps: pass step="):
        advantage("rloo/3/pkpo:k=2", R)
    with pytest.raises(ValueError, match="changes over training steps"):
        advantage("pkpo:k=4-2,steps=0-9", R)
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="step must be an integer ≥ 0"):
            advantage("rloo/3/pkpo:k=2", R, step=bad)
    # a mix without schedule ignores step
    np.testing.assert_array_equal(advantage("rloo+pkpo:k=2", R, step=None), advantage("rloo+pkpo:k=2", R, step=7))


# --------------------------------------------------------------------------- values


def test_mix_is_the_weighted_sum_of_its_parts() -> None:
    got = advantage("rloo@0.7+coverage:k=3@0.3+pkpo:k=2,variant=s@2", R, answers=A)
    want = 0.7 * part("rloo") + 0.3 * part("coverage:k=3") + 2 * part("pkpo:k=2,variant=s")
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)
    # equal terms are merged: the same estimator twice is its weights summed
    np.testing.assert_allclose(advantage("rloo@0.25+rloo@0.5", R), 0.75 * part("rloo"), atol=1e-15)


def test_mix_keeps_torch_type_dtype() -> None:
    r = torch.tensor(R, dtype=torch.float32)
    out = advantage("rloo@0.5+pkpo:k=2@0.5", r)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    want = 0.5 * part("rloo") + 0.5 * part("pkpo:k=2")
    np.testing.assert_allclose(out.numpy(), want, atol=1e-6)


def test_switch_at_its_step() -> None:
    spec = "coverage:k=3/300/rloo"
    for step in (0, 299):
        np.testing.assert_array_equal(advantage(spec, R, answers=A, step=step), part("coverage:k=3"))
    for step in (300, 301, 10**6):
        np.testing.assert_array_equal(advantage(spec, R, answers=A, step=step), part("rloo"))


@pytest.mark.parametrize("step,lam", [(0, 0.0), (200, 0.0), (250, 0.25), (300, 0.5), (399, 0.995), (400, 1.0),
                                      (9999, 1.0)])
def test_anneal_is_linear_between_its_steps(step: int, lam: float) -> None:
    got = advantage("coverage:k=3/200-400/rloo", R, answers=A, step=step)
    want = (1 - lam) * part("coverage:k=3") + lam * part("rloo")
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)
    if lam in (0.0, 1.0):  # the ends are one phase alone, exactly
        np.testing.assert_array_equal(got, part("rloo" if lam else "coverage:k=3"))


def test_schedule_of_mixes_and_several_windows() -> None:
    spec = "rloo@0.5+coverage:k=3@0.5/10/pkpo:k=4/20-30/rloo"
    s = parse_composite(spec)
    assert str(s.at(9)) == "rloo@0.5+coverage:k=3@0.5"
    assert str(s.at(10)) == "pkpo:k=4" and str(s.at(20)) == "pkpo:k=4"
    assert str(s.at(25)) == "pkpo:k=4@0.5+rloo@0.5"
    assert str(s.at(30)) == "rloo"
    np.testing.assert_allclose(advantage(spec, R, answers=A, step=27),
                               0.3 * part("pkpo:k=4") + 0.7 * part("rloo"), atol=1e-14)
    # a term in both neighbours of an anneal is merged, its weight the sum
    assert str(parse_composite("rloo@0.5+coverage:k=3@0.5/0-10/rloo").at(5)) == "rloo@0.75+coverage:k=3@0.25"


def test_k_ramp_is_interpolated_and_rounded_half_up() -> None:
    t = parse_composite("pkpo:k=16-2,steps=100-300")
    ks = {step: t.at(step).params_dict()["k"] for step in (0, 100, 150, 200, 299, 300, 5000)}
    # k(t) = ⌊16 − 14·clip((t − 100)/200, 0, 1) + ½⌋
    assert ks == {0: 16, 100: 16, 150: 13, 200: 9, 299: 2, 300: 2, 5000: 2}
    assert parse_composite("pkpo:k=1-2,steps=0-2").at(1).params_dict()["k"] == 2  # 1.5 rounds up
    np.testing.assert_array_equal(advantage("pkpo:k=8-2,steps=0-6,variant=s", R, step=3), part("pkpo:k=5,variant=s"))
    # a ramp of one step is a switch of k
    s = parse_composite("coverage:k=2-6,steps=10")
    assert [s.at(t).params_dict()["k"] for t in (9, 10)] == [2, 6]


def test_concrete_terms_are_the_ramp_ends_and_the_phases() -> None:
    s = parse_composite("coverage:k=8/100/pkpo:k=8-2,steps=100-200+rloo@0.1")
    assert [str(t) for t in s.concrete()] == ["coverage:k=8", "pkpo:k=8", "pkpo:k=2", "rloo"]


# --------------------------------------------------------------------------- metadata


def test_metadata_is_honest() -> None:
    mix = parse_composite("rloo@0.7+coverage:k=8@0.3")
    assert mix.unbiased and not mix.scheduled and mix.binary_only  # coverage needs 0/1 rewards
    assert mix.inputs == ("answers",)
    assert mix.target == (f"0.7·[{REGISTRY['rloo'].target}] + 0.3·[{REGISTRY['coverage'].target} with k=8]")
    biased = parse_composite("rloo@0.5+grpo@0.5")
    assert not biased.unbiased
    sched = parse_composite("coverage:k=8/200-400/rloo")
    assert sched.unbiased and sched.scheduled and sched.binary_only
    assert "steps 200–400: linear anneal to" in sched.target
    assert parse_composite("coverage:k=8/300/unlikeliness").inputs == ("answers", "logprobs")
    assert not parse_composite("coverage:k=8/300/unlikeliness").unbiased
    ramp = parse_composite("pkpo:k=16-2,steps=0-300")
    assert ramp.scheduled and ramp.unbiased and "k = 16→2 over steps 0–300" in ramp.target
    assert parse_composite("novelty").new_state is REGISTRY["novelty"].new_state


# --------------------------------------------------------------------------- exact messages and edge cases


def _error(spec: object) -> str:
    with pytest.raises(ValueError) as e:
        parse_composite(spec)  # type: ignore[arg-type]
    return str(e.value)


def test_parse_errors_word_for_word() -> None:
    names = ", ".join(REGISTRY)
    for spec, message in (
        ("rloo@0.5@0.5", f"unknown advantage estimator 'rloo@0.5'; valid names: {names}"),
        ("@0.5+rloo", "'@0.5' names no estimator"),
        ("+rloo", "empty term (two '+' in a row, or one at an end)"),
        ("pkpo:k=8-2,steps=0=9", "pkpo: steps '0=9' is not a step T or a step range T0-T1"),
        ("pkpo:k=8-2,steps=0-9,steps=0-9", "pkpo: parameter 'steps' given twice"),
        ("pkpo:k=2-4,k=3-5,steps=0-9", "pkpo: parameter 'k' given twice"),  # two ramps
        ("pkpo:k=8=9,k=2-4,steps=0-9", "pkpo: parameter 'k' given twice"),  # a plain k first, whatever its value
        ("pkpo:k=2-4,steps=0-9,k=3", "pkpo: parameter 'k' given twice"),  # a plain k after the ramp
        ("pkpo:k=8-2", "pkpo: k=8-2 needs steps=T0-T1, the steps over which k goes from 8 to 2"),
        ("pkpo:k=0-4,steps=0-9", "pkpo: k must be ≥ 1, got k=0-4"),
        ("novelty@0.5", "novelty keeps a memory across steps and cannot be weighted"),
    ):
        assert _error(spec) == f"objective {spec!r}: {message}"
    assert _error(3) == "objective must be a spec string, got int"


def test_step_errors_word_for_word_and_numpy_integer_steps() -> None:
    spec = "rloo/3/pkpo:k=2"
    s = parse_composite(spec)
    with pytest.raises(ValueError) as e:
        s.check_step(None)
    assert str(e.value) == (f"objective {spec!r} changes over training steps: pass step= "
                            "(the number of updates already taken)")
    for bad, shown in ((1.5, "1.5"), (-1, "-1"), (np.int64(-2), "-2")):
        with pytest.raises(ValueError) as e:
            s.check_step(bad)
        assert str(e.value) == f"objective {spec!r}: step must be an integer ≥ 0, got {shown}"
    assert s.check_step(np.int64(5)) == 5 and s.check_step(np.uint8(3)) == 3
    np.testing.assert_array_equal(advantage(spec, R, step=np.int64(3)), part("pkpo:k=2"))


def test_a_single_weighted_term_is_a_mix_and_weight_one_parts_stay_a_mix() -> None:
    assert parse_composite("rloo@0.5") == Mix(((0.5, Term("rloo")),))
    assert str(parse_composite("rloo+pkpo:k=2").at()) == "rloo+pkpo:k=2"


def test_parameters_keep_the_registry_order_through_ramps() -> None:
    """passk_analytic's parameters are (k, eps): not alphabetical, so the registry order must be used."""
    assert str(parse_composite("passk_analytic:eps=0.1,k=4")) == "passk_analytic:k=4,eps=0.1"
    ramp = parse_composite("passk_analytic:eps=0.1,k=4-2,steps=0-10")
    assert str(ramp.at(0)) == "passk_analytic:k=4,eps=0.1"
    assert str(parse_composite("pkpo:k=4-4,steps=0-9,variant=s")) == "pkpo:k=4,variant=s"
    # a ramped term's own parameters: k at step 0 by default
    t = parse_composite("pkpo:k=8-2,steps=0-6")
    assert isinstance(t, Term)
    assert t.params_dict() == {"k": 8} and t.params_dict(3) == {"k": 5}


def test_ramps_inside_mixes_and_schedules_move_with_the_step() -> None:
    assert str(parse_composite("pkpo:k=8-2,steps=0-6@0.5+rloo@0.5").at(3)) == "pkpo:k=5@0.5+rloo@0.5"
    s = parse_composite("pkpo:k=8-2,steps=0-6/10-20/pkpo:k=2-8,steps=10-16@0.5+rloo@0.5")
    assert str(s.at(3)) == "pkpo:k=5"
    assert str(s.at(13)) == "pkpo:k=2@0.7+pkpo:k=5@0.15+rloo@0.15"
    assert str(s.at(20)) == "pkpo:k=8@0.5+rloo@0.5"


def test_a_weight_that_underflows_to_zero_is_dropped_alone() -> None:
    # (1 − ½)·5e-324 rounds to 0: that part goes, the parts after it stay
    assert str(parse_composite("rloo@5e-324+pkpo:k=2/0-2/dr_grpo").at(1)) == "pkpo:k=2@0.5+dr_grpo@0.5"


def test_composite_advantage_passes_every_input_on() -> None:
    got = advantage("rloo@0.5+unlikeliness@0.5", R, logprobs=LP)
    np.testing.assert_allclose(got, 0.5 * part("rloo") + 0.5 * part("unlikeliness"), rtol=0, atol=1e-14)
    ids = np.array([0, 0, 1, 1, 0, 2])
    new_state = REGISTRY["novelty"].new_state
    assert new_state is not None
    ref_state, state = new_state(), new_state()
    term = parse_composite("novelty")
    for _ in range(2):  # the second call sees the first one's answers in the state
        want = advantage("novelty", R, answers=A, state=ref_state, prompt_ids=ids)
        got = term.advantage(R, answers=A, state=state, prompt_ids=ids)
        np.testing.assert_array_equal(got, want)


def test_as_composite_and_iter_terms() -> None:
    from passlens.advantages.compose import as_composite, iter_terms

    t = parse_composite("pkpo:k=2")
    assert as_composite(t) is t
    assert [str(x) for x in iter_terms("coverage:k=8/100/pkpo:k=8-2,steps=100-200")] == [
        "coverage:k=8", "pkpo:k=8", "pkpo:k=2"]
