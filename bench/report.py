"""Turn one benchmark run into BENCHMARKS.md (the targets, every run) and a PNG plot.

BENCHMARKS.md is shared by the three parts of ``make bench``: this module writes the header
and the section between ``<!-- run:begin -->`` and ``<!-- run:end -->``; ``bench.orders`` and
``bench.sync`` each replace their own marked section. Whatever marked sections the file
already holds are kept, in their order, after this run's.
"""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path
from typing import Any

__all__ = ["targets", "write_report"]

NOT_MEASURED = "not measured"
_MARKED = re.compile(r"<!-- (\w+):begin -->.*?<!-- \1:end -->\n?", re.S)


def _find(runs: list[dict[str, Any]], name: str, workers: int) -> dict[str, Any] | None:
    return next((r for r in runs if r["name"] == name and r["workers"] == workers), None)


def _verdict(ok: bool) -> str:
    return "met" if ok else "missed"


def _errors(run: dict[str, Any]) -> str:
    shown = f", {run['errors']:,} errors" if run["errors"] else ""
    if run.get("incomplete") is not None:
        shown += f", {run['incomplete']:,} of {run['requests']:,} answers incomplete"
    return shown


def _complete(run: dict[str, Any]) -> bool:
    return not run["errors"] and not run.get("incomplete")


