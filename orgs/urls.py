from django.urls import path

from orgs import views

app_name = "orgs"

urlpatterns = [
    path("", views.setup_home, name="setup-home"),
    path("users/", views.user_list, name="user-list"),
    path("users/new/", views.user_create, name="user-create"),
    path("users/<uuid:member>/", views.user_detail, name="user-detail"),
    path("users/<uuid:member>/profile/", views.user_change_profile, name="user-change-profile"),
    path(
        "users/<uuid:member>/permission-sets/",
        views.user_assign_permission_set,
        name="user-assign-permission-set",
    ),
    path("users/<uuid:member>/edit/", views.user_edit, name="user-edit"),
    path(
        "users/<uuid:member>/federation-id/",
        views.user_federation_id,
        name="user-federation-id",
    ),
    path("users/<uuid:member>/deactivate/", views.user_deactivate, name="user-deactivate"),
    path("users/<uuid:member>/reactivate/", views.user_reactivate, name="user-reactivate"),
    path(
        "users/<uuid:member>/reset-password/",
        views.user_reset_password,
        name="user-reset-password",
    ),
    path("profiles/", views.profile_list, name="profile-list"),
    path("profiles/new/", views.profile_create, name="profile-create"),
    path("profiles/<uuid:profile>/", views.profile_detail, name="profile-detail"),
    path("profiles/<uuid:profile>/edit/", views.profile_edit, name="profile-edit"),
    path("profiles/<uuid:profile>/delete/", views.profile_delete, name="profile-delete"),
    path("permission-sets/new/", views.permission_set_create, name="permission-set-create"),
    path("permission-sets/<uuid:pset>/", views.permission_set_detail, name="permission-set-detail"),
    path(
        "permission-sets/<uuid:pset>/edit/", views.permission_set_edit, name="permission-set-edit"
    ),
    path(
        "permission-sets/<uuid:pset>/rename/",
        views.permission_set_rename,
        name="permission-set-rename",
    ),
    path(
        "permission-sets/<uuid:pset>/delete/",
        views.permission_set_delete,
        name="permission-set-delete",
    ),
    path(
        "permission-sets/<uuid:pset>/assign/",
        views.permission_set_assign,
        name="permission-set-assign",
    ),
    path(
        "permission-sets/<uuid:pset>/remove/<uuid:member>/",
        views.permission_set_remove,
        name="permission-set-remove",
    ),
    path("audit-trail/", views.audit_trail, name="audit-trail"),
    path("audit-trail.csv", views.audit_trail_csv, name="audit-trail-csv"),
]
