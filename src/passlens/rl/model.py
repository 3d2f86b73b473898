"""A small decoder-only transformer (GPT-style, learned positions) with a static KV cache.

Shapes: B batch, T query length, S cache length (slots), C = d_model, H heads,
hd = C / H, V vocabulary. Sequences are *left-padded* prompts followed by the
completion; ``key_valid`` marks real tokens and ``pos`` gives each token its
position within its own sequence, so rows of different prompt lengths batch together.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._fields import ConfigError, Int, check_fields
from .tokenizer import ALPHABET

__all__ = ["ModelConfig", "GPT", "attention_mask", "positions"]


@dataclasses.dataclass
class ModelConfig:
    """Architecture (defaults: 4 layers, d_model 128, 4 heads, ≈ 0.8 M parameters).

    Attributes (ranges checked on construction; bool is not an int):
      vocab_size: V, an int in [1, 1048576] (a run needs the character tokenizer's, 51).
      block_size: maximum sequence length (prompt + completion), an int in [2, 65536].
      n_layer: depth, an int in [1, 256].
      n_head: heads, an int in [1, 1024] dividing d_model.
      d_model: width, an int in [1, 65536].
      mlp_ratio: hidden width of the MLP / d_model, an int in [1, 64].
    """

    vocab_size: int = len(ALPHABET) + 3  # the character tokenizer's
    block_size: int = 96
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 128
    mlp_ratio: int = 4

    _FIELDS: ClassVar[dict[str, Any]] = {
        "vocab_size": Int(1, 1 << 20), "block_size": Int(2, 65536), "n_layer": Int(1, 256),
        "n_head": Int(1, 1024), "d_model": Int(1, 65536), "mlp_ratio": Int(1, 64),
    }

    def __post_init__(self) -> None:
        self._validate("ModelConfig.")

    def _validate(self, where: str) -> None:
        """Check every field; messages name them ``where`` + field (e.g. "model.n_head")."""
        check_fields(self, self._FIELDS, where)
        if self.d_model % self.n_head:
            raise ConfigError(f"{where}d_model={self.d_model} is not divisible by {where}n_head={self.n_head}",
                              (where + "d_model", where + "n_head"))


def positions(key_valid: torch.Tensor) -> torch.Tensor:
    """Position of each token within its own (left-padded) sequence: int64 (B, T) from bool (B, T)."""
    return (key_valid.long().cumsum(1) - 1).clamp(min=0)  # (B, T)


def attention_mask(key_valid: torch.Tensor, start: int, T: int) -> torch.Tensor:
    """Boolean attention mask (B, 1, T, start+T): query at slot start+i sees key j iff j ≤ start+i and
    key j is a real token; every query also sees itself (a pad query then has a finite softmax)."""
    end = start + T
    q = torch.arange(start, end, device=key_valid.device)  # (T,)
    k = torch.arange(end, device=key_valid.device)  # (end,)
    causal = k[None, :] <= q[:, None]  # (T, end)
    diag = k[None, :] == q[:, None]  # (T, end)
    return (causal[None] & (key_valid[:, None, :end] | diag[None]))[:, None]  # (B, 1, T, end)


class SelfAttention(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.c_proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache: torch.Tensor | None, start: int) -> torch.Tensor:
        B, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)  # 3 × (B, T, C)
        q = q.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, hd)
        k = k.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, hd)
        v = v.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, hd)
        if cache is not None:  # cache: (2, B, H, S, hd), written in place
            cache[0, :, :, start : start + T] = k
            cache[1, :, :, start : start + T] = v
            k = cache[0, :, :, : start + T]  # (B, H, start+T, hd)
            v = cache[1, :, :, : start + T]  # (B, H, start+T, hd)
        if T == 1:  # decode step: explicit attention beats the fused CPU kernel for one query over ≤ S keys
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))  # (B, H, 1, start+1)
            att = att.masked_fill(~mask, float("-inf")).softmax(-1)  # (B, H, 1, start+1); the query's own key is never masked
            y = att @ v  # (B, H, 1, hd)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, T, hd)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.d_model)
        self.attn = SelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.mlp_ratio * cfg.d_model),
            nn.GELU(),
            nn.Linear(cfg.mlp_ratio * cfg.d_model, cfg.d_model),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache: torch.Tensor | None, start: int) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), mask, cache, start)  # (B, T, C)
        return x + self.mlp(self.ln_2(x))  # (B, T, C)


class GPT(nn.Module):
    """Decoder-only transformer.

    ``forward(idx, key_valid, cache=None, start=0)``:
      idx: int64 (B, T) tokens occupying slots start..start+T−1.
      key_valid: bool (B, S) with S ≥ start + T; True for real tokens (slots < start+T are read).
      cache: None (attend within ``idx`` only; then start must be 0) or a tensor from
        :meth:`new_cache` (L, 2, B, H, S, hd) holding keys/values of slots < start; updated in place.
      Returns float logits (B, T, V).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.wpe = nn.Embedding(cfg.block_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def num_params(self) -> int:
        """Parameter count (tied embedding counted once)."""
        return sum(p.numel() for p in self.parameters())

    def new_cache(self, B: int, S: int) -> torch.Tensor:
        """A zeroed static KV cache (L, 2, B, H, S, hd) on the model's device and dtype."""
        if S > self.cfg.block_size:
            raise ValueError(f"cache length {S} exceeds block_size {self.cfg.block_size}")
        p = self.lm_head.weight
        c = self.cfg
        return torch.zeros(c.n_layer, 2, B, c.n_head, S, c.d_model // c.n_head, device=p.device, dtype=p.dtype)

    def forward(
        self, idx: torch.Tensor, key_valid: torch.Tensor, cache: torch.Tensor | None = None, start: int = 0
    ) -> torch.Tensor:
        B, T = idx.shape
        if cache is None and start != 0:
            raise ValueError("start > 0 needs a cache")
        if start + T > self.cfg.block_size:
            raise ValueError(f"sequence of {start + T} tokens exceeds block_size {self.cfg.block_size}")
        pos = positions(key_valid[:, : start + T])[:, start:]  # (B, T)
        mask = attention_mask(key_valid, start, T)  # (B, 1, T, start+T)
        x = self.wte(idx) + self.wpe(pos)  # (B, T, C)
        for i, blk in enumerate(self.blocks):
            x = blk(x, mask, None if cache is None else cache[i], start)  # (B, T, C)
        return self.lm_head(self.ln_f(x))  # (B, T, V)

    def to_config(self) -> dict[str, Any]:
        return dataclasses.asdict(self.cfg)
