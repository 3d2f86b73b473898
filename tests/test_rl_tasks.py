"""passlens.rl.tasks: verifiers on hand-made and hostile answers, canonical classes, splits (pure Python)."""

from __future__ import annotations

import ast
import itertools
import random
import re
from collections import Counter

import pytest

from passlens.rl.tasks import TASKS, Problem, Task, make_task, register
from passlens.rl.tasks.countdown import ExpressionError, normal_form, parse_expression
from passlens.rl.tokenizer import ALPHABET, EOS, CharTokenizer

HOSTILE = [
    "__import__('os').system('rm -rf /')",
    "eval('1+1')",
    "9" * 10_000,
    "1e400",
    "((((((((((((((((((((1))))))))))))))))))))",
    "(" * 5000,
    "",
    " ",
    "\x00",
    "٣",  # a non-ASCII digit
    "22\n",
]


# -- addition -----------------------------------------------------------------------------
def test_addition_verifier() -> None:
    t = make_task("addition")
    p = Problem("23+34", {"a": 23, "b": 34})
    assert t.prompt(p) == "23+34="
    assert t.verify(p, "57") == 1.0 and t.verify(p, " 57 ") == 1.0 and t.verify(p, "057") == 1.0
    assert t.answer_class(p, "057") == t.answer_class(p, "57") == "57"
    for bad in ["56", "5 7", "+57", "-57", "57.0", "23+34", "0x39", *HOSTILE]:
        assert t.verify(p, bad) == 0.0, bad
        assert t.answer_class(p, bad) is None, bad
    assert t.references(p) == ["57"]


def test_addition_accepts_every_sum_at_high_difficulty() -> None:
    # the digit cap (24) must not reject a correct sum of two 24-digit operands (25 digits)
    t = make_task("addition", difficulty=24)
    p = Problem("big", {"a": 10**24 - 1, "b": 10**24 - 1})
    s = str(p.data["a"] + p.data["b"])
    assert len(s) == 25 and len(s) <= t.max_answer_len
    assert t.verify(p, s) == 1.0 and t.verify(p, "0" + s) == 1.0 and t.answer_class(p, "0" + s) == s
    assert t.verify(p, "9" * 10_000) == 0.0
    assert make_task("addition").verify(Problem("23+34", {"a": 23, "b": 34}), "0" * 23 + "57") == 0.0  # 25 digits


# -- countdown ----------------------------------------------------------------------------
CD = Problem("3,5,7,9>22", {"numbers": [3, 5, 7, 9], "target": 22})


def test_countdown_verifier_accepts_valid_expressions() -> None:
    t = make_task("countdown")
    assert t.prompt(CD) == "3,5,7,9>22:"
    for good in ["3*5+7", "7+5*3", "(7)+(3*5)", " 3 * 5 + 7 ", "9*3-5", "3*9-5", "(3*9)-5"]:
        assert t.verify(CD, good) == 1.0, good


def test_countdown_verifier_rejects_garbage_and_rule_breaking() -> None:
    t = make_task("countdown")
    cases = {
        "9+9+4": "9 used twice, 4 not given",
        "3*5+7+0": "0 not given",
        "22": "target not given as a number",
        "3*5+7)": "unbalanced",
        "((3*5)+7": "unbalanced",
        "3**5": "power is not an operator",
        "3*5+-7": "unary minus",
        "3/3+21": "division",
        "3*5 7": "juxtaposition",
        "99999*0": "5-digit number",
        "3*5+7=22": "trailing junk",
        "(3*5)+(7": "unbalanced",
        "7+3*5+9-9": "9 twice",
    }
    for bad, why in cases.items():
        assert t.verify(CD, bad) == 0.0, why
        assert t.answer_class(CD, bad) is None, why
    for bad in HOSTILE:
        assert t.verify(CD, bad) == 0.0, repr(bad[:20])


