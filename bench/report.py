"""Turn one benchmark run into BENCHMARKS.md (a table, the targets) and a PNG plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_report"]


def _find(runs: list[dict[str, Any]], name: str, workers: int) -> dict[str, Any] | None:
    return next((r for r in runs if r["name"] == name and r["workers"] == workers), None)


def _targets(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    runs = payload["runs"]
    rows: list[tuple[str, str, str]] = []
    ceiling = _find(runs, "hello-world (ceiling)", 2)
    warm = _find(runs, "validate-quote warm (10 lines)", 2)
    if ceiling and warm:
        ratio = warm["requests_per_s"] / ceiling["requests_per_s"]
        rows.append(
            (
                "warm validate-quote ≥ 0.40 x ceiling (2 workers)",
                f"{ratio:.2f} x",
                "met" if ratio >= 0.4 else "missed",
            )
        )
        rows.append(("warm validate-quote p99 ≤ 25 ms (2 workers, 64 conns)", f"{warm['p99_ms']:.1f} ms",
                     "met" if warm["p99_ms"] <= 25 else "missed"))  # fmt: skip
    raw = _find(runs, "hop aiohttp c=64", 1)
    ours = _find(runs, "hop isthmus c=64", 1)
    if raw and ours:
        ratio = ours["requests_per_s"] / raw["requests_per_s"]
        rows.append(
            (
                "backend hop ≥ 0.6 x raw aiohttp (64 conns)",
                f"{ratio:.2f} x",
                "met" if ratio >= 0.6 else "missed",
            )
        )
    traced = _find(runs, "validate-quote warm, tracing+metrics on", 2)
    bare = _find(runs, "validate-quote warm, observability off", 2)
    sampled = _find(runs, "validate-quote warm, tracing 10% sampled", 2)
    for label, run in (("every request", traced), ("10% sampled", sampled)):
        if run and bare:
            cost = (1 - run["requests_per_s"] / bare["requests_per_s"]) * 100
            verdict = "met" if cost <= 10 else "missed"
            rows.append(
                (f"tracing ({label}) and metrics cost ≤ 10% requests/s", f"{cost:.1f}%", verdict)
            )
    limits = payload.get("intacct_limits")
    if limits:
        seen = max(limits["max_in_flight_seen"].values(), default=0)
        rows.append((f"Intacct requests in flight per company ≤ {limits['max_in_flight']} under load",
                     f"max {seen}, {limits['rate_limited_total']} refused", "met"
                     if seen <= limits["max_in_flight"] and limits["rate_limited_total"] == 0 else "missed"))  # fmt: skip
    memory = payload.get("memory")
    if memory and memory["rss_mb_after_fill"] and memory["rss_mb_after_soak"]:
        fill = max(memory["rss_mb_after_fill"])
        soak = max(memory["rss_mb_after_soak"])
        growth = (soak - fill) / fill * 100
        rows.append((f"RSS per worker ≤ 150 MB after {memory['requests_before_soak']:,} requests", f"{fill:.0f} MB",
                     "met" if fill <= 150 else "missed"))  # fmt: skip
        rows.append((f"RSS growth ≤ 5% over a {memory['soak_seconds']} s soak", f"{growth:+.1f}%",
                     "met" if growth <= 5 else "missed"))  # fmt: skip
    return rows


def write_report(payload: dict[str, Any], markdown: Path, plot: Path) -> None:
    runs = payload["runs"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {payload['date']} by `make bench` on {payload['machine']['cpus']} CPUs "
        f"(Python {payload['machine']['python']}); wrk and every server share the machine, all on "
        f"127.0.0.1. 64 connections unless the row says otherwise. Raw figures: "
        f"`bench/results/{payload['date']}.json`.",
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---|---|",
        *(f"| {t} | {m} | {v} |" for t, m, v in _targets(payload)),
        "",
        "## All runs",
        "",
        "| run | workers | requests/s | p50 ms | p99 ms | errors | RSS MB per process |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['name']} | {r['workers']} | {r['requests_per_s']:,.0f} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['errors']} | {', '.join(str(x) for x in r['rss_mb_per_worker'])} |"
            for r in runs
        ),
        "",
        f"![throughput and p99 per endpoint]({plot.relative_to(markdown.parent)})",
        "",
        "## Reading these figures",
        "",
        "- wrk, the gateway's workers, Redis and the emulators share two cores, so one run's",
        "  figures move by ±25% from the next; compare rows within a run, not across runs.",
        "- Warm answers come from the cache (and, for a repeated identical request, from the",
        "  2-second whole-answer memo); cold rows have the cache off and go to the emulators.",
        "- The backend hop rows are one upstream GET per request through each client, one worker.",
        "- The Intacct row reads the emulator's own count of requests in flight per company.",
        "",
    ]
    markdown.write_text("\n".join(lines), encoding="utf-8")
    _plot(runs, plot)


def _plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in runs if not r["name"].startswith(("memory", "soak"))]
    labels = [f"{r['name']} (w{r['workers']})" for r in shown]
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 0.35 * len(shown) + 2), sharey=True)
    colors = ["#888888" if "ceiling" in r["name"] else "#2a7ab9" for r in shown]
    left.barh(labels, [r["requests_per_s"] for r in shown], color=colors)
    left.set_xlabel("requests/s (grey: hello-world ceiling)")
    right.barh(labels, [r["p99_ms"] for r in shown], color=colors)
    right.set_xlabel("p99 latency, ms")
    left.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
