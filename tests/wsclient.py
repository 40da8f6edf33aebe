"""A Streamlit session without a browser: the websocket protocol the browser speaks, a few hundred
bytes of Python per visitor instead of a Chromium tab, so a test or a benchmark can put a whole hall
of sessions on one 2-core machine and still measure the server rather than the browsers.

    async with Session.open(url, "/shopping", "preset=apples_oranges&step=7") as s:
        assert "Backward 3 of 4" in s.text()
        await s.click("shop_next")          # the button whose key is shop_next
        await s.wait_for(lambda s: "step=8" in s.query)

What it speaks (Streamlit 1.67, ``/_stcore/stream``, subprotocol "streamlit"): it sends ``BackMsg``
``rerun_script`` with the URL's path (as the page's ``url_pathname``) and query, then for a click the
button's ``trigger_value`` and the page's script hash (as the browser does once the server has
named the page: a fragment's ``st.rerun()`` reruns that page, not the home page); it reads every ``ForwardMsg``: ``new_session`` starts a run, ``delta``
puts an element at its path, ``script_finished`` ends the run, ``page_info_changed`` is the URL the
page wrote, ``auto_rerun`` asks for a fragment's timed reruns at an interval (the latest one counts, a whole run
starts them afresh, ``stop_auto_rerun`` ends them), which it sends as the browser does. Every run,
a fragment's too, begins with ``new_session``; a fragment's names its fragments in
``metadata.run.fragment_ids`` and leaves the whole run's timers and elements alone.
Widgets other than the clicked button keep the values the server holds for them (none are sent).
127.0.0.1 only: the caller gives the URL of a server it started.
"""
import asyncio
import contextlib
import urllib.parse

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

TEXT_FIELDS = {"markdown": "body", "heading": "body", "alert": "body", "text": "body", "caption": "body",
               "progress": "text", "button": "label", "exception": "message"}


