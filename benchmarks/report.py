"""Turn the results of a benchmark run into targets, a Markdown report and a plot."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

NAMES = {
    "tropo": "rapidsms-tropo",
    "tropo02": "0.2.0",
    "db": "DatabaseBackend (limit)",
    "noop": "no-op backend (router floor)",
}
DATABASES = {
    "sqlite": "SQLite (WAL)",
    "sqlite-rollback": "SQLite (rollback journal)",
    "postgresql": "PostgreSQL",
}
INBOUND_NAMES = {
    ("/tropo/", "hello"): "Tropo view (message_received)",
    ("/http/", "hello"): "GenericHttpBackendView",
    ("/empty/", "hello"): "empty Django view (limit)",
    ("/tropo/", "ping"): "Tropo view, ping → pong inline (+ result post)",
    ("/tropo-noconfirm/", "ping"): "Tropo view, ping → pong inline, confirmation off",
    ("/http/", "ping"): "GenericHttpBackendView, ping → pong",
    ("/tropo-launch/", "ping"): "Tropo view, ping → pong launched",
}


def _find(cases: list[dict], variant: str, shape: str, count: int) -> dict | None:
    for case in cases:
        if (case["variant"], case["shape"], case["count"]) == (variant, shape, count):
            return case
    return None


def _inbound(db: dict, path: str, text: str, key: str = "inbound") -> dict | None:
    return next((c for c in db.get(key, []) if (c["path"], c["text"]) == (path, text)), None)


def _rps(db: dict, path: str, text: str, key: str = "inbound") -> float | None:
    case = _inbound(db, path, text, key)
    return case and case["rps"]


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _sum(values) -> float | None:
    """The sum, or None (a FAIL) when a figure is missing."""
    values = list(values)
    return None if any(v is None for v in values) else sum(values)


def _lost(case: dict) -> int | None:
    """Messages of a burst not delivered to their recipient exactly once, or left unsent."""
    if case.get("recipients") is None or case.get("duplicates") is None:
        return None
    return (case["count"] - case["recipients"]) + case["duplicates"] + case.get("rows_not_sent", 0)


def targets(results: dict) -> list[dict]:
    """Each target on each database and campaign: value, threshold, PASS/FAIL.

    A figure that is missing (a case that failed or was not measured) is a FAIL.
    """
    main = results["sizes"]["burst"]
    found = []

    def check(name, db, value, threshold, at_least):
        passed = value is not None and (value >= threshold if at_least else value <= threshold)
        found.append(
            {
                "target": name,
                "database": db,
                "value": value,
                "threshold": threshold,
                "at_least": at_least,
                "passed": passed,
            }
        )

    for db in results["databases"]:
        if db["inbound_only"]:
            continue
        label = db["database"]
        check(
            f"one send() to {main} recipients ≥ 1.0x 0.2.0 msgs/s (network delay)",
            label,
            _burst_ratio(db, "burst_delayed", "tropo", main, "multi"),
            1.0,
            True,
        )
        check(
            f"{main} single sends ≥ 10x 0.2.0 msgs/s (network delay)",
            label,
            _burst_ratio(db, "burst_delayed", "tropo", main),
            10,
            True,
        )
        for key, where in (("burst", "local emulator"), ("burst_delayed", "network delay")):
            ours = _find(db[key], "tropo", "singles", main)
            check(
                f"launches/message ≤ 0.1, {main} single sends ({where})",
                label,
                ours and ours.get("launches_per_msg"),
                0.1,
                False,
            )
            tropo = [c for c in db[key] if c["variant"] == "tropo"]
            check(
                f"no message stranded, undelivered or duplicated ({where})",
                label,
                _sum(_lost(c) for c in tropo) if tropo else None,
                0,
                False,
            )
        check(
            "send() cost ≤ 1.5x DatabaseBackend.send()", label, db["send_cost"]["ratio"], 1.5, False
        )
        http_hello, http_ping = _rps(db, "/http/", "hello"), _rps(db, "/http/", "ping")
        inline, launched = _rps(db, "/tropo/", "ping"), _rps(db, "/tropo-launch/", "ping")
        check(
            "inbound throughput ≥ 0.9x GenericHttpBackendView",
            label,
            _ratio(_rps(db, "/tropo/", "hello"), http_hello),
            0.9,
            True,
        )
        check(
            "ping → pong inline, confirmation off ≥ 0.9x GenericHttpBackendView's",
            label,
            _ratio(_rps(db, "/tropo-noconfirm/", "ping"), http_ping),
            0.9,
            True,
        )
        check(
            "ping → pong inline, confirmation on ≥ 0.6x GenericHttpBackendView's",
            label,
            _ratio(inline, http_ping),
            0.6,
            True,
        )
        check(
            "inline (confirmation on) ≥ launched, req/s", label, _ratio(inline, launched), 1, True
        )
        confirmed = _inbound(db, "/tropo/", "ping")
        check(
            "inline, confirmation on: answers whose result was not posted and accepted",
            label,
            confirmed
            and confirmed["requests"] - confirmed.get("results_posted", 0) + confirmed["errors"],
            0,
            False,
        )
        check(
            "inbound: requests not answered 200",
            label,
            _sum(c["errors"] for c in db["inbound"] + db.get("inbound_2_workers", [])),
            0,
            False,
        )
        if label in results["sizes"]["scaled"]:
            check(
                "gunicorn 2 workers x 4 threads: inbound cases measured",
                label,
                len(db.get("inbound_2_workers", [])),
                results["sizes"]["scaled_cases"],
                True,
            )
        conv = db["conversations"]
        check(
            "request-reply p50: inline ≤ 1/4 of launched",
            label,
            _ratio(conv["inline"]["p50_ms"], conv["launch"]["p50_ms"]),
            0.25,
            False,
        )
        check(
            "request-reply: SMS without their reply",
            label,
            sum(c["count"] - c["replied"] for c in conv.values()),
            0,
            False,
        )
        queue = db["large_queue"]
        check(
            f"large queue: sender peak within 50 MB of empty ({queue['full']['queued']} rows)",
            label,
            queue["delta_mib"],
            50,
            False,
        )
        check(
            "large queue: app server peak grows < 50 MB", label, queue["app_delta_mib"], 50, False
        )
    _campaign_targets(results.get("campaign"), check)
    _pool_targets(results.get("pool"), check)
    return found


def _campaign_targets(
    campaign: dict | None,
    check,
    label: str = "campaign",
    prefix: str = "campaign at 1 SMS/s",
    slack: float = 1.01,
) -> None:
    """A campaign at Tropo's rate: its last SMS within ``slack`` x the ideal time, every
    recipient once, every row confirmed, no resend."""
    campaign = campaign or {}
    check(
        f"{prefix}: seconds to the last SMS over the ideal, recipients ÷ (numbers x rate)",
        label,
        _ratio(campaign.get("seconds"), campaign.get("ideal_seconds")),
        slack,
        False,
    )
    count = campaign.get("count")
    recipients, duplicates = campaign.get("recipients"), campaign.get("duplicates")
    once = None if None in (count, recipients, duplicates) else count - recipients + duplicates
    check(f"{prefix}: recipients not reached exactly once", label, once, 0, False)
    by_status = campaign.get("rows_by_status")
    check(
        f"{prefix}: rows not confirmed",
        label,
        None if by_status is None else campaign["rows"] - by_status.get("confirmed", 0),
        0,
        False,
    )
    check(f"{prefix}: unconfirmed resends", label, campaign.get("unconfirmed_resends"), 0, False)


def _pool_targets(pool: dict | None, check) -> None:
    """The campaign on a pool (as :func:`_campaign_targets`, within 3 % of the ideal),
    an even spread over its numbers, and each recipient's number kept."""
    pool = pool or {}
    label, prefix = "pool", "pool at 1 SMS/s per number"
    _campaign_targets(pool, check, label, prefix, 1.03)
    check(
        f"{prefix}: most a number strays from recipients ÷ numbers", label, spread(pool), 0.1, False
    )
    sticky = pool.get("stickiness") or {}
    replies = sticky.get("replies")
    check(
        "pool stickiness: replies not delivered",
        label,
        None if replies is None else replies["count"] - replies["delivered"] + replies["errors"],
        0,
        False,
    )
    check(
        "pool stickiness: recipients who heard from more than one number",
        label,
        sticky.get("more_than_one_number"),
        0,
        False,
    )
    check(
        "pool stickiness: share of recipients moved once a number is added",
        label,
        sticky.get("moved_share"),
        0.1,
        False,
    )


