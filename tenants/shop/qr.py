"""QR codes for the shop wall and the batch poster: the link a phone opens when scanned."""

from __future__ import annotations

import io

import segno

RESIDENT_PAGES = "/r/shop"


def batch_path(token: str) -> str:
    return f"{RESIDENT_PAGES}/batches/{token}"


def shop_path(token: str) -> str:
    return f"{RESIDENT_PAGES}/shops/{token}"


def qr_svg(link: str) -> bytes:
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="svg", scale=8, border=2, xmldecl=True)
    return out.getvalue()


def qr_png(link: str) -> bytes:
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=10, border=2)
    return out.getvalue()
