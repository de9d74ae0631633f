"""A small bar chart of posts per week against the Monev target, as inline SVG."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 250, 34, 40, 40


def weekly_chart(weeks: Sequence[tuple[str, int]], target: int, title: str,
                 target_label: str) -> str:
    """SVG bars for ``(week label, count)`` with a dashed line at ``target`` per week."""
    top = max([target, *[c for _w, c in weeks], 1])
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    plot_w = WIDTH - PAD_LEFT - 8
    slot = plot_w / max(1, len(weeks))

    def y(value: float) -> float:
        return PAD_TOP + plot_h - plot_h * value / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<line x1="{PAD_LEFT}" y1="{y(0):.1f}" x2="{WIDTH - 8}" y2="{y(0):.1f}" '
        'stroke="#4a5560"/>',
        f'<text x="{PAD_LEFT - 6}" y="{y(top) + 4:.1f}" text-anchor="end" font-size="15" '
        f'fill="#4a5560">{top}</text>',
        f'<text x="{PAD_LEFT - 6}" y="{y(0) + 4:.1f}" text-anchor="end" font-size="15" '
        f'fill="#4a5560">0</text>',
    ]
    for i, (label, count) in enumerate(weeks):
        x = PAD_LEFT + i * slot + slot * 0.15
        colour = "#1a6b35" if count >= target else "#8a5300"
        parts.append(
            f'<rect x="{x:.1f}" y="{y(count):.1f}" width="{slot * 0.7:.1f}" '
            f'height="{y(0) - y(count):.1f}" fill="{colour}"><title>{escape(label)}: {count}'
            f"</title></rect>"
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{y(count) - 3:.1f}" text-anchor="middle" '
            f'font-size="15" fill="#1b1f24">{count}</text>'
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - PAD_BOTTOM + 20}" text-anchor="middle" '
            f'font-size="14" fill="#4a5560">{escape(label)}</text>'
        )
    parts.append(
        f'<line x1="{PAD_LEFT}" y1="{y(target):.1f}" x2="{WIDTH - 8}" y2="{y(target):.1f}" '
        f'stroke="#a4161a" stroke-width="2" stroke-dasharray="6 4"/>'
    )
    parts.append(
        # the legend sits above the plot, so it never covers a bar's number
        f'<text x="{WIDTH - 10}" y="15" text-anchor="end" font-size="15" fill="#a4161a">'
        f'- - {escape(target_label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
