"""Long work on the command line: progress where a person is watching, whole lines on Ctrl-C.

The library reports progress through plain callbacks (``batchio.run(progress=...)``) or not
at all; this module decides whether anyone sees it, and draws it with Rich's ``Progress`` on
stderr:

- only when stderr is a terminal (never into a pipe, a file or a CI log) and not under
  ``--quiet``; stdout is never touched, so the output is the same, byte for byte;
- only once a piece of work has run for :data:`DELAY` seconds, so a short command never
  flickers and never imports Rich;
- redrawn at most :data:`REFRESH` times a second by Rich's own thread: the work itself only
  sets an attribute or two, so a loop may report every step;
- cleared when the work ends, fails or is interrupted: nothing of it stays on the screen.
  Notes written to stderr meanwhile appear above it.

How a command uses it::

    with phase("parsing"):                       # a step: spinner, name, time so far
        graph = parse(text)

    with count("descent", "steps", total=200) as c:   # items: count and rate; with a
        for _ in range(200):                          # total, a bar, percent, time left
            step()
            c.advance()

    for step in track(steps, "descent", "steps", total=201):   # the same, as a loop
        ...

    with count("batch", "rows", total=size, output=True) as c:
        c.update(rows, done=bytes_read)         # the bar follows `done` of `total`

    with session():                              # one display across several steps
        with phase("forward"):
            ...
        with phase("backward"):
            ...

An item outside a :func:`session` is a session of its own: its display goes when it ends.
``output=True`` marks work that writes its results to stdout as it goes: when stdout is a
terminal, those lines are the progress, so the display is cleared and stays off.

:func:`whole_writes` guards stdout so that Ctrl-C never cuts a write in half: the rows
already written are complete lines.

The environment variable ``CGCLI_PROGRESS_DELAY`` (seconds) replaces the delay; 0 shows
progress at once.
"""

from __future__ import annotations

import _thread
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar

from .settings import settings

T = TypeVar("T")

#: Seconds a piece of work runs before its progress is shown.
DELAY = 0.5
#: Redraws per second, at most. One costs ~1.3 ms of CPU beside a running batch (measured),
#: so 5 a second cost ~0.7% of the work; with Rich's import (~35 ms, once) the bar stays
#: within 2% of a 1,000,000-row batch (bench/progress.py).
REFRESH = 5


class Work:
    """A piece of work that a ``with`` block reports on: a phase, or a count of items.

    The work only sets attributes (:meth:`advance`, :meth:`update`); the display, when
    there is one, reads them when it redraws.
    """

    __slots__ = ("at", "count", "done", "end", "name", "output", "start", "total", "unit")

    def __init__(self, name: str, unit: str | None = None, total: float | None = None,
                 output: bool = False) -> None:
        self.name, self.unit, self.total, self.output = name, unit, total, output
        self.count = 0
        #: Progress towards ``total`` when it is measured in other units than ``count``.
        self.done: float | None = None
        self.start = self.at = time.monotonic()  # `at`: when the count last changed
        self.end: float | None = None

    def advance(self, n: int = 1) -> None:
        """``n`` more items are done."""
        self.count += n
        self.at = time.monotonic()

    def update(self, count: int, done: float | None = None) -> None:
        """``count`` items are done so far; ``done``, if given, is the progress towards
        ``total`` in its own units (bytes read of a file's size)."""
        self.count = count
        self.at = time.monotonic()
        if done is not None:
            self.done = done

    def elapsed(self) -> float:
        """Seconds since the work began (until it ended)."""
        return (self.end or time.monotonic()) - self.start

    def rate(self) -> float | None:
        """Items a second, up to the last count (a count that moves in steps, a chunk of
        rows at a time, is not diluted by the time since)."""
        busy = self.at - self.start
        return self.count / busy if self.count and busy > 0 else None

    def left(self) -> float | None:
        """Seconds to go at the pace so far, while the work runs with a total."""
        f, busy = self.fraction(), self.at - self.start
        if f is None or self.end is not None or not 0 < f < 1 or busy <= 0:
            return None
        return max(0.0, busy * (1 - f) / f - (time.monotonic() - self.at))

    def fraction(self) -> float | None:
        """How much of ``total`` is done, 0 to 1; None without a total."""
        if not self.total:
            return None
        done = self.count if self.done is None else self.done
        return min(max(done / self.total, 0.0), 1.0)


