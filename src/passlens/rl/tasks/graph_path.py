"""Graph path: name a simple path between two nodes of a small random graph (many answers)."""

from __future__ import annotations

import random
from typing import Any, Mapping

from . import Problem, Task

__all__ = ["GraphPath"]


class GraphPath(Task):
    """Undirected graph on nodes 0..N−1 (N = 4 + difficulty, at most 10) given as an edge list.

    Prompt ``01 03 12 23|0>2:``; answer a node sequence such as ``012`` or ``032``: it must
    start at the source, end at the target, visit no node twice and follow edges. The answer
    class is the path itself (written without separators). Problems have at least two simple
    paths and the endpoints are not adjacent.
    """

    name = "graph_path"
    description = "a simple path between two nodes of a small random graph; many answers"
    default_difficulty = 2
    max_paths = 64

    @property
    def nodes(self) -> int:
        return min(4 + self.difficulty, 10)

    @property
    def max_answer_len(self) -> int:  # type: ignore[override]  # per-instance value of the class default
        return self.nodes + 1

    def _make(self, rng: random.Random) -> Problem | None:
        N = self.nodes
        edges = sorted({(a, b) for a in range(N) for b in range(a + 1, N) if rng.random() < 2.4 / N})
        s, t = rng.sample(range(N), 2)
        data = {"edges": [list(e) for e in edges], "source": s, "target": t}
        if (min(s, t), max(s, t)) in edges:
            return None
        if len(self._paths(data)) < 2:
            return None
        return Problem(self._key(data), data)

    @staticmethod
    def _key(data: dict) -> str:
        return " ".join(f"{a}{b}" for a, b in data["edges"]) + f"|{data['source']}>{data['target']}"

    def _adjacency(self, data: Mapping[str, Any]) -> dict[int, set[int]]:
        adj: dict[int, set[int]] = {v: set() for v in range(self.nodes)}
        for a, b in data["edges"]:
            adj[a].add(b)
            adj[b].add(a)
        return adj

    def _paths(self, data: dict) -> list[str]:
        """All simple paths source → target (at most ``max_paths``), by depth-first search."""
        out: list[str]
        adj, t, out = self._adjacency(data), data["target"], []
        stack: list[tuple[int, tuple[int, ...]]] = [(data["source"], (data["source"],))]
        while stack and len(out) < self.max_paths:
            v, path = stack.pop()
            if v == t:
                out.append("".join(map(str, path)))
                continue
            for w in sorted(adj[v], reverse=True):
                if w not in path:
                    stack.append((w, path + (w,)))
        return out

    def prompt(self, problem: Problem) -> str:
        return problem.id + ":"

    def _path(self, problem: Problem, answer: str) -> str | None:
        text = answer.strip()
        if not (2 <= len(text) <= self.nodes) or not all(ch in "0123456789" for ch in text):
            return None
        path = [int(ch) for ch in text]
        data = problem.data
        if path[0] != data["source"] or path[-1] != data["target"] or len(set(path)) != len(path):
            return None
        adj = self._adjacency(data)
        if any(b not in adj.get(a, ()) for a, b in zip(path, path[1:])):
            return None
        return text

    def verify(self, problem: Problem, answer: str) -> float:
        return 1.0 if self._path(problem, answer) is not None else 0.0

    def answer_class(self, problem: Problem, answer: str) -> str | None:
        return self._path(problem, answer)

    def references(self, problem: Problem) -> list[str]:
        return self._paths(dict(problem.data))
