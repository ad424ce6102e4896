"""A printable service certificate (PDF) listing a volunteer's confirmed service."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _

from linli import clock
from tenants.helpteam.models import Volunteer
from tenants.helpteam.selectors import recognition, service_history


def certificate_pdf(*, volunteer: Volunteer, tenant_name: str, thresholds: list[int]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    # A CID font that PDF readers supply themselves: Chinese text without embedding a font.
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    summary = recognition(volunteer=volunteer, thresholds=thresholds)
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    width, height = A4
    page.setTitle(_("Service certificate"))
    page.setFont("STSong-Light", 22)
    page.drawCentredString(width / 2, height - 90, _("Service certificate"))
    page.setFont("STSong-Light", 13)
    page.drawCentredString(width / 2, height - 120, tenant_name)
    lines = [
        _("Volunteer: %(name)s") % {"name": volunteer.resident.display_name},
        _("Confirmed service: %(count)d times, %(hours)s hours")
        % {"count": summary.services, "hours": summary.confirmed_hours},
        _("Stars: %(stars)d") % {"stars": summary.stars},
    ]
    y = height - 170
    for line in lines:
        page.drawString(72, y, line)
        y -= 22
    y -= 10
    page.setFont("STSong-Light", 10)
    for when, category, hours in service_history(volunteer=volunteer):
        if y < 72:
            page.showPage()
            page.setFont("STSong-Light", 10)
            y = height - 72
        page.drawString(72, y, f"{clock.day_of(when)}   {category}   {hours} h")
        y -= 15
    page.drawString(72, 50, _("Issued %(date)s") % {"date": clock.today().isoformat()})
    page.showPage()
    page.save()
    return buffer.getvalue()