def _reference_countdown(numbers: list[int], target: int, text: str) -> float:
    """Independent oracle: Python's own parser on the leading-zero-stripped text, explicit checks."""
    t = text.strip()
    if not t or len(t) > 64 or any(ch not in "0123456789+-*() " for ch in t):
        return 0.0
    if any(len(x) > 4 for x in re.findall(r"[0-9]+", t)):
        return 0.0
    depth = deepest = 0
    for ch in t:
        depth += (ch == "(") - (ch == ")")
        deepest = max(deepest, depth)
    if deepest > 8:
        return 0.0
    try:
        body = ast.parse(re.sub(r"[0-9]+", lambda m: str(int(m.group())), t), mode="eval").body
    except SyntaxError:
        return 0.0
    used: list[int] = []

    def value(n: ast.AST) -> int | None:
        if isinstance(n, ast.Constant) and type(n.value) is int:
            used.append(n.value)
            return n.value
        if isinstance(n, ast.BinOp) and type(n.op) in (ast.Add, ast.Sub, ast.Mult):
            a, b = value(n.left), value(n.right)
            if a is None or b is None:
                return None
            return a + b if isinstance(n.op, ast.Add) else a - b if isinstance(n.op, ast.Sub) else a * b
        return None  # unary ops, calls, tuples, other operators

    v = value(body)
    have = Counter(numbers)
    return float(v == target and all(c <= have[x] for x, c in Counter(used).items()))


def test_countdown_verifier_matches_an_independent_oracle_on_adversarial_answers() -> None:
    t = make_task("countdown", difficulty=2)
    rng = random.Random(0)
    junk = ["", " ", "+", "-", "*", "0", "(", ")", "=", "+0", "*1", "-0", "\n", "x"]
    checked = 0
    for p in t.problems("train", 12, seed=5):
        nums, target = list(p.data["numbers"]), p.data["target"]
        cands = list(t.references(p)) + [str(target), f"{target}+0", f"{target}*1"]
        for r in t.references(p):
            cands += [r + j for j in junk] + [j + r for j in junk] + ["(" * 8 + r + ")" * 8, "(" * 9 + r + ")" * 9]
            cands.append(re.sub(r"[0-9]+", lambda m: "0" + m.group(), r))
            for _ in range(20):  # random single-character edits
                i = rng.randrange(len(r) + 1)
                cands.append(r[:i] + rng.choice("0123456789+-*() ") + r[i + rng.randrange(2):])
        for _ in range(150):  # random expressions over the numbers, with reuse and foreign numbers
            items = [str(x) for x in rng.sample(nums, rng.randint(1, len(nums)))]
            items += [str(rng.choice(nums))] * (rng.random() < 0.2) + [str(rng.randint(0, 20))] * (rng.random() < 0.1)
            while len(items) > 1:
                a, b = items.pop(rng.randrange(len(items))), items.pop(rng.randrange(len(items)))
                items.append(("({}{}{})" if rng.random() < 0.6 else "{}{}{}").format(a, rng.choice("+-*"), b))
            cands.append(items[0])
        for c in cands:
            ref = _reference_countdown(nums, target, c)
            assert t.verify(p, c) == ref, (p.id, c)
            assert (t.answer_class(p, c) is not None) == (ref == 1.0), (p.id, c)
            checked += 1
    assert checked > 3000


def test_countdown_check_names_the_reason() -> None:
    t = make_task("countdown")
    assert t.check(CD, "9+9+4").startswith("uses 9")
    assert "unbalanced" in t.check(CD, "(3*5+7")
    assert t.check(CD, "3*5+7") == ""
    with pytest.raises(ExpressionError):
        parse_expression("(" * 20 + "1" + ")" * 20)  # depth limit, no RecursionError
    with pytest.raises(ExpressionError):
        parse_expression("1+" * 40 + "1")  # length limit


def test_countdown_normal_form() -> None:
    nf = lambda s: normal_form(parse_expression(s))  # noqa: E731
    assert nf("3*5+7") == nf("7+5*3") == nf("(7)+(3*5)") == nf("7+(5*3)")
    assert nf("(3+5)*7") == nf("7*(5+3)")
    assert nf("9-(5-3)") == nf("9-5+3") == nf("3+9-5")
    assert nf("(9-2)*3") != nf("9*3-2*3")
    assert nf("3*5+7") != nf("3*(5+7)")
    assert nf("9-5") != nf("5-9")
    assert nf("2*3*4") == nf("4*(3*2)")


def test_countdown_problems_have_several_classes_and_references_verify() -> None:
    t = make_task("countdown")
    probs = t.problems("train", 20, seed=3)
    for p in probs:
        refs = t.references(p)
        assert len(refs) >= 2, p.id
        assert all(t.verify(p, r) == 1.0 for r in refs), p.id
        classes = [t.answer_class(p, r) for r in refs]
        assert len(set(classes)) == len(classes), p.id  # one reference per class
        CharTokenizer().encode(t.prompt(p) + refs[0])  # in the alphabet