def targets(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    """This issue's targets, every one of them (``not measured`` when its section did not
    run), then the earlier targets the run has figures for."""
    runs = payload.get("runs", [])
    rows: list[tuple[str, str, str]] = []
    missing = ("", NOT_MEASURED, "—")

    ceilings = [
        r for name in ("hello-world (ceiling)", "hello-world (ceiling, again)")
        if (r := _find(runs, name, 2))
    ]  # fmt: skip
    warm = _find(runs, "validate-quote warm (10 lines)", 2)
    t = "warm validate-quote ≥ 0.40 x hello-world ceiling (2 workers, same run)"
    if ceilings and warm:
        ceiling = _mean_rps(ceilings)
        shown = " / ".join(f"{r['requests_per_s']:,.0f}" for r in ceilings)
        ratio = warm["requests_per_s"] / ceiling
        when = " before / after" if len(ceilings) > 1 else ""
        rows.append((t, f"{ratio:.2f} x ({warm['requests_per_s']:,.0f} req/s vs ceiling "
                        f"{shown}{when})", _verdict(ratio >= 0.4)))  # fmt: skip
    else:
        rows.append((t, *missing[1:]))
    t = "warm validate-quote p99 ≤ 25 ms (10 lines, API key + rate limit, Redis, 2 workers)"
    if warm:
        rows.append((t, f"{warm['p99_ms']:.1f} ms (c={warm.get('connections') or 64}"
                        f"{_errors(warm)})", _verdict(warm["p99_ms"] <= 25 and not warm["errors"])))  # fmt: skip
    else:
        rows.append((t, *missing[1:]))

    rows.extend(_tracing_rows(runs))

    check = payload.get("metrics_check")
    t = "one /metrics scrape counts every request of a 2-worker gateway (exact)"
    if check:
        sent, counted = check["requests_sent"], check["scrape_count_for_route"]
        rows.append((t, f"sent {sent:,}, scrape counts {counted:,}", _verdict(sent == counted)))
    else:
        rows.append((t, *missing[1:]))

    fanout = payload.get("fanout") or {}
    delay = fanout.get("delay_ms", 300)
    for erp, name in (
        ("Infor US01", "fan-out: validate-quote Infor US01"),
        ("Intacct DE01", "fan-out: validate-quote Intacct DE01"),
    ):
        t = (f"fan-out: credit, price, availability each +{delay} ms → validate-quote p99 ≤ "
             f"{delay + 15} ms ({erp}, cache off, {fanout.get('connections', 16)} conns)")  # fmt: skip
        run = _find(runs, name, 2)
        if run:
            # A fast answer that gave up on the slow ERPs does not count as fast.
            ok = run["p99_ms"] <= delay + 15 and _complete(run)
            rows.append((t, f"{run['p99_ms']:.0f} ms (p50 {run['p50_ms']:.0f}{_errors(run)})",
                         _verdict(ok)))  # fmt: skip
        else:
            rows.append((t, *missing[1:]))
        alone = _find(runs, f"{name}, one at a time", 2)
        if alone:
            rows.append((f"fan-out, for information: the same quote one at a time ({erp}, 1 conn)",
                         f"{alone['p99_ms']:.0f} ms (p50 {alone['p50_ms']:.0f}{_errors(alone)})",
                         "—"))  # fmt: skip
        apart = _find(runs, f"{name}, nothing shared", 2)
        if apart:
            rows.append((f"fan-out, for information: every request its own reads ({erp}, "
                         f"{fanout.get('connections', 16)} conns, share_reads_in_flight=false)",
                         f"{apart['p99_ms']:.0f} ms (p50 {apart['p50_ms']:.0f}{_errors(apart)})",
                         "—"))  # fmt: skip

    limits = payload.get("limits")
    rows.extend(_limit_rows(limits, runs) if limits else [
        ("cold load keeps to ION's spike-arrest rate (emulator's count)", *missing[1:]),
        ("cold load keeps to Intacct's in-flight cap per company (emulator's count)",
         *missing[1:]),
        ("cold validate-quote p99 ≤ the read deadline (no request waits past its budget)",
         *missing[1:]),
    ])  # fmt: skip
    return rows + _earlier_targets(payload)


def _slices(runs: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    """The tracing section's slices of one configuration, in the order they ran."""
    prefix = f"validate-quote warm, {label} #"
    return sorted(
        (r for r in runs if r["name"].startswith(prefix)),
        key=lambda r: int(r["name"].rsplit("#", 1)[1]),
    )


def _mean_rps(runs: list[dict[str, Any]]) -> float:
    return sum(r["requests_per_s"] for r in runs) / len(runs) if runs else 0.0


def _bracketed(runs: list[dict[str, Any]], label: str) -> list[float]:
    """Each slice of ``label`` against the "tracing off" slices loaded just before and just
    after it (by the order the runs were made), as the share of requests/s it lost."""
    off_prefix = "validate-quote warm, tracing off #"
    costs = []
    for i, r in enumerate(runs):
        if not r["name"].startswith(f"validate-quote warm, {label} #"):
            continue
        before = next((o for o in reversed(runs[:i]) if o["name"].startswith(off_prefix)), None)
        after = next((o for o in runs[i + 1 :] if o["name"].startswith(off_prefix)), None)
        pair = [o["requests_per_s"] for o in (before, after) if o is not None]
        if pair:
            costs.append((1 - r["requests_per_s"] / (sum(pair) / len(pair))) * 100)
    return costs


def _tracing_rows(runs: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    offs = _slices(runs, "tracing off")
    off = _mean_rps(offs)
    # The "off" slices' spread is how far the machine drifted meanwhile (each slice is in the
    # table of all runs).
    rates = [r["requests_per_s"] for r in offs]
    drift = f"; {len(rates)} off slices, {min(rates):,.0f} to {max(rates):,.0f}" if rates else ""
    for label, limit in (("tracing on, every request", 10.0), ("tracing 10% sampled", 3.0)):
        t = f"{label}: costs ≤ {limit:g}% requests/s vs tracing off (metrics on, both)"
        slices = _slices(runs, label)
        paired = _bracketed(runs, label)
        if not slices or not paired:
            rows.append((t, NOT_MEASURED, "—"))
            continue
        # The mean of the paired costs: each slice against the "off" slices either side of
        # it, so the machine's drift between rounds does not count as cost.
        cost = sum(paired) / len(paired)
        rounds = ", ".join(f"{c:.0f}%" for c in paired)
        # The mean's standard error: how finely this run resolves the cost at all.
        spread = (
            f" ± {statistics.stdev(paired) / math.sqrt(len(paired)):.1f}" if len(paired) > 1 else ""
        )
        rows.append((t, f"{cost:.1f}%{spread} (mean of {len(paired)} paired rounds: {rounds}; "
                        f"{_mean_rps(slices):,.0f} vs mean off {off:,.0f} req/s{drift})",
                     _verdict(cost <= limit)))  # fmt: skip
    bare = _slices(runs, "tracing off, metrics off")
    if bare and off:
        cost = (1 - off / _mean_rps(bare)) * 100
        rows.append(("metrics cost, for information (metrics on vs off, tracing off)",
                     f"{cost:.1f}% ({off:,.0f} vs {_mean_rps(bare):,.0f} req/s)", "—"))  # fmt: skip
    return rows


def _limit_rows(limits: dict[str, Any], runs: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    rows = []
    infor, intacct = limits["infor"], limits["intacct"]
    cap = limits["infor_requests_per_second"]
    seen, refused = infor["max_rate_seen"], infor["rate_limited_total"]
    note = "" if limits.get("gateway_setting") else "; the gateway has no ION rate setting"
    rows.append((f"cold load keeps to ION's spike-arrest rate ({cap:g}/s; emulator's count)",
                 f"max {seen:g}/s over {infor['throttle_window_s']:g} s, {refused:,} x 429{note}",
                 _verdict(seen <= cap and refused == 0)))  # fmt: skip
    in_flight = max(intacct["max_in_flight_seen"].values(), default=0)
    rows.append((f"cold load keeps to Intacct's {intacct['max_in_flight']} in flight per company "
                 "(emulator's count)",
                 f"max {in_flight}, {intacct['rate_limited_total']:,} refused",
                 _verdict(in_flight <= intacct["max_in_flight"]
                          and intacct["rate_limited_total"] == 0)))  # fmt: skip
    deadline = limits["read_deadline_ms"]
    for erp, name in (
        ("Infor US01", "limits: validate-quote cold Infor US01"),
        ("Intacct DE01", "limits: validate-quote cold Intacct DE01"),
    ):
        run = _find(runs, name, 2)
        if run:
            rows.append((f"cold validate-quote under the limits: p99 ≤ read deadline {deadline} ms "
                         f"({erp}, 64 conns, 2 workers)",
                         f"{run['p99_ms']:.0f} ms ({run['requests_per_s']:,.0f} req/s{_errors(run)})",
                         _verdict(run["p99_ms"] <= deadline and not run["errors"])))  # fmt: skip
    return rows


def _earlier_targets(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    runs = payload.get("runs", [])
    rows: list[tuple[str, str, str]] = []
    raw = _find(runs, "hop aiohttp c=64", 1)
    ours = _find(runs, "hop isthmus c=64", 1)
    if raw and ours:
        ratio = ours["requests_per_s"] / raw["requests_per_s"]
        rows.append(("backend hop ≥ 0.6 x raw aiohttp (64 conns)", f"{ratio:.2f} x",
                     _verdict(ratio >= 0.6)))  # fmt: skip
    memory = payload.get("memory")
    if memory and memory["rss_mb_after_fill"] and memory["rss_mb_after_soak"]:
        fill = max(memory["rss_mb_after_fill"])
        soak = max(memory["rss_mb_after_soak"])
        growth = (soak - fill) / fill * 100
        rows.append((f"RSS per worker ≤ 150 MB after {memory['requests_before_soak']:,} requests",
                     f"{fill:.0f} MB", _verdict(fill <= 150)))  # fmt: skip
        rows.append((f"RSS growth ≤ 5% over a {memory['soak_seconds']} s soak", f"{growth:+.1f}%",
                     _verdict(growth <= 5)))  # fmt: skip
    return rows


def _limits_detail(payload: dict[str, Any]) -> list[str]:
    limits = payload.get("limits")
    if not limits:
        return []
    infor, intacct = limits["infor"], limits["intacct"]
    setting = (
        f"configured with `{limits['gateway_setting']}` at the same figure"
        if limits.get("gateway_setting")
        else "without a cap of its own on ION calls (it has no such setting)"
    )
    return [
        "## ERP limits under cold load",
        "",
        f"A sandbox of its own with ION's spike arrest at {limits['infor_requests_per_second']:g} "
        f"requests/s; the gateway (cache off, 2 workers) {setting}; read deadline `deadline_default_ms` = {limits['read_deadline_ms']} ms. The "
        "emulators count what reached them, refused calls included.",
        "",
        "| ERP | limit | most seen | refused | calls |",
        "|---|---|---|---|---|",
        f"| Infor ION | {infor['requests_per_second']:g} calls/s | {infor['max_rate_seen']:g}/s "
        f"({infor['max_requests_in_window']} in {infor['throttle_window_s']:g} s) | "
        f"{infor['rate_limited_total']:,} x 429 | {infor['requests_total']:,} |",
        f"| Sage Intacct | {intacct['max_in_flight']} in flight per company | "
        f"{', '.join(f'{c}: {n}' for c, n in intacct['max_in_flight_seen'].items()) or '0'} | "
        f"{intacct['rate_limited_total']:,} | |",
        "",
    ]


def _run_section(payload: dict[str, Any], plot: Path, markdown: Path) -> list[str]:
    runs = payload.get("runs", [])
    fanout = payload.get("fanout")
    merged = payload.get("merged") or []
    lines = [
        "<!-- run:begin -->",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---|---|",
        *(f"| {t} | {m} | {v} |" for t, m, v in targets(payload)),
        "",
    ]
    failed = payload.get("failed") or {}
    if failed:
        lines += [
            "Sections that failed in this run (their rows are missing): "
            + "; ".join(f"{name}: {error}" for name, error in failed.items()),
            "",
        ]
    if merged:
        lines += [
            "Rows replaced by partial runs (`python -m bench.run --only … --merge-into`): "
            + "; ".join(f"{m['at']}: {', '.join(m['sections'])}" for m in merged)
            + ". Compare such rows only with rows of the same partial run.",
            "",
        ]
    if fanout:
        lines += [
            f"Fan-out: {fanout['delay_ms']} ms added by the emulators' fault APIs to Infor's "
            + ", ".join(f"`{t}`" for t in fanout["infor_targets"])
            + " and to every Intacct "
            + ", ".join(f"`{t}`" for t in fanout["intacct_targets"])
            + " (Intacct's faults pick a function, not an object, so its customer and item "
            "reads wait too). Every connection sends the same quote, cache off: identical "
            "quotes in flight at once share one build and its reads (the default, "
            '`resilience.share_reads_in_flight`); the "nothing shared" rows load the same '
            "quotes with every request making its own reads.",
            "",
        ]
        cpu = fanout.get("cpu_per_answer") or {}
        if cpu:
            lines += [
                "CPU per fan-out answer (user + system, all processes of each): "
                + "; ".join(
                    f"{entity}: gateway {c['gateway_ms_per_answer']:g} ms, emulators "
                    f"{c['emulators_ms_per_answer']:g} ms"
                    for entity, c in cpu.items()
                )
                + ". On a machine this size the time beyond the added delay is mostly this "
                "work, queued behind the other answers' (and the load generator's).",
                "",
            ]
        late = {erp: v for erp, v in (fanout.get("emulators_late") or {}).items() if v}
        if late:
            lines += [
                "The emulators answer a delayed request when its time is up (its arrival plus "
                "the delay), having worked it out meanwhile; the latest any answer left past "
                "that: "
                + "; ".join(
                    f"{erp} {v.get('max_late_ms', 0):.1f} ms (of {v.get('delayed_total', 0):,} "
                    "delayed)"
                    for erp, v in late.items()
                )
                + ".",
                "",
            ]
        by_row = {row: v for row, v in (fanout.get("late_by_row") or {}).items() if v}
        if by_row:
            lines += [
                "How late the emulator's delayed answers left past due during each fan-out row "
                "(its buckets, bounds in ms): "
                + "; ".join(
                    f"{row.removeprefix('fan-out: validate-quote ')}: {v['answers']:,} answers"
                    + (
                        f", half within {v['p50_le_ms']}, 99 % within {v['p99_le_ms']}, all "
                        f"within {v['max_le_ms']}"
                        if v["answers"]
                        else ""
                    )
                    for row, v in by_row.items()
                )
                + ". The rest of a row's time beyond the delay is the gateway's own work and "
                "the machine's.",
                "",
            ]
        per_quote = fanout.get("intacct_per_quote") or {}
        if per_quote:
            lines += [
                f"Intacct per DE01 answer: {per_quote.get('requests', 0):g} requests, "
                f"{per_quote.get('functions', 0):g} functions (the emulator's log).",
                "",
            ]
    lines += _limits_detail(payload)
    lines += [
        "## All runs",
        "",
        "| run | workers | conns | requests/s | p50 ms | p99 ms | errors | incomplete | "
        "RSS MB per process |",
        "|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {r['name']} | {r['workers']} | {r.get('connections') or ''} | "
            f"{r['requests_per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | "
            f"{'' if r.get('incomplete') is None else r['incomplete']} | "
            f"{', '.join(str(x) for x in r['rss_mb_per_worker'])} |"
            for r in runs
        ),
        "",
    ]
    if any(not r["name"].startswith(("memory", "soak")) for r in runs):
        lines += [f"![throughput and p99 per run]({plot.relative_to(markdown.parent)})", ""]
    lines.append("<!-- run:end -->")
    return lines


def write_report(payload: dict[str, Any], markdown: Path, plot: Path) -> None:
    date = payload["date"]
    machine = payload["machine"]
    header = [
        "# Benchmarks",
        "",
        f"One `make bench` produced every figure on this page ({date}, "
        f"{machine['cpus']} CPUs, Python {machine['python']}): `python -m bench.run` the targets "
        "and runs below, then `python -m bench.orders` and `python -m bench.sync` their own "
        "sections. wrk, every server, Redis, PostgreSQL and the emulators share the machine, all "
        "on 127.0.0.1; 64 connections unless a row says otherwise. Raw figures: "
        f"`bench/results/{date}.json`, `orders-{date}.json`, `sync-{date}.json`. How to read "
        "them, and the record of changes that moved a figure: [bench/NOTES.md](bench/NOTES.md).",
        "",
    ]
    own = "\n".join(header + _run_section(payload, plot, markdown)) + "\n"
    old = markdown.read_text(encoding="utf-8") if markdown.exists() else ""
    kept = [m.group(0) for m in _MARKED.finditer(old) if m.group(1) != "run"]
    text = own + "".join("\n" + block.rstrip("\n") + "\n" for block in kept)
    markdown.write_text(text, encoding="utf-8")
    shown = [r for r in payload.get("runs", []) if not r["name"].startswith(("memory", "soak"))]
    if shown:
        _plot(shown, plot)


def _plot(shown: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['name']} (w{r['workers']})" for r in shown]
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 0.35 * len(shown) + 2), sharey=True)
    colors = ["#888888" if "ceiling" in r["name"] else "#2a7ab9" for r in shown]
    left.barh(labels, [r["requests_per_s"] for r in shown], color=colors)
    left.set_xlabel("requests/s (grey: hello-world ceiling)")
    right.barh(labels, [r["p99_ms"] for r in shown], color=colors)
    right.set_xlabel("p99 latency, ms")
    right.set_xscale("log")
    left.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
