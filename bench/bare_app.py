"""The floor for `bench.http_status`: a bare Bolt app whose only listener acks, served like `handoff serve --http`.

Same server (waitress through Bolt's WSGI adapter), same thread count, same Web API client pointed at the fake.
Deliberately imports nothing from Handoff, so its memory is Bolt + slack_sdk + waitress and nothing more.

    SLACK_BOT_TOKEN=... SLACK_SIGNING_SECRET=... SLACK_API_URL=... python -m bench.bare_app --port 3001 --threads 8
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from waitress import create_server

EVENTS_PATH = "/slack/events"


def build_app(*, token: str, signing_secret: str, api_url: str) -> App:
    app = App(client=WebClient(token=token, base_url=api_url, timeout=10), signing_secret=signing_secret)

    @app.command("/handoff")
    def only_ack(ack: Ack) -> None:
        ack()

    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.bare_app", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True, help="waitress threads (bot.http.SERVER_THREADS)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    app = build_app(
        token=os.environ["SLACK_BOT_TOKEN"],
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        api_url=os.environ["SLACK_API_URL"],
    )
    server = create_server(
        SlackRequestHandler(app, path=EVENTS_PATH), host=args.host, port=args.port, threads=args.threads, ident="bare"
    )
    signal.signal(signal.SIGTERM, lambda *_: server.close())
    with contextlib.suppress(OSError, ValueError):  # closed by SIGTERM while waiting in select()
        server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
