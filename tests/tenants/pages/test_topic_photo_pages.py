"""A photo with a raised topic on the resident pages: too large is refused before it is
read, in the resident's language; not a photo is refused and no topic is left behind."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from tenants.deliberation.models import Topic
from tests.photos import png
from tests.tenants.pages.test_help_and_topics_pages import landing, signed_in

FORM = {"title": "樓道燈壞了", "description": "三樓樓道燈一直不亮", "category": "facilities"}


def test_a_photo_declared_larger_than_the_limit_gets_a_page_saying_so(tenant, in_tenant):
    raiser, _neighbour = landing(tenant)
    client = signed_in(tenant, raiser)
    for language, words in [("en", "A photo may be at most 5 MB."), ("zh-hans", "照片最大 5 MB。")]:
        # a 10-byte body claiming 60 MB: reading past the 10 bytes would raise here
        response = client.generic(
            "POST",
            "/r/topics/new",
            b"--x\r\n\r\n..",
            content_type="multipart/form-data; boundary=x",
            CONTENT_LENGTH=str(60 * 1024 * 1024),
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert response.status_code == 413
        assert response["Content-Type"] == "text/html; charset=utf-8"
        page = response.content.decode()
        assert words in page
        assert 'href="/r/topics/new"' in page
    assert not Topic.objects.exists()


def test_a_file_that_is_not_a_photo_is_refused_and_raises_no_topic(tenant, in_tenant):
    raiser, _neighbour = landing(tenant)
    client = signed_in(tenant, raiser)
    fake = SimpleUploadedFile("light.png", b"\x89PNG\r\n\x1a\n<html>hi</html>", "image/png")
    response = client.post("/r/topics/new", {**FORM, "photo": fake})
    assert response.status_code == 200
    assert "Send a JPEG or PNG photo." in response.content.decode()
    assert not Topic.objects.exists()  # the topic and its photo go in together, or not at all
    # and a real one goes in
    real = SimpleUploadedFile("light.png", png(), "image/png")
    raised = client.post("/r/topics/new", {**FORM, "photo": real})
    topic = Topic.objects.get()
    assert raised["Location"] == f"/r/topics/{topic.pk}"
    assert topic.photos.count() == 1
