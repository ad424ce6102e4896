"""A topic on the resident pages: a description of several lines, its photo shown
afterwards, and no "I have this problem too" on one's own topic."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from tenants.deliberation.models import Support, Topic
from tests.photos import png
from tests.tenants.pages.test_help_and_topics_pages import landing, signed_in


def test_a_topic_keeps_its_lines_shows_its_photo_and_is_not_supported_by_its_author(
    tenant, in_tenant, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    raiser, neighbour = landing(tenant)
    client = signed_in(tenant, raiser)
    form = client.get("/r/topics/new").content.decode()
    assert (
        '<textarea id="description" name="description" maxlength="2000" rows="5" required>' in form
    )
    photo = SimpleUploadedFile("light.png", png(), "image/png")
    raised = client.post(
        "/r/topics/new",
        {"title": "樓道燈壞了", "description": "三樓燈不亮\n晚上看不見", "category": "facilities",
         "photo": photo},
    )  # fmt: skip
    topic = Topic.objects.get()
    assert raised["Location"] == f"/r/topics/{topic.pk}"
    response = client.get(f"/r/topics/{topic.pk}")
    page = response.content.decode()
    url = topic.photos.get().image.url
    assert "三樓燈不亮<br>晚上看不見" in page
    assert f'<img class="photo" src="{url}" alt="Photo of the problem" loading="lazy">' in page
    assert 'value="support"' not in page and "You raised this topic" in page
    assert client.get(url).status_code == 200
    assert len(response.content) < 10 * 1024
    # a neighbour is offered support
    other = signed_in(tenant, neighbour).get(f"/r/topics/{topic.pk}").content.decode()
    assert 'value="support"' in other and "You raised this topic" not in other
    assert not Support.objects.filter(topic=topic, resident=raiser).exists()


def test_a_refused_topic_keeps_what_was_written(tenant, in_tenant):
    raiser, _neighbour = landing(tenant)
    client = signed_in(tenant, raiser)
    bad = SimpleUploadedFile("light.png", b"not a photo", "image/png")
    refused = client.post(
        "/r/topics/new",
        {
            "title": "樓道燈壞了",
            "description": "第一行\n第二行",
            "category": "parking",
            "photo": bad,
        },
    )
    page = refused.content.decode()
    assert ">第一行\n第二行</textarea>" in page
    assert '<option value="parking" selected>' in page
    assert not Topic.objects.exists()
