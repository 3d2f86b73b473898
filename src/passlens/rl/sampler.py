"""Batched sampling with a static KV cache, temperature / top-p, stop tokens and log-probabilities.

The policy π is softmax(logits / temperature) (top-p only truncates what is *drawn*;
the recorded log-probabilities are those of π, which the trainer recomputes).
"""

from __future__ import annotations

import dataclasses
from typing import Literal, Sequence, overload

import torch
import torch.nn.functional as F

from .model import GPT
from .tokenizer import BOS, EOS, PAD

__all__ = ["Samples", "left_pad", "sample", "sequence_logprobs"]


@dataclasses.dataclass
class Samples:
    """N = P·n completions of P prompts, grouped: rows g·n … g·n+n−1 belong to prompt g.

    Attributes:
      prompt: int64 (N, Tp), left-padded prompt tokens (bos first).
      prompt_valid: bool (N, Tp), real prompt tokens.
      tokens: int64 (N, M), M ≤ max_new (trailing all-pad columns dropped), completion tokens (stop token included; PAD after it).
      mask: bool (N, M), completion tokens that count (up to and including the stop token).
      logprobs: float (N, M), log π of each completion token (0 where ``mask`` is False).
      n: samples per prompt.
    """

    prompt: torch.Tensor
    prompt_valid: torch.Tensor
    tokens: torch.Tensor
    mask: torch.Tensor
    logprobs: torch.Tensor
    n: int

    @property
    def seq_logprobs(self) -> torch.Tensor:
        """Sequence log-probabilities, float (N,)."""
        return self.logprobs.sum(1)


