"""Message sentiment with VADER: `score(text) -> (label, compound)`.

The analyzer loads its lexicon once per process (module-level cache). Thresholds are VADER's
recommended ones: compound >= 0.05 is positive, <= -0.05 negative, anything between neutral.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

Label = Literal["positive", "neutral", "negative"]

POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05


@lru_cache(maxsize=1)
def analyzer() -> SentimentIntensityAnalyzer:
    """The process-wide analyzer (building it reads the lexicon from disk)."""
    return SentimentIntensityAnalyzer()


def label_for(compound: float) -> Label:
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


def score(text: str) -> tuple[Label, float]:
    """The sentiment label and VADER compound score in [-1, 1] of `text` (empty: neutral, 0)."""
    if not text or not text.strip():
        return "neutral", 0.0
    compound = float(analyzer().polarity_scores(text)["compound"])
    return label_for(compound), round(compound, 4)
