"""One plotting style for every lesson: fixed figure size, labelled axes with units."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

FIGSIZE = (8.0, 4.0)
DPI = 100

STYLE: dict[str, Any] = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titleweight": "bold",
    "legend.frameon": False,
}


def apply_style() -> None:
    mpl.style.use(STYLE)


def figure(title: str, xlabel: str, ylabel: str, *, ncols: int = 1) -> tuple[Figure, list[Axes]]:
    """A figure of the course's size with ``ncols`` axes; the first gets the labels."""
    apply_style()
    fig, axes = plt.subplots(1, ncols, figsize=FIGSIZE, squeeze=False, layout="constrained")
    first = axes[0][0]
    first.set_xlabel(xlabel)
    first.set_ylabel(ylabel)
    fig.suptitle(title)
    return fig, list(axes[0])


def check_labelled(fig: Figure) -> None:
    """Raise if an axis of ``fig`` lacks a label or the figure lacks a title (used by tests)."""
    title = fig.get_suptitle() or " ".join(ax.get_title() for ax in fig.axes)
    if not title.strip():
        raise AssertionError("the figure has no title")
    for ax in fig.axes:
        if not ax.get_xlabel() or not ax.get_ylabel():
            raise AssertionError(f"axes {ax.get_title()!r} lack an x or y label")
