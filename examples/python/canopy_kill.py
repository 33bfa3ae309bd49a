"""Canopy's kill switch for an agent in any language: Python, standard library only.

One thread keeps Canopy's event stream (GET /api/control/events, Server-Sent Events) open and remembers the
kills in force; is_killed() answers from memory, so checking between steps costs nothing. The stream reconnects
with backoff and Last-Event-ID; after each (re)connect it asks the control API once per watched span, so a kill
made while it was down is not missed. Canopy unreachable: nothing is killed (fail open).

    kills = CanopyKills()                      # CANOPY_URL (default http://127.0.0.1:3000), CANOPY_API_KEY
    kills.watch(trace_id, span_id, ancestors)  # the span this process works under, and the span ids above it
    ...
    if kills.is_killed(trace_id, span_id, ancestors):  # between steps: stop, the tree or this branch was killed
        raise SystemExit("killed")

Run as a script it waits for a kill: python3 canopy_kill.py TRACE_ID [SPAN_ID [ANCESTOR,ANCESTOR...]]
"""
import json
import os
import random
import sys
import threading
import time
import urllib.parse
import urllib.request


class CanopyKills:
    def __init__(self, url=None, api_key=None):
        self.url = (url or os.environ.get("CANOPY_URL") or "http://127.0.0.1:3000").rstrip("/")
        self.api_key = api_key or os.environ.get("CANOPY_API_KEY")
        self.kills = {}  # trace id -> {root span id of a killed branch, or None for the tree: kill}
        self.watched = {}  # trace id -> (span id, ancestors) asked about after each (re)connect
        self.connected = threading.Event()
        self.last_error = None
        self.lock = threading.Lock()
        threading.Thread(target=self._listen, daemon=True).start()

    def watch(self, trace_id, span_id=None, ancestors=()):
        self.watched[trace_id.lower()] = (span_id, tuple(ancestors))

    def is_killed(self, trace_id, span_id=None, ancestors=()):
        """The kill that stops this span (or the whole tree), or None."""
        with self.lock:
            kills = self.kills.get(trace_id.lower(), {})
            for key in (None, span_id, *ancestors):
                if (key is None and None in kills) or (key and key.lower() in kills):
                    return kills[key.lower() if key else None]
        return None

    def ask(self, trace_id, span_id=None, ancestors=()):
        """Asks the control API; also finds kills above spans that only Canopy knows (other processes)."""
        query = {k: v for k, v in (("spanId", span_id), ("ancestors", ",".join(ancestors))) if v}
        url = f"{self.url}/api/control/{trace_id}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        with urllib.request.urlopen(urllib.request.Request(url, headers=self._headers()), timeout=5) as res:
            answer = json.load(res)
        if answer["killed"]:
            kill = {"traceId": trace_id.lower(), "spanId": answer["killedSpanId"], "scope": answer["scope"],
                    "reason": answer["reason"], "createdAt": answer["killedAt"], "active": True}
            self._apply("kill", kill)
        return answer

    def _headers(self, extra=None):
        headers = dict(extra or {})
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _apply(self, event, kill):
        with self.lock:
            trace = self.kills.setdefault(kill["traceId"], {})
            if event == "kill" and kill["active"]:
                trace[kill["spanId"]] = kill
            else:
                trace.pop(kill["spanId"], None)

    def _listen(self):
        last_id, delay = None, 1.0
        while True:
            try:
                headers = self._headers({"Accept": "text/event-stream"})
                if last_id:
                    headers["Last-Event-ID"] = last_id
                request = urllib.request.Request(f"{self.url}/api/control/events", headers=headers)
                # Canopy sends a heartbeat every 15 s: 45 s of silence means the connection is dead.
                with urllib.request.urlopen(request, timeout=45) as stream:
                    self.connected.set()
                    delay = 1.0
                    for trace_id, (span_id, ancestors) in list(self.watched.items()):
                        self.ask(trace_id, span_id, ancestors)
                    event, data = "message", []
                    for raw in stream:
                        line = raw.decode("utf-8").rstrip("\r\n")
                        field, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        if line == "":
                            if event in ("kill", "revive") and data:
                                message = json.loads("\n".join(data))
                                self._apply(message["type"], message["kill"])
                            event, data = "message", []
                        elif field == "id":
                            last_id = value
                        elif field == "event":
                            event = value
                        elif field == "data":
                            data.append(value)
            except Exception as error:  # refused, 401, timeout, closed: retry, and meanwhile kill nothing
                self.last_error = error
            self.connected.clear()
            time.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 30.0)


if __name__ == "__main__":
    trace_id = sys.argv[1]
    span_id = sys.argv[2] if len(sys.argv) > 2 else None
    ancestors = sys.argv[3].split(",") if len(sys.argv) > 3 else []
    kills = CanopyKills()
    kills.watch(trace_id, span_id, ancestors)
    if not kills.connected.wait(30):
        sys.exit(f"could not reach Canopy at {kills.url}: {kills.last_error}")
    print(json.dumps({"event": "watching", "traceId": trace_id}), flush=True)
    deadline = time.time() + float(os.environ.get("CANOPY_WAIT_SECONDS", "120"))
    while time.time() < deadline:
        kill = kills.is_killed(trace_id, span_id, ancestors)
        if kill:
            print(json.dumps({"event": "killed", "scope": kill["scope"], "spanId": kill["spanId"], "reason": kill["reason"]}), flush=True)
            sys.exit(0)
        time.sleep(0.1)
    sys.exit("not killed in time")
