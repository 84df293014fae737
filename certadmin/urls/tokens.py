"""API Tokens (My Settings)."""

from django.urls import path

from certadmin.views import tokens

urlpatterns = [
    path("api-tokens/", tokens.token_list, name="token-list"),
    path("api-tokens/<uuid:token>/revoke/", tokens.token_revoke, name="token-revoke"),
]
