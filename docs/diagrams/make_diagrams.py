"""Write the sequence diagrams of docs/how-it-works.rst as SVG files.

Run ``python docs/diagrams/make_diagrams.py`` after editing a diagram below;
the SVG files next to this script are committed and included by the docs.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

HERE = Path(__file__).parent
COLUMN = 235
TOP = 70
ROW = 34
FONT = "font-family='Helvetica, Arial, sans-serif' font-size='13'"

# Each diagram: its participants, then rows of (from, to, label) arrows or
# ("note", participant, text) notes. A row whose "from" equals its "to" is a
# step taken inside that participant.
LAUNCH = {
    "title": "Sending: launch and callback",
    "participants": ["RapidSMS app", "rtropo (your site)", "Database", "Tropo", "Phone"],
    "rows": [
        ("RapidSMS app", "rtropo (your site)", "router.send() → TropoBackend.send()"),
        ("rtropo (your site)", "Database", "INSERT OutboundMessage (queued)"),
        ("note", "rtropo (your site)", "after commit: launcher thread"),
        ("rtropo (your site)", "Database", "join pending launch, or claim rows + Launch"),
        ("rtropo (your site)", "Tropo", "POST /1.0/sessions {token, action, rtropo_ref}"),
        ("Tropo", "rtropo (your site)", '{"success": true, "id": SESSION}'),
        ("Tropo", "rtropo (your site)", "POST messaging URL: session.parameters"),
        ("rtropo (your site)", "Database", "Launch answered, rows sent (atomic)"),
        ("rtropo (your site)", "Tropo", "TropoML: message verbs + hangup"),
        ("Tropo", "Phone", "SMS"),
    ],
}

INLINE = {
    "title": "Replying: the answer rides in the inbound session",
    "participants": ["Phone", "Tropo", "rtropo (your site)", "Database", "RapidSMS app"],
    "rows": [
        ("Phone", "Tropo", "SMS"),
        ("Tropo", "rtropo (your site)", "POST messaging URL: initialText, from"),
        ("rtropo (your site)", "Database", "INSERT InboundSession, commit"),
        ("rtropo (your site)", "RapidSMS app", "router.receive()"),
        ("RapidSMS app", "rtropo (your site)", "msg.respond() → send()"),
        ("rtropo (your site)", "Database", "INSERT OutboundMessage (held)"),
        ("note", "rtropo (your site)", "held: no launch takes it"),
        ("rtropo (your site)", "Database", "claim_inline: rows sent (atomic)"),
        ("rtropo (your site)", "Tropo", "TropoML: message verbs + hangup"),
        ("Tropo", "Phone", "SMS"),
    ],
}


def render(diagram: dict) -> str:
    """The SVG text of one sequence diagram."""
    names = diagram["participants"]
    x = {name: 110 + i * COLUMN for i, name in enumerate(names)}
    width = 110 * 2 + COLUMN * (len(names) - 1)
    bottom = TOP + ROW * (len(diagram["rows"]) + 1)
    height = bottom + 50
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'>",
        "<defs><marker id='arrow' markerWidth='10' markerHeight='8' refX='9' refY='4' "
        "orient='auto'><path d='M0,0 L10,4 L0,8 z' fill='#333'/></marker></defs>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
        f"<text x='{width / 2}' y='22' text-anchor='middle' {FONT} font-weight='bold'>"
        f"{escape(diagram['title'])}</text>",
    ]
    for name in names:
        for y in (TOP - 30, bottom):
            parts.append(
                f"<rect x='{x[name] - 85}' y='{y}' width='170' height='26' rx='4' "
                "fill='#eef3f8' stroke='#345'/>"
            )
            parts.append(
                f"<text x='{x[name]}' y='{y + 17}' text-anchor='middle' {FONT}>"
                f"{escape(name)}</text>"
            )
        parts.append(
            f"<line x1='{x[name]}' y1='{TOP - 4}' x2='{x[name]}' y2='{bottom}' "
            "stroke='#999' stroke-dasharray='4,3'/>"
        )
    for index, (source, target, label) in enumerate(diagram["rows"]):
        y = TOP + ROW * (index + 1)
        if source == "note":
            parts.append(
                f"<rect x='{x[target] + 6}' y='{y - 14}' width='190' height='20' "
                "fill='#fff8dc' stroke='#cc9'/>"
            )
            parts.append(f"<text x='{x[target] + 12}' y='{y}' {FONT}>{escape(label)}</text>")
            continue
        x1, x2 = x[source], x[target]
        direction = 1 if x2 > x1 else -1
        parts.append(
            f"<line x1='{x1}' y1='{y}' x2='{x2 - direction * 2}' y2='{y}' stroke='#333' "
            "marker-end='url(#arrow)'/>"
        )
        parts.append(
            f"<text x='{(x1 + x2) / 2}' y='{y - 6}' text-anchor='middle' {FONT}>"
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    """Write every diagram next to this script."""
    for filename, diagram in (("launch-callback.svg", LAUNCH), ("inline-reply.svg", INLINE)):
        (HERE / filename).write_text(render(diagram), encoding="utf-8")


if __name__ == "__main__":
    main()