def left_pad(prompts: Sequence[Sequence[int]], device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pad token lists: (int64 (P, Tp) tokens, bool (P, Tp) valid)."""
    if not prompts or any(len(p) == 0 for p in prompts):
        raise ValueError("prompts must be a non-empty list of non-empty token lists")
    Tp = max(len(p) for p in prompts)
    tok = torch.full((len(prompts), Tp), PAD, dtype=torch.long)
    valid = torch.zeros((len(prompts), Tp), dtype=torch.bool)
    for i, p in enumerate(prompts):
        tok[i, Tp - len(p) :] = torch.as_tensor(list(p), dtype=torch.long)
        valid[i, Tp - len(p) :] = True
    return tok.to(device), valid.to(device)


def _allowed(logits: torch.Tensor) -> torch.Tensor:
    """Float logits (..., V) with pad and bos excluded from π (they are never generated)."""
    out = logits.float().clone()
    out[..., PAD] = -1e9  # a large finite value, not -inf: avoids 0·(−inf) = NaN in entropies
    out[..., BOS] = -1e9
    return out


def _draw(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Next tokens int64 (N,) and their log π float (N,) from logits (N, V)."""
    logp = F.log_softmax(_allowed(logits) / max(temperature, 1e-8), dim=-1)  # (N, V); temperature 0 → greedy below
    if temperature <= 0:
        tok = logp.argmax(-1)  # (N,)
    else:
        probs = logp.exp()  # (N, V)
        if top_p < 1.0:
            sp, si = probs.sort(-1, descending=True)  # (N, V)
            drop = sp.cumsum(-1) - sp > top_p  # (N, V); keeps the smallest prefix with mass ≥ top_p
            sp = sp.masked_fill(drop, 0.0)
            probs = torch.zeros_like(probs).scatter_(-1, si, sp)  # (N, V)
        tok = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (N,)
    return tok, logp.gather(-1, tok[:, None]).squeeze(1)


@torch.inference_mode()  # no autograd bookkeeping in the token loop; outputs are cloned out below
def sample(
    model: GPT,
    prompts: Sequence[Sequence[int]],
    n: int = 1,
    *,
    max_new: int = 16,
    temperature: float = 1.0,
    top_p: float = 1.0,
    stop: Sequence[int] = (EOS,),
    generator: torch.Generator | None = None,
    use_cache: bool = True,
) -> Samples:
    """Sample n completions of each prompt.

    One forward over the prompts fills a preallocated KV cache (L, 2, N, H, Tp+max_new, hd);
    then each step feeds one token per row. ``use_cache=False`` recomputes the whole prefix
    every step (the reference path; same distribution, same draws for the same generator).

    Args:
      model: the policy (eval mode is set for the call and restored).
      prompts: P token lists (bos first).
      n: samples per prompt.
      max_new: completion budget M (tokens, stop token included).
      temperature: > 0 samples from softmax(logits/T); 0 is greedy.
      top_p: nucleus mass in (0, 1].
      stop: token ids that end a completion.
      generator: torch.Generator on the model's device, for reproducible draws.
      use_cache: use the KV cache.

    Returns:
      :class:`Samples` with N = P·n rows.
    """
    if n < 1 or max_new < 1:
        raise ValueError(f"n and max_new must be ≥ 1, got n={n}, max_new={max_new}")
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if temperature < 0:
        raise ValueError(f"temperature must be ≥ 0, got {temperature}")
    device = model.lm_head.weight.device
    was_training = model.training
    model.eval()
    ptok, pvalid = left_pad(prompts, device)  # (P, Tp)
    ptok = ptok.repeat_interleave(n, 0)  # (N, Tp)
    pvalid = pvalid.repeat_interleave(n, 0)  # (N, Tp)
    N, Tp = ptok.shape
    S = Tp + max_new
    seq = torch.full((N, S), PAD, dtype=torch.long, device=device)  # (N, S)
    seq[:, :Tp] = ptok
    valid = torch.zeros((N, S), dtype=torch.bool, device=device)  # (N, S)
    valid[:, :Tp] = pvalid
    out = torch.full((N, max_new), PAD, dtype=torch.long, device=device)  # (N, M)
    mask = torch.zeros((N, max_new), dtype=torch.bool, device=device)  # (N, M)
    lps = torch.zeros((N, max_new), dtype=torch.float32, device=device)  # (N, M)
    stops = torch.as_tensor(list(stop), dtype=torch.long, device=device)
    done = torch.zeros(N, dtype=torch.bool, device=device)  # (N,)
    cache = model.new_cache(N, S) if use_cache else None
    logits = model(ptok, valid, cache, 0)[:, -1]  # (N, V)
    for t in range(max_new):
        tok, lp = _draw(logits, temperature, top_p, generator)  # (N,), (N,)
        live = ~done
        out[:, t] = torch.where(live, tok, PAD)
        lps[:, t] = torch.where(live, lp, 0.0)
        mask[:, t] = live
        done = done | torch.isin(tok, stops)
        if t == max_new - 1 or (t % 4 == 3 and bool(done.all())):  # a host sync only every 4 steps
            break
        seq[:, Tp + t] = out[:, t]
        valid[:, Tp + t] = True
        if use_cache:
            logits = model(out[:, t : t + 1], valid, cache, Tp + t)[:, -1]  # (N, V)
        else:
            logits = model(seq[:, : Tp + t + 1], valid, None, 0)[:, -1]  # (N, V)
    model.train(was_training)
    used = int(mask.any(0).nonzero().max()) + 1  # drop trailing all-pad columns: shorter teacher-forcing later
    out, mask, lps = out[:, :used], mask[:, :used], lps[:, :used]
    with torch.inference_mode(False):  # normal tensors, usable later in autograd (teacher forcing)
        return Samples(ptok.clone(), pvalid.clone(), out.clone(), mask.clone(), lps.clone(), n)


@overload
def sequence_logprobs(
    model: GPT, samples: Samples, temperature: float = 1.0, with_entropy: Literal[False] = False
) -> tuple[torch.Tensor, None]: ...
@overload
def sequence_logprobs(
    model: GPT, samples: Samples, temperature: float = 1.0, *, with_entropy: Literal[True]
) -> tuple[torch.Tensor, torch.Tensor]: ...
@overload
def sequence_logprobs(
    model: GPT, samples: Samples, temperature: float = 1.0, with_entropy: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]: ...
def sequence_logprobs(
    model: GPT, samples: Samples, temperature: float = 1.0, with_entropy: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Teacher-forced log π of each completion token (differentiable).

    Args:
      model: the policy.
      samples: prompts and completions (:class:`Samples`).
      temperature: the policy's temperature (as when sampling).
      with_entropy: also return the per-token entropy of π.

    Returns:
      (float (N, M) token log-probabilities, 0 where ``samples.mask`` is False;
      float (N, M) entropies or None).
    """
    Tp = samples.prompt.shape[1]
    seq = torch.cat([samples.prompt, samples.tokens], 1)  # (N, Tp+M), M = samples.tokens.shape[1]
    valid = torch.cat([samples.prompt_valid, samples.mask], 1)  # (N, Tp+M)
    logits = model(seq[:, :-1], valid[:, :-1])[:, Tp - 1 :]  # (N, M, V): predictions of the completion tokens
    logp = F.log_softmax(_allowed(logits) / max(temperature, 1e-8), dim=-1)  # (N, M, V)
    tok_lp = logp.gather(-1, samples.tokens[:, :, None]).squeeze(-1) * samples.mask  # (N, M)
    ent = None
    if with_entropy:
        ent = -(logp.exp() * logp).sum(-1) * samples.mask  # (N, M)
    return tok_lp, ent