# -- graph path ---------------------------------------------------------------------------
GP = Problem("01 03 12 23|0>2", {"edges": [[0, 1], [0, 3], [1, 2], [2, 3]], "source": 0, "target": 2})


def test_graph_path_verifier() -> None:
    t = make_task("graph_path", difficulty=1)  # 5 nodes
    assert t.prompt(GP) == "01 03 12 23|0>2:"
    assert t.verify(GP, "012") == t.verify(GP, "032") == 1.0
    assert t.answer_class(GP, "012") != t.answer_class(GP, "032")
    for bad in ["02", "0120", "0132", "210", "01 2", "0-1-2", "01", "0412", *HOSTILE]:
        assert t.verify(GP, bad) == 0.0, repr(bad[:20])
    assert sorted(t.references(GP)) == ["012", "032"]


def test_graph_path_references_equal_brute_force() -> None:
    t = make_task("graph_path")
    for p in t.problems("train", 15, seed=1):
        N, s, g = t.nodes, p.data["source"], p.data["target"]
        brute = set()
        others = [v for v in range(N) if v not in (s, g)]
        for r in range(len(others) + 1):
            for mid in itertools.permutations(others, r):
                text = "".join(map(str, (s, *mid, g)))
                if t.verify(p, text):
                    brute.add(text)
        assert set(t.references(p)) == brute, p.id
        assert len(brute) >= 2


# -- registry, splits, interface --------------------------------------------------------
@pytest.mark.parametrize("name", sorted(TASKS))
def test_splits_disjoint_reproducible_and_in_alphabet(name: str) -> None:
    t = make_task(name)
    train = t.problems("train", 60, seed=0)
    test = t.problems("test", 20, seed=0)
    assert not {p.id for p in train} & {p.id for p in test}
    assert [p.id for p in train] == [p.id for p in make_task(name).problems("train", 60, seed=0)]
    assert [p.id for p in train] != [p.id for p in t.problems("train", 60, seed=1)]
    assert all(t.split_of(p.id) == "train" for p in train)
    tok = CharTokenizer()
    for p in train[:10]:
        tok.encode(t.prompt(p))
        assert all(t.verify(p, r) == 1.0 for r in t.references(p))
        wrong = t.corrupt(p, t.references(p)[0], random.Random(0))
        assert isinstance(wrong, str)


def test_bad_names_and_knobs() -> None:
    with pytest.raises(ValueError, match="valid tasks: addition, countdown, graph_path"):
        make_task("sudoku")
    with pytest.raises(ValueError, match="difficulty"):
        make_task("countdown", difficulty=0)
    with pytest.raises(ValueError, match="split"):
        make_task("addition").problems("val", 3)
    with pytest.raises(ValueError, match="found only"):
        make_task("addition", difficulty=1).problems("test", 1000)


class Parity(Task):
    """A user-defined task in a few lines: say whether a number is even."""

    name = "parity_demo"
    max_answer_len = 4

    def _make(self, rng: random.Random) -> Problem:
        x = rng.randrange(1000)
        return Problem(str(x), {"x": x})

    def prompt(self, problem: Problem) -> str:
        return f"{problem.data['x']}:"

    def verify(self, problem: Problem, answer: str) -> float:
        return float(answer.strip() == ("even" if problem.data["x"] % 2 == 0 else "odd"))

    def answer_class(self, problem: Problem, answer: str) -> str | None:
        return answer.strip() if self.verify(problem, answer) else None

    def references(self, problem: Problem) -> list[str]:
        return ["even" if problem.data["x"] % 2 == 0 else "odd"]


def test_user_task_registers() -> None:
    register(Parity)
    t = make_task("parity_demo")
    p = t.problems("train", 5)[0]
    assert t.verify(p, t.references(p)[0]) == 1.0
    del TASKS["parity_demo"]


def test_tokenizer_roundtrip_and_errors() -> None:
    tok = CharTokenizer()
    ids = tok.encode("3,5>8:3+5")
    assert tok.decode(ids + [EOS, 7, 8]) == "3,5>8:3+5"
    assert tok.vocab_size == len(ALPHABET) + 3
    with pytest.raises(ValueError, match="position 1"):
        tok.encode("3/5")