def spread(pool: dict) -> float | None:
    """The most any number's deliveries stray from recipients ÷ numbers, as a share of
    it (a number that texted nobody strays by 1); None when not measured."""
    per_number, numbers, count = pool.get("per_number"), pool.get("numbers"), pool.get("count")
    if not (per_number and numbers and count):
        return None
    fair = count / numbers
    counts = [*per_number.values(), *[0] * max(0, numbers - len(per_number))]
    return max(abs(n - fair) for n in counts) / fair


def _burst_ratio(
    db: dict, key: str, variant: str, count: int, shape: str = "singles"
) -> float | None:
    """Messages/s of ``variant`` over 0.2.0's, for ``count`` sends of ``shape``."""
    case = _find(db[key], variant, shape, count)
    old = _find(db[key], "tropo02", shape, count)
    return _ratio(case and case["msgs_per_s"], old and old["msgs_per_s"])


def references(results: dict) -> list[dict]:
    """What 10x 0.2.0 would take without network delay: this package, the limit and the floor."""
    main = results["sizes"]["burst"]
    return [
        {
            "database": db["database"],
            **{
                variant: _burst_ratio(db, "burst", variant, main)
                for variant in ("tropo", "db", "noop")
            },
        }
        for db in results["databases"]
        if not db["inbound_only"]
    ]


