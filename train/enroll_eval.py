"""``har eval-enroll``: few-shot accuracy and open-set false accepts of ``har-edge enroll``, group-disjoint.

What is measured, on windows embedded by the bundle itself (its head's
second output, or an older bundle's ``embed.tflite``) and classified by the device's own :class:`~har.edge.enroll.prototypes.PrototypeClassifier`:

* **closed set**: every class enrolled from ``K`` examples; accuracy of the
  nearest prototype, and at the calibrated thresholds (a window counts only
  when it is accepted *and* right). Beside it, the bundle head's own
  accuracy on the same test windows: the same encoder with its head trained
  on the full training split.
* **open set**: the classes are dealt into three random thirds per draw:
  *enrolled*, *base* (never enrolled, known to the bundle: its reference
  stays, like walking past a device that knows "walk") and *unknown*
  (never enrolled and its reference removed: an action nobody taught the
  device). False accept rate = share of base / unknown test windows that
  take an enrolled label.

Group-disjoint: examples and test windows never share a person (generated
actor or dataset group). On generated motion (``--motion``, the default for
a pose bundle whose labels are motion actions) one person records all the
examples, as on a device, and people who never enrolled anything are
tested. With ``--data DIR`` (class folders of clips) the groups
(``har.train.dataset.group_of``) are split in half per draw. Every figure
is a mean and standard deviation over ``draws`` random draws.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from har.edge.bundle import Bundle
from har.edge.enroll.prototypes import PrototypeClassifier
from har.edge.enroll.references import bundle_references, unit
from har.train.errors import TrainError


class Embedded(NamedTuple):
    emb: np.ndarray  # (N, D) unit embeddings
    probs: np.ndarray  # (N, C) the bundle head's probabilities
    y: np.ndarray  # (N,) index into classes
    groups: np.ndarray  # (N,) person / group id
    enrol: np.ndarray  # (N,) bool: may be an example (motion: the enrolling people)
    classes: list[str]


def _head_and_embedding(bundle: Bundle) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """features -> (the head's probabilities, the window's embedding), as the device computes them."""
    from har.edge.interpreter import TfliteModel

    if bundle.embedding_dim is None:
        raise TrainError(f"bundle {bundle.path} has no embedding output; re-export it with this version of har")
    head = TfliteModel(bundle.model_file("head"))
    if bundle.head_embeds:
        return lambda x: (head.run(x), head.embedding())
    embed = TfliteModel(bundle.model_file("embed"))
    return lambda x: (head.run(x), embed.run(x))


def embed_motion(bundle: Bundle, enrollers: int = 8, testers: int = 30, takes: int = 10, seed: int = 0,
                 first_actor: int | None = None) -> Embedded:
    """Generated windows: ``enrollers`` people with ``takes`` takes per action, ``testers`` other people."""
    from har.edge.vocabulary import map_class
    from har.train.motion import ACTIONS
    from har.train.motion.windows import UNSEEN_FIRST_ACTOR, generated_windows, window_features

    first = UNSEEN_FIRST_ACTOR if first_actor is None else first_actor
    classes = [lab for lab in bundle.labels if map_class(lab, sorted(ACTIONS)) is not None]
    if len(classes) < 3:
        raise TrainError(f"bundle {bundle.path} has {len(classes)} labels that are generated motion actions; "
                         "--motion needs at least 3 (use --data DIR)")
    actions = [map_class(lab, sorted(ACTIONS)) for lab in classes]
    interval = bundle.interval_s or 0.1
    a = generated_windows(actions, range(first, first + enrollers), seed, bundle.seq_len, interval, 1,
                          takes=takes)
    b = generated_windows(actions, range(first + 1000, first + 1000 + testers), seed, bundle.seq_len, interval, 2)
    run = _head_and_embedding(bundle)
    feats = np.concatenate([window_features(a), window_features(b)])
    idx = [bundle.labels.index(c) for c in classes]
    probs, emb = (np.stack(v) for v in zip(*(run(x) for x in feats), strict=True))
    probs, emb = probs[:, idx], unit(emb)
    enrol = np.r_[np.ones(len(a.y), bool), np.zeros(len(b.y), bool)]
    return Embedded(emb, probs, np.r_[a.y, b.y], np.r_[a.groups, b.groups], enrol, classes)


def embed_folder(bundle: Bundle, root, stride: int = 5, threads: int = 1,
                 log: Callable[[str], None] = lambda s: None) -> Embedded:
    """Windows of every clip of a folder of class folders (padded like predict when a clip is short)."""
    from har.edge.pipeline import Classifier
    from har.edge.predict import cuts_of_file
    from har.train.dataset import list_videos

    videos, classes = list_videos(root)
    from har.edge.enroll.embedding import window_embedder

    if bundle.embedding_dim is None:
        raise ValueError(f"bundle {bundle.path} has no embedding output; re-export it with this version of har")
    clf = Classifier(bundle, threads, None, "on" if not bundle.is_pose else "auto")
    embedding = window_embedder(bundle, clf)
    head_idx = {c: bundle.labels.index(c) for c in classes if c in bundle.labels}
    embs, probs, ys, groups = [], [], [], []
    for i, v in enumerate(videos):
        clf.reset()
        for cut in cuts_of_file(v.path, bundle, clf.item, stride=stride, pad=True):
            if not clf.enough_poses(cut.window):
                continue
            p = clf.classify(cut.window)
            embs.append(embedding())
            probs.append([p[head_idx[c]] if c in head_idx else 0.0 for c in classes])
            ys.append(classes.index(v.label))
            groups.append(v.group)
        log(f"  [{i + 1}/{len(videos)}] {v.path.name}")
    if not embs:
        raise TrainError(f"no window of {root} had enough of a person to embed")
    n = len(ys)
    return Embedded(unit(np.asarray(embs, np.float32)), np.asarray(probs, np.float32), np.asarray(ys),
                    np.asarray(groups), np.ones(n, bool), classes)


def _split(data: Embedded, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(example pool, test) indices for one draw; never one person on both sides."""
    if not data.enrol.all():  # motion: one enrolling person's windows; the testers
        who = rng.choice(np.unique(data.groups[data.enrol]))
        return np.where(data.enrol & (data.groups == who))[0], np.where(~data.enrol)[0]
    groups = rng.permutation(np.unique(data.groups))
    mine = np.isin(data.groups, groups[:len(groups) // 2])
    return np.where(mine)[0], np.where(~mine)[0]


def _examples(data: Embedded, pool: np.ndarray, spare: np.ndarray, classes: np.ndarray, k: int,
              rng) -> dict[int, np.ndarray]:
    """``k`` examples per class from ``pool``, topped up from ``spare`` (other enrolling people) when short;
    a class with fewer than ``k`` windows there sits the draw out."""
    out = {}
    for c in classes:
        idx = rng.permutation(pool[data.y[pool] == c])
        if len(idx) < k:
            more = np.setdiff1d(spare[data.y[spare] == c], idx)
            idx = np.r_[idx, rng.permutation(more)]
        if len(idx) >= k:
            out[int(c)] = data.emb[idx[:k]]
    return out


def few_shot(data: Embedded, bundle: Bundle, shots: int, draws: int = 20, seed: int = 0) -> dict:
    """Closed- and open-set figures for ``shots`` examples per class (see the module docstring)."""
    refs, one_shot = bundle_references(bundle.metadata, data.emb.shape[1])
    rng = np.random.default_rng([seed, shots])
    n = len(data.classes)
    acc, acc_t, head, open_acc, far_base, far_unknown = [], [], [], [], [], []
    logreg, logreg_ms, classes = [], [], []
    skipped = 0
    for _ in range(draws):
        pool, test = _split(data, rng)
        spare = np.where(data.enrol)[0] if not data.enrol.all() else pool
        ex = _examples(data, pool, spare, np.arange(n), shots, rng)
        test = test[np.isin(data.y[test], list(ex))]
        if len(ex) < 3 or not len(test):
            skipped += 1
            continue
        yt = data.y[test]
        present = np.array(sorted(ex))
        classes.append(len(present))
        clf = PrototypeClassifier({data.classes[c]: ex[c] for c in present}, {}, one_shot)
        pred, ok = _classify(clf, data.emb[test])
        pred = present[pred]
        acc.append(float((pred == yt).mean()))
        acc_t.append(float(((pred == yt) & ok).mean()))
        head.append(float((data.probs[test].argmax(1) == yt).mean()))
        t0 = time.perf_counter()
        w = softmax_regression(np.concatenate([ex[c] for c in present]), np.repeat(present, shots), n)
        logreg_ms.append((time.perf_counter() - t0) * 1e3)
        logreg.append(float(((data.emb[test] @ w[:-1] + w[-1]).argmax(1) == yt).mean()))
        thirds = np.array_split(rng.permutation(present), 3)
        enrolled, base, unknown = (np.sort(t) for t in thirds)
        base_refs = {data.classes[c]: refs[data.classes[c]] for c in base if data.classes[c] in refs}
        clf = PrototypeClassifier({data.classes[c]: ex[c] for c in enrolled}, base_refs, one_shot)
        pred, ok = _classify(clf, data.emb[test])
        pred = enrolled[pred]
        known = np.isin(yt, enrolled)
        open_acc.append(float(((pred == yt) & ok)[known].mean()))
        if base_refs:
            far_base.append(float(ok[np.isin(yt, [c for c in base if data.classes[c] in refs])].mean()))
        far_unknown.append(float(ok[np.isin(yt, unknown)].mean()))
    return {"shots": shots, "draws": draws - skipped, "classes_per_draw": _ms(classes), "closed_accuracy": _ms(acc),
            "closed_accuracy_at_threshold": _ms(acc_t), "head_accuracy": _ms(head),
            "closed_accuracy_softmax_regression": _ms(logreg), "softmax_regression_fit_ms": _ms(logreg_ms),
            "open_enrolled_accuracy_at_threshold": _ms(open_acc), "false_accept_base": _ms(far_base),
            "false_accept_unknown": _ms(far_unknown)}


def softmax_regression(x: np.ndarray, y: np.ndarray, n: int, steps: int = 300, lr: float = 0.5,
                       l2: float = 1e-3) -> np.ndarray:
    """The alternative to nearest prototype: a linear softmax classifier fitted by gradient descent in numpy.

    Returns ``(D + 1, n)`` weights, bias last. Measured beside the prototypes in docs/enroll.md.
    """
    xb = np.c_[x, np.ones(len(x), np.float32)]
    w = np.zeros((xb.shape[1], n), np.float32)
    onehot = np.eye(n, dtype=np.float32)[y]
    for _ in range(steps):
        z = xb @ w
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        w -= lr * (xb.T @ (p - onehot) / len(x) + l2 * w)
    return w


def _classify(clf: PrototypeClassifier, emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest prototype per window, and whether the open-set thresholds accept it."""
    sims = emb @ clf.prototypes.T
    pred = sims.argmax(1)
    ok = np.array([clf.match(e).index >= 0 for e in emb])
    return pred, ok


def _ms(values: list[float]) -> dict | None:
    return {"mean": round(float(np.mean(values)), 4), "std": round(float(np.std(values)), 4)} if values else None


def fit_timing(data: Embedded, bundle: Bundle, shots: int = 5, rounds: int = 200) -> dict:
    """Milliseconds to fit five-example labels for every class, and to match one window (medians)."""
    refs, one_shot = bundle_references(bundle.metadata, data.emb.shape[1])
    ex = {c: data.emb[np.where(data.y == i)[0][:shots]] for i, c in enumerate(data.classes)}
    fit_ms, match_ms = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        clf = PrototypeClassifier(ex, refs, one_shot)
        t1 = time.perf_counter()
        clf.match(data.emb[0])
        t2 = time.perf_counter()
        fit_ms.append((t1 - t0) * 1e3)
        match_ms.append((t2 - t1) * 1e3)
    return {"fit_ms_p50": round(float(np.median(fit_ms)), 4), "match_ms_p50": round(float(np.median(match_ms)), 4),
            "classes": len(ex), "shots": shots}
