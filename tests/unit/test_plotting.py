from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from course.plotting import FIGSIZE, check_labelled, figure


def test_figure_has_fixed_size_labels_and_title() -> None:
    fig, axes = figure("Title", "x (s)", "y (ops/s)", ncols=2)
    try:
        assert tuple(fig.get_size_inches()) == FIGSIZE
        assert len(axes) == 2
        assert axes[0].get_xlabel() == "x (s)"
        assert axes[0].get_ylabel() == "y (ops/s)"
        axes[1].set_xlabel("n")
        axes[1].set_ylabel("ms")
        check_labelled(fig)
    finally:
        plt.close(fig)


def test_check_labelled_rejects_unlabelled_axes() -> None:
    fig, _axes = figure("Title", "x", "y", ncols=2)
    try:
        with pytest.raises(AssertionError, match="lack an x or y label"):
            check_labelled(fig)
    finally:
        plt.close(fig)
    bare = plt.figure()
    bare.add_subplot().set(xlabel="x", ylabel="y")
    try:
        with pytest.raises(AssertionError, match="no title"):
            check_labelled(bare)
    finally:
        plt.close(bare)
