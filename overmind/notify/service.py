"""The service's loop: the change feed in, notices out, each delivery retried until it is sent or
given up. Idle while nothing changes: it waits on the feed and on the next due time, nothing else.

    change feed ──> Watcher (what needs a person, once: outbox.seen)
                         └─> outbox.notices (held: a crash loop folding, a session settling)
                                  └─> deliveries, one per channel that wants it ──> Sender
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from typing import TYPE_CHECKING

from overmind.control import notify_channels
from overmind.control.notify_outbox import Delivery, Notice, Outbox, open_outbox
from overmind.control.notify_send import Outcome, backoff
from overmind.control.notify_watch import StoreFacts, Watcher

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from overmind.control.feed import Change
    from overmind.control.notify_desktop import Desktop

STOP_GRACE_S = 15.0  # sends under way may finish this long after a stop (then they are sent again next time)
ALIVE_EVERY_S = 1.0


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Channels:
    """The channels file, read again whenever it changed."""

    def __init__(self) -> None:
        self.read_at = -1.0
        self.by_name: dict[str, notify_channels.Channel] = {}

    def now(self) -> dict[str, notify_channels.Channel]:
        changed = notify_channels.changed_at()
        if changed != self.read_at:
            try:
                self.by_name = {c.name: c for c in notify_channels.load()}
                self.read_at = changed
            except Exception as error:  # noqa: BLE001 - a file half-edited by hand: keep the last good one
                log(f"cannot read the channels: {error}")
        return self.by_name


class Sender:
    """Releases held notices when due and sends their deliveries, one task each."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.channels = Channels()
        self.woken = asyncio.Event()
        self.under_way: dict[tuple[int, str], asyncio.Task[None]] = {}
        self.desktops: dict[str, Desktop] = {}

    def wake(self) -> None:
        self.woken.set()

    async def run(self) -> None:
        while True:
            self.woken.clear()
            now = time.time()
            self._release(now)
            for delivery in self.outbox.pending(now):
                key = (delivery.notice.id or 0, delivery.channel)
                if key not in self.under_way:
                    task = asyncio.create_task(self._send(delivery))
                    self.under_way[key] = task
                    task.add_done_callback(lambda _, key=key: self._done(key))  # type: ignore[misc]
            due = self.outbox.next_wake()
            timeout = None if due is None else max(due - time.time(), 0.05)
            try:
                await asyncio.wait_for(self.woken.wait(), timeout)
            except TimeoutError:
                pass

    def _done(self, key: tuple[int, str]) -> None:
        self.under_way.pop(key, None)
        self.wake()

    def _release(self, now: float) -> None:
        channels = self.channels.now()
        for notice in self.outbox.due(now):
            wanted = [c.name for c in channels.values() if c.wants(notice.event, notice.name)]
            self.outbox.release(notice, wanted, now)
            if not wanted:
                log(f"{notice.event}: {notice.title}: no channel wants it")

    async def _send(self, delivery: Delivery) -> None:
        notice, channel = delivery.notice, self.channels.now().get(delivery.channel)
        if channel is None:
            self.outbox.given_up(delivery, "the channel was removed")
            return
        try:
            outcome = await self._deliver(channel, notice)
        except Exception as error:  # noqa: BLE001 - one bad send must not end the service
            outcome = Outcome(False, True, f"{type(error).__name__}: {error}")
        now = time.time()
        what = f"{notice.event} '{notice.title}' to {channel.name}"
        if outcome.ok:
            self.outbox.delivered(delivery, outcome.detail)
            log(f"sent {what}: {outcome.detail}")
            return
        wait = backoff(delivery.attempts + 1)
        if outcome.retry and now + wait - delivery.first_at <= channel.retry_for:
            self.outbox.retry(delivery, outcome.detail, now + wait)
            log(f"could not send {what}: {outcome.detail}; trying again in {wait:g} s")
        else:
            self.outbox.given_up(delivery, outcome.detail)
            tried = f"after {delivery.attempts + 1} tries in {now - delivery.first_at:.0f} s" if outcome.retry else ""
            log(f"gave up on {what}: {outcome.detail} {tried}".rstrip())

    async def _deliver(self, channel: notify_channels.Channel, notice: Notice) -> Outcome:
        from overmind.control.notify import deliver
        from overmind.control.notify_send import dashboard_url, link

        dashboard = await asyncio.to_thread(dashboard_url)
        if channel.kind != "desktop":
            return await asyncio.to_thread(deliver, channel, notice, dashboard)
        from overmind.control.notify_desktop import Desktop

        desktop = self.desktops.setdefault(channel.target, Desktop(channel.target))
        return await desktop.send(notice, link(notice, dashboard))

    async def close(self) -> None:
        if self.under_way:
            await asyncio.wait(list(self.under_way.values()), timeout=STOP_GRACE_S)
        for desktop in self.desktops.values():
            desktop.close()


async def _follow(changes: AsyncIterator[Change], watcher: Watcher, sender: Sender) -> None:
    last_alive = 0.0
    async for change in changes:
        try:
            watcher.change(change)
        except Exception as error:  # noqa: BLE001 - one change that cannot be read must not end the service
            log(f"could not take in {change.kind} {change.name} {change.event}: {type(error).__name__}: {error}")
        if change.at - last_alive >= ALIVE_EVERY_S:
            watcher.alive(change.at)
            last_alive = change.at
        sender.wake()


async def serve() -> None:
    from overmind.control.feed import Feed
    from overmind.control.rituals import listing
    from overmind.wrapper.notify import Notifier

    notifier = Notifier()
    outbox = open_outbox()
    watcher = Watcher(outbox, StoreFacts())
    sender = Sender(outbox)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    feed = Feed()
    await feed.start()
    changes = feed.subscribe()  # before anything awaits: no change is missed
    try:
        rituals = [view.to_json() for view in await asyncio.to_thread(listing)]
        watcher.catch_up(feed.snapshot(), feed.states(), rituals)
        outbox.prune({view.id for view in feed.snapshot()}, time.time())
        tasks = [asyncio.create_task(_follow(changes, watcher, sender)), asyncio.create_task(sender.run())]
        channels = len(sender.channels.now())
        notifier.send(READY=1, STATUS=f"following the change feed; {channels} channel{'s' if channels != 1 else ''}")
        log(f"following the change feed for {channels} channel{'s' if channels != 1 else ''}")
        waiting = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([*tasks, waiting], return_when=asyncio.FIRST_COMPLETED)
        for task in done - {waiting}:
            task.result()  # a loop that ended by itself: say why (systemd restarts the service)
        notifier.send(STOPPING=1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        watcher.alive(time.time())
        await sender.close()
    finally:
        await feed.close()
        outbox.close()


def main() -> None:
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    except Exception as error:
        from overmind.errors import OvermindError

        if not isinstance(error, OvermindError):
            raise
        log(f"overmind notify: {error.message}")
        sys.exit(1)
