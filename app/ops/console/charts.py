"""Charts for the health page, drawn as inline SVG from the gateway's own Prometheus registry.

No JavaScript and no chart library: the server reads the histograms, keeps a short history of
totals (one sample each time the charts are drawn, which the page asks for every few
seconds), and draws bars and lines people can take in at a glance.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from markupsafe import Markup, escape
from prometheus_client import CollectorRegistry

__all__ = ["ChartHistory", "RouteStats", "bar_chart", "line_chart", "route_stats"]


@dataclass
class RouteStats:
    name: str
    count: float = 0.0
    errors: float = 0.0
    """Answers with status 5xx."""
    refusals: float = 0.0
    """Answers with status 4xx."""
    buckets: dict[float, float] = field(default_factory=dict)
    """Cumulative count per upper bound (seconds)."""

    def quantile(self, q: float) -> float | None:
        if self.count <= 0:
            return None
        target = q * self.count
        for bound in sorted(self.buckets):
            if self.buckets[bound] >= target:
                return bound
        return math.inf


def route_stats(registry: CollectorRegistry, metric: str, key: str) -> list[RouteStats]:
    """Per label ``key`` of a histogram: counts, error counts and cumulative buckets."""
    stats: dict[str, RouteStats] = {}
    for family in registry.collect():
        if family.name != metric:
            continue
        for sample in family.samples:
            name = sample.labels.get(key, "?")
            entry = stats.setdefault(name, RouteStats(name=name))
            status = sample.labels.get("status", "")
            outcome = sample.labels.get("outcome", "")
            if sample.name.endswith("_count"):
                entry.count += sample.value
                if status.startswith("5") or outcome not in ("", "ok", "success"):
                    entry.errors += sample.value
                elif status.startswith("4"):
                    entry.refusals += sample.value
            elif sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                entry.buckets[bound] = entry.buckets.get(bound, 0.0) + sample.value
    return sorted(stats.values(), key=lambda s: -s.count)


@dataclass
class ChartHistory:
    """Totals sampled each time the charts are drawn: requests, 5xx answers, ERP errors."""

    size: int = 120
    samples: deque[tuple[float, float, float, float]] = field(default_factory=deque)

    def add(self, at: float, requests: float, errors: float, backend_errors: float) -> None:
        self.samples.append((at, requests, errors, backend_errors))
        while len(self.samples) > self.size:
            self.samples.popleft()

    def rates(self) -> list[tuple[float, float, float, float]]:
        """Per interval: (seconds ago, requests/s, 5xx/s, ERP errors/s)."""
        out: list[tuple[float, float, float, float]] = []
        points = list(self.samples)
        if not points:
            return out
        last = points[-1][0]
        for (t0, r0, e0, b0), (t1, r1, e1, b1) in itertools.pairwise(points):
            span = max(t1 - t0, 1e-6)
            out.append((last - t1, max(0.0, (r1 - r0) / span), max(0.0, (e1 - e0) / span),
                        max(0.0, (b1 - b0) / span)))  # fmt: skip
        return out


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}"


def bar_chart(
    title: str, rows: Iterable[tuple[str, float, str]], *, unit: str = "", width: int = 560
) -> Markup:
    """Horizontal bars: ``(label, value, css class)`` per row, scaled to the largest."""
    items = list(rows)
    row_h, label_w = 22, 220
    height = 28 + row_h * max(1, len(items))
    top = max((v for _, v, _ in items if math.isfinite(v)), default=0.0) or 1.0
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="0" y="16" class="chart-title">{escape(title)}</text>',
    ]
    if not items:
        parts.append('<text x="0" y="44" class="chart-empty">no data yet</text>')
    for i, (label, value, css) in enumerate(items):
        y = 28 + i * row_h
        finite = value if math.isfinite(value) else top
        w = max(1.0, (width - label_w - 70) * finite / top)
        shown = "∞" if not math.isfinite(value) else _fmt(value)
        parts.append(
            f'<text x="0" y="{y + 15}" class="chart-label">{escape(label[:34])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 7}" '
            f'class="bar {escape(css)}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" class="chart-value">'
            f"{shown}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def line_chart(
    title: str,
    series: list[tuple[str, str, list[tuple[float, float]]]],
    *,
    width: int = 560,
    height: int = 170,
) -> Markup:
    """Lines over time: ``(name, css class, [(seconds ago, value), …])`` per series."""
    pad_l, pad_b, pad_t = 44, 22, 44
    height = max(height, 190)
    points = [p for _, _, pts in series for p in pts]
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="0" y="16" class="chart-title">{escape(title)}</text>',
    ]
    if len(points) < 2:
        parts.append(
            f'<text x="{pad_l}" y="{height / 2:.0f}" class="chart-empty">'
            "collecting samples (this page refreshes itself)…</text></svg>"
        )
        return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()
    span = max(p[0] for p in points) or 1.0
    top = max(p[1] for p in points) or 1.0
    plot_w, plot_h = width - pad_l - 8, height - pad_t - pad_b

    def xy(ago: float, value: float) -> str:
        return f"{pad_l + plot_w * (1 - ago / span):.1f},{pad_t + plot_h * (1 - value / top):.1f}"

    parts.append(
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - 8}" y2="{pad_t + plot_h}" '
        f'class="axis"/><text x="0" y="{pad_t + 8}" class="chart-value">{_fmt(top)}/s</text>'
        f'<text x="0" y="{pad_t + plot_h}" class="chart-value">0</text>'
        f'<text x="{pad_l}" y="{height - 4}" class="chart-value">{span:.0f} s ago</text>'
        f'<text x="{width - 40}" y="{height - 4}" class="chart-value">now</text>'
    )
    legend_x = float(pad_l)
    for name, css, pts in series:
        if len(pts) >= 2:
            path = " ".join(xy(a, v) for a, v in pts)
            parts.append(f'<polyline points="{path}" class="line {escape(css)}"/>')
        parts.append(
            f'<rect x="{legend_x}" y="24" width="10" height="10" class="bar {escape(css)}"/>'
            f'<text x="{legend_x + 14}" y="33" class="chart-label">{escape(name)}</text>'
        )
        legend_x += 120
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()
