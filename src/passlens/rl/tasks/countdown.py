"""Countdown: reach a target from given numbers with + − × (each number at most once).

Many expressions are correct; their answer class is a normal form that identifies
expressions equal up to associativity and commutativity of + and × (and the
distribution of − over a parenthesized sum): ``3*5+7``, ``7+(5*3)`` and ``(7)+3*5``
share the class ``3*5+7``, while ``(9-2)*3`` and ``9*3-2*3`` do not.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Union

from . import Problem, Task

__all__ = ["Countdown", "parse_expression", "evaluate", "normal_form", "ExpressionError"]

MAX_EXPR_CHARS = 64
MAX_NUMBER_DIGITS = 4
MAX_DEPTH = 8


class ExpressionError(ValueError):
    """The text is not a well-formed expression of the countdown grammar."""


# AST: int leaf, or (op, left, right) with op in "+-*".
Node = Union[int, tuple]


def parse_expression(text: str) -> Node:
    """Parse ``text`` with the grammar expr := term (('+'|'-') term)*, term := factor ('*' factor)*,
    factor := NUMBER | '(' expr ')'; spaces ignored.

    A hand-written recursive-descent parser: nothing is ever evaluated as code, numbers have at most
    4 digits, the text at most 64 characters and parentheses nest at most 8 deep.

    Raises:
      ExpressionError: any other input (unknown characters, unbalanced parentheses, empty operands…).
    """
    if len(text) > MAX_EXPR_CHARS:
        raise ExpressionError(f"expression longer than {MAX_EXPR_CHARS} characters")
    toks: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == " ":
            i += 1
        elif ch.isascii() and ch.isdigit():
            j = i
            while j < len(text) and text[j].isascii() and text[j].isdigit():
                j += 1
            if j - i > MAX_NUMBER_DIGITS:
                raise ExpressionError(f"number with more than {MAX_NUMBER_DIGITS} digits")
            toks.append(text[i:j])
            i = j
        elif ch in "+-*()":
            toks.append(ch)
            i += 1
        else:
            raise ExpressionError(f"unexpected character {ch!r}")
    pos = 0

    def peek() -> str | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(toks):
            raise ExpressionError("unexpected end of expression")
        pos += 1
        return toks[pos - 1]

    def expr(depth: int) -> Node:
        node = term(depth)
        while peek() in ("+", "-"):
            op = take()
            node = (op, node, term(depth))
        return node

    def term(depth: int) -> Node:
        node = factor(depth)
        while peek() == "*":
            take()
            node = ("*", node, factor(depth))
        return node

    def factor(depth: int) -> Node:
        tok = take()
        if tok == "(":
            if depth >= MAX_DEPTH:
                raise ExpressionError(f"parentheses nested deeper than {MAX_DEPTH}")
            node = expr(depth + 1)
            if peek() != ")":
                raise ExpressionError("unbalanced parentheses")
            take()
            return node
        if tok.isdigit():
            return int(tok)
        raise ExpressionError(f"unexpected token {tok!r}")

    if not toks:
        raise ExpressionError("empty expression")
    tree = expr(0)
    if pos != len(toks):
        raise ExpressionError(f"unexpected token {toks[pos]!r}")
    return tree


def leaves(node: Node) -> list[int]:
    """The numbers of the expression, left to right."""
    if isinstance(node, int):
        return [node]
    return leaves(node[1]) + leaves(node[2])


def evaluate(node: Node) -> int:
    """Integer value of a parsed expression (exact; bounded since operands are ≤ 4-digit and used once)."""
    if isinstance(node, int):
        return node
    op, a, b = node
    x, y = evaluate(a), evaluate(b)
    return x + y if op == "+" else x - y if op == "-" else x * y


def normal_form(node: Node) -> str:
    """Canonical string: sums flattened to sorted positive then sorted negative terms, products
    flattened to sorted factors (sums among factors parenthesized)."""
    if isinstance(node, int):
        return str(node)
    if node[0] == "*":
        factors: list[str] = []

        def collect(n: Node) -> None:
            if not isinstance(n, int) and n[0] == "*":
                collect(n[1])
                collect(n[2])
            else:
                s = normal_form(n)
                factors.append(f"({s})" if not isinstance(n, int) else s)

        collect(node)
        return "*".join(sorted(factors))
    pos: list[str] = []
    neg: list[str] = []

    def terms(n: Node, sign: int) -> None:
        if not isinstance(n, int) and n[0] in "+-":
            terms(n[1], sign)
            terms(n[2], sign if n[0] == "+" else -sign)
        else:
            (pos if sign > 0 else neg).append(normal_form(n))

    terms(node, 1)
    return "+".join(sorted(pos)) + "".join("-" + t for t in sorted(neg))


def _render(op: str, a: tuple[str, str], b: tuple[str, str]) -> tuple[str, str]:
    """Expression text of (a op b) with the needed parentheses; items are (text, top operator)."""
    ta, oa = a
    tb, ob = b
    if op == "*":
        ta = f"({ta})" if oa in "+-" and oa else ta
        tb = f"({tb})" if ob in "+-" and ob else tb
    elif op == "-":
        tb = f"({tb})" if ob in "+-" and ob else tb
    return f"{ta}{op}{tb}", op


class Countdown(Task):
    """Reach the target with some of the numbers, each at most once, using + − × and parentheses.

    Prompt ``3,5,7,9>22:``; answer e.g. ``3*5+7``. Difficulty d: 2 + d numbers (at most 5) drawn
    from 1..5(d + 1) (default d = 1: about 1,100 train problems exist); targets in 10..99 that have at least two distinct answer classes.
    """

    name = "countdown"
    description = "reach a target from given numbers with + - * (each at most once); many answers"
    default_difficulty = 1  # 3 numbers from 1..10: a 0.8 M-parameter warm start reaches ~20–35% success
    max_answer_len = 24
    per_value_cap = 4

    def _expressions(self, nums: list[int]) -> dict[int, list[str]]:
        """value → up to ``per_value_cap`` expression texts, over all subsets, positive intermediates ≤ 200."""
        m = len(nums)
        table: dict[int, dict[int, list[tuple[str, str]]]] = {}
        for mask in range(1, 1 << m):
            bits = [i for i in range(m) if mask >> i & 1]
            cur: dict[int, list[tuple[str, str]]] = {}
            if len(bits) == 1:
                cur[nums[bits[0]]] = [(str(nums[bits[0]]), "")]
            else:
                sub = (mask - 1) & mask
                while sub:
                    rest = mask ^ sub
                    if rest and sub < rest:
                        for va, ea in table[sub].items():
                            for vb, eb in table[rest].items():
                                for op, v in (("+", va + vb), ("*", va * vb), ("-", va - vb), ("-r", vb - va)):
                                    if not 0 < v <= 200:
                                        continue
                                    slot = cur.setdefault(v, [])
                                    for x in ea:
                                        for y in eb:
                                            if len(slot) >= self.per_value_cap:
                                                break
                                            slot.append(_render("-", y, x) if op == "-r" else _render(op, x, y))
                    sub = (sub - 1) & mask
            table[mask] = cur
        out: dict[int, list[str]] = {}
        for cur in table.values():
            for v, es in cur.items():
                out.setdefault(v, []).extend(e for e, _ in es)
        return out

    def _classes(self, exprs: list[str]) -> dict[str, str]:
        cls: dict[str, str] = {}
        for e in exprs:
            cls.setdefault(normal_form(parse_expression(e)), e)
        return cls

    def _make(self, rng: random.Random) -> Problem | None:
        count = min(2 + self.difficulty, 5)
        nums = [rng.randint(1, 5 * (self.difficulty + 1)) for _ in range(count)]
        table = self._expressions(nums)
        targets = [v for v in sorted(table) if 10 <= v <= 99 and v not in nums]
        rng.shuffle(targets)
        for t in targets[:8]:
            cls = self._classes(table[t])
            if len(cls) >= 2:
                return Problem(f"{','.join(map(str, nums))}>{t}", {"numbers": nums, "target": t})
        return None

    def prompt(self, problem: Problem) -> str:
        return f"{','.join(map(str, problem.data['numbers']))}>{problem.data['target']}:"

    def check(self, problem: Problem, answer: str) -> str:
        """Why ``answer`` is wrong (a short reason), or "" when it is correct."""
        try:
            tree = parse_expression(answer.strip())
        except ExpressionError as exc:
            return str(exc)
        used = Counter(leaves(tree))
        have = Counter(problem.data["numbers"])
        over = [v for v, c in used.items() if c > have.get(v, 0)]
        if over:
            return f"uses {over[0]} more often than given"
        if evaluate(tree) != problem.data["target"]:
            return "wrong value"
        return ""

    def verify(self, problem: Problem, answer: str) -> float:
        return 0.0 if self.check(problem, answer) else 1.0

    def answer_class(self, problem: Problem, answer: str) -> str | None:
        if self.check(problem, answer):
            return None
        return normal_form(parse_expression(answer.strip()))

    def references(self, problem: Problem) -> list[str]:
        table = self._expressions(list(problem.data["numbers"]))
        return list(self._classes(table.get(problem.data["target"], [])).values())

    def corrupt(self, problem: Problem, answer: str, rng: random.Random) -> str:
        ops = [i for i, ch in enumerate(answer) if ch in "+-*"]
        if ops and rng.random() < 0.5:
            i = rng.choice(ops)
            return answer[:i] + rng.choice([o for o in "+-*" if o != answer[i]]) + answer[i + 1 :]
        return super().corrupt(problem, answer, rng)
