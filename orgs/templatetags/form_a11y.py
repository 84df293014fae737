"""Template helpers of the form rendering done once for every page (docs/accessibility.md)."""

from django import forms, template

register = template.Library()


@register.filter
def has_required_field(form: forms.BaseForm) -> bool:
    """Whether the form shows a required field (then its legend explains the marker)."""
    return any(field.field.required and not field.is_hidden for field in form)
