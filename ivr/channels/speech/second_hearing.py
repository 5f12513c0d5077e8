"""A menu answer heard a second time, played a little slower, when the first hearing found no choice.

Through the phone band, Whisper tiny.en often mishears a clear answer ("operator" as "up, remember", "a person
please" as "and client."); the same audio played at `SPEED` (as a tape would: longer and lower, resample.py) is
often heard right. Only a no-match of speech is heard again, so an answer taken the first time costs nothing
more and is kept. The second hearing's answer is taken when its probability of being right, a logistic
regression over its own menu evidence (closed_set.feature_vector) and how the first hearing went, reaches
`ACCEPT`. bench/speech.py fitted WEIGHTS on the tuning half of its corpus (`accuracy --fit`), and set ACCEPT as
the lowest threshold that kept out-of-menu acceptances, both hearings together, within 2% there.
"""

from __future__ import annotations

import math

from . import closed_set
from .recognizer import Heard

SPEED = 0.95  # chosen on the tuning half against 0.85 and 0.9 (BENCHMARKS.md, "A menu answer heard again")
# Multiplying features(): bias, the second hearing's evidence (closed_set.feature_vector without its bias), then
# the first hearing's p_right, mean log-probability and no-speech probability, and the second's p_right.
WEIGHTS = (8.126, 1.152, 0.67, 7.879, 4.1, -2.384, -3.074, -0.265, 1.381, -2.13, -1.757, -6.123)
ACCEPT = 0.7


def wanted(first: Heard) -> bool:
    """Hear it again: the first hearing is a no-match of a menu answer (not a free transcript or digits) that
    Whisper took for speech. Silence or noise is no misheard answer, and the corpus the weights were fitted on
    holds none, so it is never heard again."""
    detail = first.detail
    if first.confidence or "mean_logprob" not in detail or detail.get("path") == "loop":
        return False
    return float(detail["no_speech"]) < closed_set.MAX_NO_SPEECH


def features(first: dict, again: dict) -> tuple[float, ...]:
    """What WEIGHTS multiply, from the two hearings' details (whisper.py); `again` holds a candidate answer."""
    evidence = closed_set.feature_vector(*again["features"])[1:]
    first_p = float(first.get("p_right", 0.0))
    return (1.0, *evidence, first_p, float(first["mean_logprob"]), float(first["no_speech"]), float(again["p_right"]))


def probability(first: dict, again: dict) -> float:
    score = sum(weight * value for weight, value in zip(WEIGHTS, features(first, again)))
    return round(1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, score)))), 3)


def decide(first: Heard, again: Heard) -> Heard:
    """The second hearing's answer if it is likely enough right, else the first hearing's no-match. Either way
    the detail is the first hearing's, with the second's under "again" (bench/speech.py refits from both)."""
    if "p_right" not in again.detail:  # nothing the menu could take was heard the second time either
        return Heard(first.text, 0.0, {**first.detail, "again": again.detail})
    p = probability(first.detail, again.detail)
    detail = {**first.detail, "again": {**again.detail, "p_taken": p}}
    if p >= ACCEPT and closed_set.heard_speech(again.detail["features"]):
        return Heard(again.detail["answer"], p, {**detail, "heard_at": SPEED})
    return Heard(first.text, 0.0, detail)
