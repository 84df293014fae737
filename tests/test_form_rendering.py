"""Every form field's help text is printed escaped, wherever it comes from (issue 13: an
encrypted field's help text is typed by a user)."""

from django import forms


class Probe(forms.Form):
    name = forms.CharField(help_text='<img src=x onerror="alert(1)"> & more')


def test_help_text_is_escaped_by_the_project_field_template() -> None:
    html = str(Probe()["name"].as_field_group())

    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; more" in html
