"""Small inline SVG plots (matplotlib, Agg backend, text kept as text so the file stays small)."""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from collections.abc import Callable

from selftaught.report.data import IterationView

COLORS = {"val": "#1f77b4", "test": "#d62728"}
KEEP_PLOTS = 32
_plots: OrderedDict[tuple, str] = OrderedDict()
_drawing = threading.Lock()  # matplotlib's rc settings are global: one figure at a time


def _figure():
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    return Figure(figsize=(6.4, 3.2), dpi=72)


def _svg(figure) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "selftaught"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: the SVG is inline in HTML
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def _cached(key: tuple, draw: Callable[[], str]) -> str:
    """The SVG drawn for `key` before, or `draw()` now (the last KEEP_PLOTS kept)."""
    with _drawing:
        svg = _plots.get(key)
        if svg is None:
            svg = _plots[key] = draw()
            while len(_plots) > KEEP_PLOTS:
                _plots.popitem(last=False)
    return svg


def meta_utility_svg(iterations: list[IterationView], seed_scores: dict[str, dict[str, float]]) -> str:
    """Meta-utility per iteration on val and test, with t-intervals and each task's u(s) as a line.

    Drawn once per distinct set of figures: a page rendered again (a report over its size
    budget, a live page while a run goes on) reuses the plot until an iteration is added.
    """
    key = (
        tuple(
            (it.iteration, it.status, it.meta_utility_val, it.meta_utility_test, it.val, it.test)
            for it in iterations
        ),
        tuple((task, tuple(sorted(splits.items()))) for task, splits in sorted(seed_scores.items())),
    )
    return _cached(key, lambda: _draw(iterations, seed_scores))


def _draw(iterations: list[IterationView], seed_scores: dict[str, dict[str, float]]) -> str:
    figure = _figure()
    axes = figure.add_subplot()
    xs = [it.iteration for it in iterations]
    for split in ("val", "test"):
        values = [getattr(it, f"meta_utility_{split}") for it in iterations]
        points = [(x, y) for x, y in zip(xs, values, strict=True) if y is not None]
        if not points:
            continue
        axes.plot(
            *zip(*points, strict=True), marker="o", color=COLORS[split], label=f"meta-utility ({split})"
        )
        bands = [(it.iteration, getattr(it, split)) for it in iterations if getattr(it, split) is not None]
        bands = [(x, iv) for x, iv in bands if iv.n > 1]
        if bands:
            axes.fill_between(
                [x for x, _ in bands],
                [iv.low for _, iv in bands],
                [iv.high for _, iv in bands],
                color=COLORS[split],
                alpha=0.15,
                linewidth=0,
                label=f"95% interval ({split})",
            )
    styles = ("--", ":", "-.")
    for index, (task, splits) in enumerate(sorted(seed_scores.items())):
        for split, value in sorted(splits.items()):
            axes.axhline(
                value,
                color=COLORS.get(split, "gray"),
                linestyle=styles[index % len(styles)],
                linewidth=1,
                label=f"u(s) {task} ({split})",
            )
    for it in iterations:
        if it.status == "failed" and it.meta_utility_val is not None:
            axes.plot([it.iteration], [it.meta_utility_val], marker="x", color="black", markersize=9)
    axes.set_xlabel("iteration")
    axes.set_ylabel("meta-utility")
    axes.set_xticks(xs)
    axes.set_ylim(-0.02, 1.02)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _svg(figure)


def cost_curve_svg(curve: list[dict]) -> str:
    """Meta-utility of the improver in use against cumulative paid requests and USD, per iteration."""
    key = ("cost", tuple(tuple(sorted(point.items())) for point in curve))
    return _cached(key, lambda: _draw_cost(curve))


def _draw_cost(curve: list[dict]) -> str:
    figure = _figure()
    spent = (("cumulative_requests", "paid requests"), ("cumulative_usd", "USD"))
    for index, (key, label) in enumerate(spent, start=1):
        axes = figure.add_subplot(1, 2, index)
        for split in ("val", "test"):
            points = [
                (p[key], p[f"meta_utility_{split}"]) for p in curve if p[f"meta_utility_{split}"] is not None
            ]
            if points:
                axes.plot(*zip(*points, strict=True), marker="o", color=COLORS[split], label=split)
        axes.set_xlabel(label)
        axes.set_ylim(-0.02, 1.02)
        axes.grid(alpha=0.3)
        if index == 1:
            axes.set_ylabel("meta-utility")
            axes.legend(fontsize=7)
    return _svg(figure)


def arena_svg(points: list) -> str:
    """Each arena repeat's test score against the model calls it used, per arm, with each arm's mean."""
    key = ("arena", tuple((p.arm, p.repeat, p.calls, p.test) for p in points))
    return _cached(key, lambda: _draw_arena(points))


def _draw_arena(points: list) -> str:
    figure = _figure()
    axes = figure.add_subplot()
    arms = sorted({p.arm for p in points})
    for index, arm in enumerate(arms):
        mine = [p for p in points if p.arm == arm]
        color = f"C{index % 10}"
        axes.scatter([p.calls for p in mine], [p.test for p in mine], color=color, alpha=0.4, s=14)
        mean_calls = sum(p.calls for p in mine) / len(mine)
        mean_test = sum(p.test for p in mine) / len(mine)
        axes.scatter([mean_calls], [mean_test], color=color, marker="D", s=50, label=f"{arm} (mean)")
    axes.set_xlabel("model calls used by the repeat")
    axes.set_ylabel("test score")
    axes.set_ylim(-0.02, 1.02)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _svg(figure)
