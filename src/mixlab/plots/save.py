"""What every figure does last: its caption line, layout, the PDF and a PNG preview."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_figure(fig, out: str | Path, caption: str = "", bottom: float = 0.04) -> None:
    """Write `out` (PDF) and the same figure as PNG next to it (for READMEs and the report), then close it."""
    if caption:
        fig.text(0.01, 0.005, caption, fontsize=5.5, color="0.35")
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.savefig(out)
    fig.savefig(Path(out).with_suffix(".png"), dpi=110)
    plt.close(fig)
