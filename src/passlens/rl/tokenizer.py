"""Character-level tokenizer with three special tokens (pad, bos, eos). Pure Python."""

from __future__ import annotations

from typing import Sequence

__all__ = ["ALPHABET", "PAD", "BOS", "EOS", "CharTokenizer"]

#: Characters every task may use in prompts and answers.
ALPHABET = "0123456789+-*()=>:,;| abcdefghijklmnopqrstuvwxyz"
PAD, BOS, EOS = 0, 1, 2


class CharTokenizer:
    """Ids 0, 1, 2 are pad, bos, eos; then one id per character of ``alphabet``.

    Args:
      alphabet: the characters, each once.
    """

    def __init__(self, alphabet: str = ALPHABET) -> None:
        if len(set(alphabet)) != len(alphabet):
            raise ValueError("alphabet has repeated characters")
        self.alphabet = alphabet
        self._id = {ch: i + 3 for i, ch in enumerate(alphabet)}

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet) + 3

    def encode(self, text: str, bos: bool = True) -> list[int]:
        """Token ids of ``text`` (with a leading bos); ValueError naming the first unknown character."""
        out = [BOS] if bos else []
        for i, ch in enumerate(text):
            if ch not in self._id:
                raise ValueError(f"character {ch!r} at position {i} of {text!r} is not in the tokenizer alphabet")
            out.append(self._id[ch])
        return out

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids`` up to the first eos or pad (bos skipped)."""
        chars = []
        for t in ids:
            t = int(t)
            if t in (EOS, PAD):
                break
            if t == BOS:
                continue
            chars.append(self.alphabet[t - 3])
        return "".join(chars)