class Session:
    def __init__(self, socket, path, query):
        self.socket = socket
        self.path = path.strip("/")
        self.query = query
        self.elements = {}  # delta path -> Element: the last whole run's, updated as new deltas arrive
        self.pages = []  # the navigation's page titles, as the server sent them
        self.page_hash = ""  # until the server has said which page this is
        self.runs = 0  # scripts finished (whole runs and fragment reruns; not one cut short by a rerun)
        self.started = {"whole": 0, "fragment": 0}  # runs begun, of each kind (a fragment's rerun is cheaper)
        self.running = True  # a script (or a fragment) of this session is running
        self.exceptions = []  # every exception element seen, as "Type: message"
        self._changed = asyncio.Condition()
        self._auto = {}  # fragment id -> its timed rerun task
        self._intervals = {}  # fragment id -> the interval its task keeps
        self._fragments = {}  # widget id -> the fragment that drew it (a click reruns just that fragment)
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url, path="/", query="", timeout=60.0):
        """Connect, run the page at ``path?query`` and wait for its first run to finish."""
        ws_url = url.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        assert urllib.parse.urlparse(ws_url).hostname == "127.0.0.1", ws_url
        async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=2 ** 26,
                                      open_timeout=timeout) as socket:
            session = cls(socket, path, query)
            try:
                await session.rerun()
                await session.wait_for(lambda s: s.runs >= 1, timeout)
                yield session
            finally:
                for task in session._auto.values():
                    task.cancel()
                # Close while the reader still reads: a reader cancelled first leaves the socket's queue full,
                # the server's closing frame unread behind it, and the close waits out its 10 s timeout.
                await socket.close()
                session._reader.cancel()

    # --- sending ---------------------------------------------------------------------------------------

    async def rerun(self, widget=None, fragment_id="", auto=False):
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_name = self.path
        state.page_script_hash = self.page_hash
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        if widget is not None:
            w = state.widget_states.widgets.add()
            w.id = widget
            w.trigger_value = True
        await self.socket.send(msg.SerializeToString())

    async def click(self, key, timeout=60.0):
        """Press the button whose ``key`` is given (the id Streamlit derives from it ends with it), once
        the page shows it: as a person, who clicks what is on the screen even while the page is running
        (a busy page's live view may never stop running for long; the browser sends the click at once)."""
        await self.wait_for(lambda s: s._widget(key) is not None, timeout)
        await self.rerun(widget=self.widget_id(key), fragment_id=self._fragment_of(key))

    def _widget(self, key):
        for element in self.elements.values():
            kind = element.WhichOneof("type")
            widget = getattr(element, kind, None)
            if hasattr(widget, "id") and str(widget.id).endswith(f"-{key}"):
                return widget.id
        return None

    def widget_id(self, key):
        found = self._widget(key)
        if found is None:
            raise LookupError(f"no widget with key {key!r} on {self.path or 'home'}: {sorted(self.keys())}")
        return found

    def keys(self):
        return {str(getattr(e, e.WhichOneof("type")).id).rsplit("-", 1)[-1] for e in self.elements.values()
                if hasattr(getattr(e, e.WhichOneof("type"), None), "id")}

    @property
    def timers(self):
        """Fragment id -> the interval of its timed reruns, for the fragments ticking now."""
        return dict(self._intervals)

    def _fragment_of(self, key):
        return self._fragments.get(self.widget_id(key), "")

    # --- reading ---------------------------------------------------------------------------------------

    async def _read(self):
        written = set()
        async for data in self.socket:
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "new_session":  # every run starts with one; a fragment's names its fragments
                self.page_hash = msg.new_session.page_script_hash  # the browser names its page by it from now on
                self.started["fragment" if msg.metadata.run.fragment_ids else "whole"] += 1
                if not msg.metadata.run.fragment_ids:  # a whole run defines its fragments (and timers) again
                    self._stop_ticks(list(self._auto))
                    written = set()  # what this run draws; the last run's elements stay until it ends
            elif kind == "delta":
                path = tuple(msg.metadata.delta_path)
                written.add(path)
                if msg.delta.WhichOneof("type") != "new_element":
                    self.elements.pop(path, None)  # a block (or nothing) where an element was
                    continue
                element = msg.delta.new_element
                self.elements[path] = element
                widget = getattr(element, element.WhichOneof("type"), None)
                if hasattr(widget, "id") and msg.delta.fragment_id:
                    self._fragments[widget.id] = msg.delta.fragment_id
                if element.WhichOneof("type") == "exception":
                    self.exceptions.append(f"{element.exception.type}: {element.exception.message}")
            elif kind == "session_status_changed":
                self.running = msg.session_status_changed.script_is_running
            elif kind == "navigation":
                self.pages = [page.page_name for page in msg.navigation.app_pages]
                self.page_hash = msg.navigation.page_script_hash or self.page_hash  # the page app.py's navigation ran
            elif kind == "page_info_changed":
                self.query = msg.page_info_changed.query_string
            elif kind == "auto_rerun":  # sent at every run that defines the fragment, with its interval now
                fid, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
                if self._intervals.get(fid) != interval:  # a new timer, as the browser's, for a new interval
                    self._stop_ticks([fid])
                    self._intervals[fid] = interval
                    self._auto[fid] = asyncio.create_task(self._tick(fid, interval))
            elif kind == "stop_auto_rerun":
                self._stop_ticks(msg.stop_auto_rerun.fragment_ids)
            elif kind == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:  # a whole run: drop what it no longer drew
                    self.elements = {p: e for p, e in self.elements.items() if p in written}
                self.runs += 1
            async with self._changed:
                self._changed.notify_all()

    def _stop_ticks(self, fragment_ids):
        for fid in fragment_ids:
            task = self._auto.pop(fid, None)
            self._intervals.pop(fid, None)
            if task:
                task.cancel()

    async def _tick(self, fragment_id, interval):
        while True:
            await asyncio.sleep(interval)
            await self.rerun(fragment_id=fragment_id, auto=True)

    async def wait_for(self, condition, timeout=60.0):
        """Until ``condition(self)`` holds after some message; TimeoutError after ``timeout`` s."""
        async def until():
            async with self._changed:
                await self._changed.wait_for(lambda: condition(self) or self._reader.done())
            if self._reader.done() and not condition(self):
                raise ConnectionError(f"the server closed the session on {self.path}")
        await asyncio.wait_for(until(), timeout)

    def texts(self):
        """Every text the page shows now, in delta order (markdown, headings, alerts, captions, progress, buttons)."""
        out = []
        for _, element in sorted(self.elements.items()):
            kind = element.WhichOneof("type")
            if kind in TEXT_FIELDS:
                out.append(getattr(getattr(element, kind), TEXT_FIELDS[kind]))
        return out

    def text(self):
        return "\n".join(self.texts())

    def alerts(self):
        return [e.alert.body for _, e in sorted(self.elements.items()) if e.WhichOneof("type") == "alert"]