def watching() -> bool:
    """Whether a person may be watching: stderr is a terminal that can redraw, no --quiet."""
    return (not settings.get("quiet") and _is_terminal(sys.stderr)
            and os.environ.get("TERM") != "dumb")


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # None, closed, or not a file
        return False


def _delay() -> float:
    try:
        return max(0.0, float(os.environ.get("CGCLI_PROGRESS_DELAY", DELAY)))
    except ValueError:
        return DELAY


class _Session:
    """The items of one display, shown once one of them has run for the delay.

    One watcher thread per session (not per item) sleeps until the oldest running item has
    run for the delay, then starts the display; items that begin later join it. A short
    command pays for starting that thread, never for waiting on it: it is started without
    the handshake of ``threading.Thread.start`` and joined only while it starts a display.
    """

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.delay = _delay()
        self.items: list[Work] = []  # running, or on the display
        self.progress: Any = None  # Rich's Progress, while shown
        self.watching = False  # a watcher thread was started
        self.showing = threading.Lock()  # held by the watcher while it starts the display
        self.closed = False  # ended, or the screen went to the output

    def begin(self, work: Work) -> None:
        show_now = False
        with self.lock:
            if work.output and _is_terminal(sys.stdout):
                self._clear()
                self.closed = True
            if self.closed:
                return
            self.items.append(work)
            if self.progress is not None:
                self._add(work)
            elif self.delay <= 0:
                show_now = True
            elif not self.watching:
                self.watching = True
                _thread.start_new_thread(self._watch, ())
        if show_now:  # no delay: shown at once, from this thread
            self._show()

    def end(self, work: Work) -> None:
        with self.lock:
            if self.progress is None and work in self.items:
                self.items.remove(work)  # never shown: it was short

    def close(self) -> None:
        """Clear the display for good (and wait for a start that is under way)."""
        with self.lock:
            self.closed = True
            self._clear()
        self.closing.set()
        with self.showing:  # a display being started is stopped before the command goes on
            pass

    def _watch(self) -> None:
        """The watcher's thread: sleep until the oldest running item is due, then show."""
        while True:
            with self.lock:
                if self.closed or self.progress is not None:
                    return
                starts = [w.start for w in self.items if w.end is None]
                wait = self.delay - (time.monotonic() - min(starts)) if starts else self.delay
            if wait <= 0:
                with self.showing:
                    self._show()
            elif self.closing.wait(wait):
                return

    def _show(self) -> None:
        """Start the display if an item has run for the delay and still runs (else the
        watcher goes on watching). A display that cannot start never fails the command."""
        # Rich's import (not while holding the lock) competes for the GIL with the work; a
        # shorter switch interval meanwhile halves its delay (~0.26 s to ~0.13 s measured).
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, 2e-4))
        try:
            progress = _rich_progress()
        except Exception:  # a display is a nicety: without it the work goes on
            progress = None
        finally:
            sys.setswitchinterval(interval)
        with self.lock:
            now = time.monotonic()
            if self.closed or self.progress is not None or not any(
                    w.end is None and now - w.start >= self.delay for w in self.items):
                return
            try:
                for work in self.items:
                    progress.add_task(work.name, total=None, work=work)
                progress.start()
            except Exception:
                self.closed = True  # no display for this session, and no second try
                return
            self.progress = progress

    def _add(self, work: Work) -> None:
        self.progress.add_task(work.name, total=None, work=work)

    def _clear(self) -> None:
        if self.progress is not None:
            self.progress.stop()  # transient: the lines are erased
            self.progress = None


_current: _Session | None = None


@contextmanager
def session() -> Iterator[None]:
    """Keep one display across the items inside: shown once one of them has run for the
    delay, cleared at the end. Nested sessions are part of the outer one."""
    global _current
    if _current is not None or not watching():
        yield
        return
    _current = s = _Session()
    try:
        yield
    finally:
        _current = None
        s.close()


@contextmanager
def _shown(work: Work) -> Iterator[Work]:
    if not watching():
        yield work
        return
    with session():
        s = _current
        if s is None:  # stderr stopped being a terminal in between
            yield work
            return
        s.begin(work)
        try:
            yield work
        except BaseException:  # an error or Ctrl-C: clear the screen before the message
            work.end = time.monotonic()
            s.close()
            raise
        work.end = time.monotonic()
        s.end(work)


