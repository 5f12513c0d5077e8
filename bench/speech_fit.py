"""Fitting the second hearing's decision (ivr/channels/speech/second_hearing.py) on bench/speech.py's corpus.

`speech.py accuracy --fit` calls fit_second_hearing on each half's results: on the tuning half it fits WEIGHTS
(a logistic regression of "the second hearing's answer is the expected choice", over second_hearing.features,
on standardised features with a little L2, folded back to raw weights) and picks ACCEPT, the lowest threshold
keeping out-of-menu acceptances of both hearings together within 2%; on the held-out half it only evaluates.
"""

from __future__ import annotations

import numpy as np

from ivr.channels.speech import second_hearing


def heard_again(results):
    """(kind, expected, first detail, again detail) for each utterance heard twice with a candidate the 2nd time."""
    return [
        (kind, expected, heard.detail, heard.detail["again"])
        for (kind, expected, *_), heard in results
        if "p_right" in heard.detail.get("again", {})
    ]


def logistic_newton(x: np.ndarray, right: np.ndarray, ridge: float) -> np.ndarray:
    """Weights of a logistic regression of `right` on `x` (Newton's method, 50 steps, L2 of `ridge`)."""
    weights = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ weights))
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(len(weights))
        weights -= np.linalg.solve(hessian, x.T @ (p - right) + ridge * weights)
    return weights


def _fit(x: np.ndarray, right: np.ndarray, ridge: float = 0.1) -> np.ndarray:
    """Raw weights (bias first, as x's first column is 1) of a logistic regression fitted on standardised x."""
    mean, scale = x[:, 1:].mean(axis=0), x[:, 1:].std(axis=0)
    scale[scale == 0] = 1.0
    weights = logistic_newton(np.hstack([np.ones((len(x), 1)), (x[:, 1:] - mean) / scale]), right, ridge)
    raw = weights[1:] / scale
    return np.concatenate([[weights[0] - float(raw @ mean)], raw])


def fit_second_hearing(results, choice_of, picked_first, fitted=None):
    """Fit (tuning) or evaluate (`fitted` from the tuning half) the second hearing; prints the threshold table.
    `choice_of(text)` is the menu's choice for a transcript; `picked_first(heard)` the choice the first hearing
    took (or "")."""
    rows = heard_again(results)
    if not rows:
        print("  second hearing: no utterance was heard again with a candidate")
        return fitted
    x = np.array([second_hearing.features(first, again) for _, _, first, again in rows])
    answers = [choice_of(again["answer"]) for _, _, _, again in rows]
    right = np.array(
        [float(kind == "menu" and answer == expected) for (kind, expected, *_), answer in zip(rows, answers)]
    )
    weights = _fit(x, right) if fitted is None else fitted[0]
    p = 1 / (1 + np.exp(-x @ weights))
    second = {id(first): (answer, prob) for (_, _, first, _), answer, prob in zip(rows, answers, p)}
    menus = sum(1 for (kind, *_), _ in results if kind == "menu")
    out_of_menu = sum(1 for (kind, *_), _ in results if kind == "oog")
    table = []
    for threshold in np.arange(0.5, 0.96, 0.05):
        right_taken = oog_taken = 0
        for (kind, expected, *_), heard in results:
            choice = picked_first(heard)
            if not choice and id(heard.detail) in second:
                answer, prob = second[id(heard.detail)]
                choice = answer if prob >= threshold else ""
            right_taken += kind == "menu" and choice == expected
            oog_taken += kind == "oog" and choice != ""
        table.append((round(float(threshold), 2), right_taken / max(1, menus), oog_taken / max(1, out_of_menu)))
    accept = fitted[1] if fitted else next((t for t, _, oog in table if oog <= 0.02), 0.95)
    print("  second hearing: fitted WEIGHTS =", tuple(round(float(w), 3) for w in weights), "ACCEPT =", accept)
    print(
        "  both hearings, threshold: right choices / out-of-menu taken:",
        " ".join(f"{t}: {r:.1%}/{o:.1%}" for t, r, o in table),
    )
    return weights, accept
