"""`{% jinja2_include "name.html" key=value ... %}`: a Jinja2 partial inside a Django template.

Only for the rows of the certificate tables (TEMPLATES in settings.py says why). The partial
sees the values passed and nothing else of the page; Jinja2 autoescapes what it prints.
"""

from typing import Any

from django import template
from django.template import engines
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def jinja2_include(template_name: str, **context: Any) -> SafeString:
    html = engines["jinja2"].get_template(template_name).render(context)
    return mark_safe(html)  # escaped by Jinja2's autoescape
