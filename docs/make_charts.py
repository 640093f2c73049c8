"""Draw the README's chart pictures with Handoff itself: demo initiatives typed into `handoff console`, whose KPI
trend, checkpoint burn-up and report funnel are shared as the bot shares them in Slack, then kept under `docs/`.

Run from the repository root: `python docs/make_charts.py`. The console's clock is set by the script, so the same
code draws the same pictures.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

from bot.config import RunMode, load_settings
from bot.console import read_lines, start_console

DOCS = Path(__file__).resolve().parent
PICTURES = {
    "AUC on holdout · Churn model v2": "kpi-trend.png",
    "Checkpoints · Churn model v2": "burn-up.png",
    "Phase funnel: #general, since Mon 4 Jan 2027": "funnel.png",
}

DEMO = """\
:time 2027-01-04 09:30
/handoff new "Churn model v2" ds:@alice eng:@bob embedded:@carol due:2027-02-26
/handoff new "Fraud alerts" ds:@alice eng:@bob
/handoff new "Search ranking" ds:@alice eng:@bob
/handoff kpi add churn "AUC on holdout" >= 0.82
/handoff checkpoint add churn "Baseline agreed"
/handoff checkpoint add churn "Features frozen"
/handoff checkpoint add churn "Model card reviewed"
/handoff checkpoint add churn "Privacy review"
/handoff kpi record churn "AUC on holdout" 0.78 "baseline"
:time +3d
/handoff checkpoint done churn#1
/handoff phase churn research
/handoff phase fraud research
/handoff kpi record churn "AUC on holdout" 0.81
:time +4d
/handoff kpi record churn "AUC on holdout" 0.84 "gradient boosting"
/handoff checkpoint add churn "Shadow deployment"
/handoff phase search research
:time +4d
/handoff checkpoint done churn#2
/handoff doc add churn ds-summary https://wiki.example.com/churn/summary
/handoff doc add churn api-contract https://wiki.example.com/churn/api
/handoff phase churn summary
/handoff kpi record churn "AUC on holdout" 0.86
:time +3d
/handoff kpi record churn "AUC on holdout" 0.80 "new holdout month"
/handoff phase fraud cancelled "no labelled data yet"
:time +4d
/handoff checkpoint done churn#3
/handoff phase churn development
/handoff kpi record churn "AUC on holdout" 0.83 "retrained"
/handoff checkpoint add churn "Load test"
:time +5d
/handoff kpi record churn "AUC on holdout" 0.85
/handoff checkpoint done churn#4
/handoff phase churn production --force "pilot for one customer"
:time +2d
/handoff kpi chart churn "AUC on holdout"
/handoff status churn chart
/handoff report #general since:2027-01-04
"""


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        settings = load_settings({"DATABASE_URL": f"sqlite:///{scratch}/demo.db"}, mode=RunMode.OFFLINE)
        out = io.StringIO()
        session, fake = start_console(settings, user="alice", channel="general", out=out)
        session.charts_dir = Path(scratch) / "charts"
        try:
            read_lines(session, io.StringIO(DEMO), out)
            # The last chart of each title: the commands' own, after any breach alert's.
            latest = {file.title: file for file in fake.files if file.content is not None}
        finally:
            fake.stop()
    missing = set(PICTURES) - set(latest)
    if missing:
        print(out.getvalue(), file=sys.stderr)
        print(f"not drawn: {', '.join(sorted(missing))}", file=sys.stderr)
        return 1
    for title, name in PICTURES.items():
        content = latest[title].content or b""
        (DOCS / name).write_bytes(content)
        print(f"{DOCS / name}: {len(content)} bytes; {latest[title].alt_txt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
