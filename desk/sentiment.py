"""Message sentiment with VADER: `score(text) -> (label, compound)`, and the events and messages
that carry it.

The analyzer loads its lexicon once per process (module-level cache). Thresholds are VADER's
recommended ones: compound >= 0.05 is positive, <= -0.05 negative, anything between neutral.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from sqlmodel import Session
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from definitions.events import Event, MessageIn
from store.models import MessageRow

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


def fill_sentiment(event: Event) -> Event:
    """The event with its customer message's sentiment computed when the desk did not send it."""
    message = event.message
    if message is None or message.sender_type != "customer" or message.sentiment is not None:
        return event
    label, value = score(message.content)
    filled = message.model_copy(update={"sentiment": label, "sentiment_score": value})
    return event.model_copy(update={"message": filled})


def _message_for_context(session: Session, message: MessageIn) -> MessageIn:
    """The triggering message as it was, with a sentiment (stored, or computed) if it had none."""
    if message.sentiment is not None:
        return message
    stored = session.get(MessageRow, message.id)
    if stored is not None and stored.sentiment is not None:
        label, value = stored.sentiment, stored.sentiment_score
    else:
        label, value = score(message.content)
    return message.model_copy(update={"sentiment": label, "sentiment_score": value})


def event_for_context(session: Session, event: Event) -> Event:
    """The event as conditions and templates read it: its message with a sentiment."""
    if event.message is None:
        return event
    return event.model_copy(update={"message": _message_for_context(session, event.message)})
