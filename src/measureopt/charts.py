"""Charts of the sizing curve and the cost allocation, as reproducible PNG and SVG (matplotlib Agg)."""
from __future__ import annotations

from pathlib import Path

from .macc import figure_svg


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, stem: Path) -> None:
    """`stem`.png and `stem`.svg, byte-for-byte reproducible; the figure is closed."""
    fig.tight_layout()
    fig.savefig(Path(stem).with_suffix(".png"), format="png", dpi=120, metadata={"Software": None})
    Path(stem).with_suffix(".svg").write_text(figure_svg(fig), encoding="utf-8")