def _fmt(value, digits=1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


@dataclass
class Section:
    """One titled table of the report: paragraphs before it, its cells, a line after it."""

    title: str
    header: list[str]
    rows: list[list]
    notes: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)

    def cells(self) -> list[list[str]]:
        """The rows as text: numbers formatted, text kept."""
        return [[v if isinstance(v, str) else _fmt(v) for v in row] for row in self.rows]


def machine_line(results: dict) -> str:
    """What the figures were measured on, in one sentence."""
    m = results["machine"]
    return (
        f"{m['cpus']} CPUs ({m['cpu']}), Python {m['python']}, Django {m['django']}, "
        f"RapidSMS {m['rapidsms']}; network delay in delayed cases: {results['delay_ms']} ms "
        "per request."
    )


def sections(results: dict) -> list[Section]:
    """Every table of the report, in the order printed."""
    out = []
    for db in results["databases"]:
        label = DATABASES.get(db["database"], db["database"])
        if not db["inbound_only"]:
            out += _bursts(db, label, results)
            out.append(_send_cost(db, label))
        out.append(_inbound_table(db, label))
        out += _scaling_table(db, label)
        if not db["inbound_only"]:
            out.append(_conversations(db, label))
            out.append(_large_queue(db, label))
    out += _campaign_table(results.get("campaign"))
    out += _pool_tables(results.get("pool"), results.get("campaign"))
    out.append(_references(results))
    out.append(_targets_table(results))
    return out


