"""Which way a metric is better: lower for losses and errors, higher for everything else.

A metric is taken as lower-is-better when a word of its name (split at ``.``, ``_``,
``-`` and ``/``, lower-cased) contains ``loss`` or ``error``, or is one of ``LOWER``
(``metrics.loss.train``, ``metrics.val_loss``, ``metrics.error_rate``, ``metrics.rmse``,
``metrics.wer``); everything else is higher-is-better (``metrics.acc``, ``metrics.f1``,
``metrics.auc``).  Used to mark the best value of a metric column (``show``'s colour).
"""
from __future__ import annotations

LOWER = frozenset(("err", "mse", "mae", "rmse", "mape", "smape", "nll", "perplexity", "ppl", "wer", "cer",
                   "latency", "regret", "distance", "mistakes"))
WITHIN = ("loss", "error")


def lower_is_better(column: str) -> bool:
    name = column[len("metrics."):] if column.startswith("metrics.") else column
    words = name.lower().replace("_", ".").replace("-", ".").replace("/", ".").split(".")
    return any(word in LOWER or any(part in word for part in WITHIN) for word in words)
