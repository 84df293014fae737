"""The Expired Certificates page's selection for deletion: parsing only, no writes."""

from typing import Any, cast

from django import forms

from certadmin.models import Certificate
from orgs.models import Organization


class ExpiredSelectionForm(forms.Form):
    certificates = forms.ModelMultipleChoiceField(
        Certificate.objects.none(),
        to_field_name="uuid",
        error_messages={"required": "Choose the certificates to delete."},
    )

    def __init__(self, *args: Any, org: Organization, **kw: Any) -> None:
        super().__init__(*args, **kw)
        field = cast("forms.ModelMultipleChoiceField[Certificate]", self.fields["certificates"])
        field.queryset = Certificate.objects.for_org(org)
