"""The admin page that imports a CSV or XLSX file of households and residents."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from linli.errors import LinliError
from tenants.community.importing import ImportReport, RowError, import_table, read_table
from tenants.community.roles import staff_scope

MAX_UPLOAD = 20 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV (UTF-8 or GBK) or XLSX file"))
    dry_run = forms.BooleanField(
        label=_("Dry run: check the file, import nothing"), required=False, initial=True
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        return upload


def import_view(request: HttpRequest) -> HttpResponse:
    if not staff_scope(request.user).everything:
        raise PermissionDenied
    report: ImportReport | None = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            table = read_table(upload.read(), upload.name)
            report = import_table(table, dry_run=form.cleaned_data["dry_run"])
        except LinliError as exc:
            report = ImportReport(errors=[RowError(0, "", exc.message)])
    context = {
        **admin.site.each_context(request),
        "title": _("Import households and residents"),
        "form": form,
        "report": report,
    }
    return render(request, "admin/community/household/import.html", context)
