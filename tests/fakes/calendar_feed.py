"""A local HTTP server publishing one iCalendar feed, as a calendar service would; it counts the downloads and
serves whatever `body` and `status` the test sets."""

from __future__ import annotations

from tests.fakes.http import LoopbackServer, QuietHandler


class CalendarFeed(LoopbackServer):
    def __init__(self, body: str):
        self.body = body
        self.status = 200
        self.downloads = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def url(self) -> str:
        return self.base + "office.ics"

    def start(self) -> CalendarFeed:
        feed = self

        class Handler(QuietHandler):
            def do_GET(self):
                feed.downloads += 1
                self.reply(feed.status, feed.body.encode("utf-8"), "text/calendar")

        self.serve(Handler, "calendar-feed")
        return self
