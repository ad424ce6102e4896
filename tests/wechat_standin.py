"""A local stand-in for WeChat's web authorisation (网页授权), serving the documented
answers on loopback: the authorize page (which, for ``snsapi_base``, sends the browser
straight back with a code and the state), and ``sns/oauth2/access_token`` (a code is
good once, for five minutes; errors 40029 invalid code, 40163 code been used, 42003
code expired, 40125 invalid appsecret). Only Linli's addresses for WeChat point here.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CODE_SECONDS = 300


@dataclass
class WeChat:
    app_id: str
    secret: str
    base: str = ""
    openid: str = ""  # the WeChat user who is "using the phone" now
    declines: bool = False  # the user taps "refuse" (only possible with snsapi_userinfo)
    codes: dict[str, tuple[str, float]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def expire_codes(self) -> None:
        self.codes = {c: (o, at - CODE_SECONDS - 1) for c, (o, at) in self.codes.items()}


def _handler(wechat: WeChat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)  # WeChat answers errors with 200 and an errcode
            self.send_header("Content-Type", "application/json; encoding=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            wechat.calls.append(url.path)
            if url.path == "/connect/oauth2/authorize":
                self._authorize(query)
            elif url.path == "/sns/oauth2/access_token":
                self._access_token(query)
            else:
                self.send_error(404)

        def _authorize(self, query: dict[str, str]) -> None:
            if query.get("appid") != wechat.app_id:
                self._json({"errcode": 40013, "errmsg": "invalid appid"})
                return
            back: dict[str, str] = {"state": query.get("state", "")}
            if not wechat.declines:
                code = secrets.token_urlsafe(24)
                wechat.codes[code] = (wechat.openid, time.time())
                back = {"code": code, **back}
            self.send_response(302)
            self.send_header("Location", f"{query['redirect_uri']}?{urlencode(back)}")
            self.end_headers()

        def _access_token(self, query: dict[str, str]) -> None:
            if query.get("appid") != wechat.app_id or query.get("secret") != wechat.secret:
                self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
                return
            code = query.get("code", "")
            if code in wechat.used:
                self._json({"errcode": 40163, "errmsg": "code been used"})
                return
            if code not in wechat.codes:
                self._json({"errcode": 40029, "errmsg": "invalid code"})
                return
            openid, issued = wechat.codes.pop(code)
            if time.time() - issued > CODE_SECONDS:
                self._json({"errcode": 42003, "errmsg": "code expired"})
                return
            wechat.used.add(code)
            self._json(
                {
                    "access_token": secrets.token_urlsafe(32),
                    "expires_in": 7200,
                    "refresh_token": secrets.token_urlsafe(32),
                    "openid": openid,
                    "scope": "snsapi_base",
                }
            )

    return Handler


@contextmanager
def wechat_standin(app_id: str, secret: str) -> Iterator[WeChat]:
    wechat = WeChat(app_id=app_id, secret=secret)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(wechat))
    wechat.base = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield wechat
    finally:
        server.shutdown()
        server.server_close()