def markdown(results: dict) -> str:
    """The whole report as Markdown."""
    quick = " (quick mode: sizes too small for timings)" if results["quick"] else ""
    out = [f"# rapidsms-tropo benchmarks{quick}", "", machine_line(results), ""]
    for section in sections(results):
        out += [f"## {section.title}", ""]
        for note in section.notes:
            out += [note, ""]
        if section.header:
            out += ["| " + " | ".join(section.header) + " |", "|" + "---|" * len(section.header)]
            out += ["| " + " | ".join(row) + " |" for row in section.cells()]
            out.append("")
        for line in section.after:
            out += [line, ""]
    return "\n".join(out)


def _targets_table(results: dict) -> Section:
    rows = [
        [
            t["target"],
            DATABASES.get(t["database"], t["database"]),
            _fmt(t["value"], 2),
            ("≥ " if t["at_least"] else "≤ ") + _fmt(t["threshold"], 2),
            "PASS" if t["passed"] else "FAIL",
        ]
        for t in results["targets"]
    ]
    return Section("Targets", ["target", "database", "value", "threshold", "result"], rows)


def _bursts(db: dict, label: str, results: dict) -> list[Section]:
    main = results["sizes"]["burst"]
    out = []
    for key, title in (
        ("burst", "local emulator"),
        ("burst_delayed", f"{results['delay_ms']:g} ms network delay"),
    ):
        rows = []
        for case in db[key]:
            if case["count"] != main:
                continue
            old = _find(db[key], "tropo02", case["shape"], main)
            limit = _find(db["burst"], "db", case["shape"], main)
            rows.append(
                [
                    NAMES[case["variant"]],
                    case["shape"],
                    case["count"],
                    case["msgs_per_s"],
                    case["count"] / case["send_seconds"],
                    _fmt(case.get("launches_per_msg"), 3),
                    case["peak_rss_kib"] / 1024,
                    _ratio(case["msgs_per_s"], old and old["msgs_per_s"]),
                    _ratio(case["msgs_per_s"], limit and limit["msgs_per_s"]),
                    "—" if case["variant"] in ("db", "noop") else _fmt(_lost(case)),
                ]
            )
        header = [
            "backend",
            "shape",
            "messages",
            "msgs/s",
            "send() calls/s",
            "launches/msg",
            "peak RSS MiB",
            "x 0.2.0",
            "x limit",
            "not delivered once",
        ]
        out.append(Section(f"Outbound burst, {label}, {title}", header, rows))
    return out


def _send_cost(db: dict, label: str) -> Section:
    cost = db["send_cost"]
    return Section(
        f"send() cost per message, {label}",
        ["TropoBackend µs", "DatabaseBackend µs", "ratio"],
        [[cost["tropo_us"], cost["database_us"], cost["ratio"]]],
    )


def _inbound_table(db: dict, label: str) -> Section:
    http = _rps(db, "/http/", "hello")
    empty = _rps(db, "/empty/", "hello")
    rows = [
        [
            INBOUND_NAMES[(c["path"], c["text"])],
            c["rps"],
            c["p50_ms"],
            c["p99_ms"],
            c["errors"],
            _ratio(c["rps"], http),
            _ratio(c["rps"], empty),
        ]
        for c in db["inbound"]
    ]
    return Section(
        f"Inbound under gunicorn (1 worker, 4 threads), {label}",
        ["view", "req/s", "p50 ms", "p99 ms", "errors", "x GenericHttp", "x empty view"],
        rows,
        notes=[
            "An answer that asks for its result (confirmation on) is followed by the result "
            "post, as Tropo does; the pair counts as one request and its latency covers both."
        ],
    )


