"""Perplexity on fixed-length held-out windows."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from tqdm import tqdm

from flow.models import LoadedModel


@torch.no_grad()
def perplexity(lm: LoadedModel, windows: torch.Tensor, batch: int = 4) -> float:
    """exp(mean next-token NLL) over every predicted token of every window (seqlen - 1 each)."""
    if windows.numel() == 0:
        raise ValueError("no evaluation windows")
    device = lm.model.get_input_embeddings().weight.device
    nll, count = 0.0, 0
    for lo in tqdm(range(0, windows.shape[0], batch), desc="perplexity", unit="batch"):
        ids = windows[lo : lo + batch].to(device)
        logits = lm.model(input_ids=ids, use_cache=False).logits.float()
        nll += F.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="sum"
        ).item()
        count += ids[:, 1:].numel()
    return math.exp(nll / count)