def phase(name: str, *, output: bool = False) -> Any:
    """A context manager for a step of work: once it has run for the delay, a spinner, its
    name and its time so far (a check mark when it is done and later steps run).
    ``output=True``: the step writes the results to stdout (see :func:`count`)."""
    return _shown(Work(name, output=output))


def count(name: str, unit: str, total: float | None = None, *, output: bool = False) -> Any:
    """A context manager giving a :class:`Work` whose items the block counts
    (``.advance()``, ``.update(count, done=...)``): the count and its rate; with a
    ``total``, a bar, percent and time left. ``output=True``: the work writes its results
    to stdout as it goes (then a terminal on stdout shows no display)."""
    return _shown(Work(name, unit, total, output))


def track(items: Iterable[T], name: str, unit: str, total: float | None = None, *,
          output: bool = False) -> Iterator[T]:
    """``items``, counted as the loop takes them (like Rich's and tqdm's): a :func:`count`
    that ends with the loop, or when the loop is left."""
    with count(name, unit, total, output=output) as c:
        for item in items:
            yield item
            c.advance()


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _rate(work: Work) -> str:
    r = work.rate()
    if r is None:
        return ""
    return f"{r:,.0f} {work.unit}/s" if r >= 100 else f"{r:.3g} {work.unit}/s"


def _rich_progress() -> Any:
    """Rich's Progress on stderr, with columns that read each task's :class:`Work`."""
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn, SpinnerColumn
    from rich.progress_bar import ProgressBar
    from rich.text import Text

    class Cell(ProgressColumn):
        def __init__(self, render: Callable[[Work], Any]) -> None:
            super().__init__()
            self.render_work = render

        def render(self, task: Any) -> Any:
            return self.render_work(task.fields["work"])

    class Spinner(SpinnerColumn):
        def render(self, task: Any) -> Any:
            return self.finished_text if task.fields["work"].end else super().render(task)

    def bar(w: Work) -> Any:
        f = w.fraction()
        return Text("") if f is None else ProgressBar(total=1.0, completed=f, width=30)

    def details(w: Work) -> Text:
        """Percent, count, rate, time so far and time left: those that apply, in one cell
        (fewer cells redraw faster)."""
        f = w.fraction()
        parts = [(f"{f:4.0%}", "progress.percentage")] if f is not None else []
        if w.unit:
            parts += [(f"{w.count:,} {w.unit}", ""), (_rate(w), "")]
        parts.append((_clock(w.elapsed()), "progress.elapsed"))
        left = w.left()
        if left is not None:
            parts.append((f"{_clock(left)} left", "progress.remaining"))
        return Text("  ").join(Text(part, style=style) for part, style in parts if part)

    console = Console(stderr=True, highlight=False,
                      no_color=True if settings.get("color") == "never" else None)
    return Progress(
        Spinner(finished_text=Text("✓", style="green")), Cell(lambda w: Text(w.name)),
        Cell(bar), Cell(details),
        console=console, transient=True, refresh_per_second=REFRESH,
        redirect_stdout=False, redirect_stderr=True)


class _WholeWrites:
    """A text stream whose writes Ctrl-C does not cut: a SIGINT during one takes effect as
    KeyboardInterrupt when it is done (a second SIGINT at once)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.busy = False
        self.pending = False

    def write(self, text: str) -> int:
        return self._whole(self.stream.write, text)

    def flush(self) -> None:
        self._whole(self.stream.flush)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def _whole(self, fn: Callable[..., Any], *args: Any) -> Any:
        self.busy = True
        try:
            return fn(*args)
        finally:
            self.busy = False
            if self.pending:
                self.pending = False
                raise KeyboardInterrupt

    def interrupt(self, signum: int, frame: Any) -> None:
        if self.busy and not self.pending:
            self.pending = True
            return
        raise KeyboardInterrupt


@contextmanager
def whole_writes(stream: IO[str]) -> Iterator[IO[str]]:
    """``stream``, guarded while the block runs: Ctrl-C during a write stops the run when
    that write is done, so output written in whole lines stays whole lines. Without effect
    where Python does not own SIGINT (ignored in a background job, another thread)."""
    import signal

    shield = _WholeWrites(stream)
    try:
        ours = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        previous = signal.signal(signal.SIGINT, shield.interrupt) if ours else None
    except ValueError:  # signal handlers belong to the main thread
        ours = False
    if not ours:
        yield stream
        return
    try:
        yield shield  # type: ignore[misc]
    finally:
        signal.signal(signal.SIGINT, previous)