def _scaling_table(db: dict, label: str) -> list[Section]:
    """The inbound cases under 2 gunicorn workers against 1 (4 threads each), same rounds."""
    if "inbound_2_workers" not in db:
        return []
    rows = []
    for case in db["inbound"]:
        scaled = _inbound(db, case["path"], case["text"], "inbound_2_workers")
        rows.append(
            [
                INBOUND_NAMES[(case["path"], case["text"])],
                case["rps"],
                scaled and scaled["rps"],
                scaled and scaled["p50_ms"],
                scaled and scaled["errors"],
                _ratio(scaled and scaled["rps"], case["rps"]),
            ]
        )
    header = [
        "view",
        "1 worker req/s",
        "2 workers req/s",
        "2 workers p50 ms",
        "errors",
        "x 1 worker",
    ]
    title = f"Inbound under gunicorn, 2 workers x 4 threads against 1 worker, {label}"
    return [Section(title, header, rows)]


def _campaign_table(campaign: dict | None, title: str = "") -> list[Section]:
    """How long a campaign takes at Tropo's enforced rate, and whether anything was lost."""
    if not campaign:
        return []
    title = title or (
        f"Campaign: one send() to {campaign['count']} recipients, one SMS per "
        f"{campaign['rate_interval']:g} s enforced by the emulator"
    )
    notes = [
        f"`tropo_send_queued` every {campaign['sweep_interval']:g} s meanwhile, as deployed; "
        "settled: no row queued, launched or awaiting its result."
    ]
    if "error" in campaign:
        notes.append(f"The case failed: `{campaign['error'].splitlines()[-1]}`")
        return [Section(title, [], [], notes)]
    by_status = campaign["rows_by_status"]
    header = [
        "seconds",
        "ideal seconds",
        "msgs/s",
        "delivered",
        "recipients",
        "duplicates",
        "rows confirmed",
        "unconfirmed resends",
        "launches",
        "sweeps",
        "settled",
    ]
    row = [
        campaign["seconds"],
        campaign["ideal_seconds"],
        _fmt(campaign["msgs_per_s"], 2),
        campaign["delivered"],
        campaign["recipients"],
        campaign["duplicates"],
        f"{by_status.get('confirmed', 0):,} of {campaign['rows']:,}",
        campaign["unconfirmed_resends"],
        campaign["launches"],
        campaign["sweeps"],
        "yes" if campaign["settled"] else "no",
    ]
    return [Section(title, header, [row], notes)]


def _pool_tables(pool: dict | None, campaign: dict | None) -> list[Section]:
    """The campaign on a pool of numbers (beside the one-number ``campaign`` scaled to
    as many recipients), its deliveries per number and its stickiness."""
    if not pool:
        return []
    title = (
        f"Campaign on a pool: one send() to {pool['count']:,} recipients from "
        f"{pool['numbers']} numbers, one SMS per {pool['rate_interval']:g} s per number "
        "enforced by the emulator"
    )
    out = _campaign_table(pool, title)
    if "error" in pool:
        return out
    if campaign and "error" not in campaign:
        one = campaign["seconds"] * pool["count"] / campaign["count"]
        out[0].after.append(
            f"On one number, scaled from the {campaign['count']:,}-recipient campaign: "
            f"{_fmt(one, 0)} s, {_fmt(_ratio(one, pool['seconds']), 1)}x the pool's."
        )
    return [*out, _per_number_table(pool), _stickiness_table(pool["stickiness"])]


def _per_number_table(pool: dict) -> Section:
    """Deliveries by sending number: the timed campaign's, and once a number is added."""
    fair = pool["count"] / pool["numbers"]
    per_number = pool["per_number"] or {}
    sticky = pool["stickiness"]
    after = sticky.get("per_number_after") or {}
    numbers = {*pool.get("from_numbers", []), *per_number, *after}
    if "added_number" in sticky:
        numbers.add(sticky["added_number"])
    rows = [
        [
            number,
            per_number.get(number, 0),
            per_number.get(number, 0) / fair,
            after.get(number, 0) if after else None,
        ]
        for number in sorted(numbers)
    ]
    return Section(
        "Campaign on a pool: deliveries per sending number",
        ["number", "deliveries", "x recipients ÷ numbers", "deliveries once a number is added"],
        rows,
        after=[f"The most a number strays from recipients ÷ numbers: {_fmt(spread(pool), 3)}"],
    )


def _stickiness_table(sticky: dict) -> Section:
    """Who heard from more than one number, and who moved once a number was added."""
    title = "Campaign on a pool: the same number for each recipient"
    notes = [
        "Campaigns to the same recipients (the timed one, then at no rate) and a `ping` "
        "from some of them to the number they heard from, answered inline; then one "
        "number more and one more campaign."
    ]
    if "error" in sticky:
        notes.append(f"The case failed: `{sticky['error'].splitlines()[-1]}`")
        return Section(title, [], [], notes)
    replies = sticky["replies"]
    header = [
        "recipients",
        "campaigns",
        "replies delivered",
        "heard from more than one number",
        "numbers after",
        "moved",
        "moved share",
        "unsettled campaigns",
    ]
    row = [
        sticky["recipients"],
        sticky["campaigns"],
        f"{replies['delivered']:,} of {replies['count']:,}",
        sticky["more_than_one_number"],
        sticky["numbers_after"],
        sticky["moved"],
        _fmt(sticky["moved_share"], 3),
        sticky["unsettled"],
    ]
    return Section(title, header, [row], notes)


def _conversations(db: dict, label: str) -> Section:
    conv = db["conversations"]
    rows = [
        [
            name,
            c["count"],
            c["replied"],
            c["replies_per_s"],
            c["p50_ms"],
            c["p99_ms"],
            c["launches"],
            c["callbacks"],
        ]
        for name, c in conv.items()
    ]
    ratio = _ratio(conv["launch"]["p50_ms"], conv["inline"]["p50_ms"])
    return Section(
        f"Request-reply (inbound POST → reply delivered), {label}",
        ["path", "SMS", "replied", "replies/s", "p50 ms", "p99 ms", "launches", "callbacks"],
        rows,
        after=[f"Latency p50 launch/inline: {_fmt(ratio, 2)}x"],
    )


def _large_queue(db: dict, label: str) -> Section:
    queue = db["large_queue"]
    full = queue["full"]
    return Section(
        f"Large queue, {label}",
        ["rows", "msgs/s", "launches", "sender peak MiB", "Δ sender MiB", "Δ app MiB"],
        [
            [
                full["queued"],
                full.get("msgs_per_s"),
                full.get("launches"),
                full["peak_rss_kib"] / 1024,
                queue["delta_mib"],
                queue["app_delta_mib"],
            ]
        ],
    )


def _references(results: dict) -> Section:
    rows = [
        [DATABASES.get(r["database"], r["database"]), r["tropo"], r["db"], r["noop"]]
        for r in references(results)
    ]
    return Section(
        "Reference: x 0.2.0 without network delay, single sends",
        ["database", "rapidsms-tropo", "DatabaseBackend (limit)", "no-op backend (floor)"],
        rows,
    )


def plot(results: dict, path: Path) -> None:
    """Messages/s against burst size (single sends, SQLite), local and with network delay."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    db = results["databases"][0]
    figure, axes = pyplot.subplots(1, 2, figsize=(10, 4), sharey=True)
    panels = (
        ("burst", "local emulator"),
        ("burst_delayed", f"{results['delay_ms']:g} ms network delay"),
    )
    for axis, (key, title) in zip(axes, panels, strict=True):
        for variant in ("tropo", "tropo02", "db", "noop"):
            source = db["burst"] if variant in ("db", "noop") else db[key]
            points = sorted(
                (c["count"], c["msgs_per_s"])
                for c in source
                if c["variant"] == variant and c["shape"] == "singles"
            )
            if points:
                axis.plot(*zip(*points, strict=True), marker="o", label=NAMES[variant])
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("burst size (single-recipient sends)")
        axis.set_title(f"{DATABASES.get(db['database'], db['database'])}, {title}")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("messages per second")
    axes[0].legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
