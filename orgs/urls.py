from django.urls import path

from orgs.views import audit, home, permission_sets, profiles, users

app_name = "orgs"

urlpatterns = [
    path("", home.setup_home, name="setup-home"),
    path("users/", users.user_list, name="user-list"),
    path("users/new/", users.user_create, name="user-create"),
    path("users/<uuid:member>/", users.user_detail, name="user-detail"),
    path("users/<uuid:member>/profile/", users.user_change_profile, name="user-change-profile"),
    path(
        "users/<uuid:member>/permission-sets/",
        users.user_assign_permission_set,
        name="user-assign-permission-set",
    ),
    path("users/<uuid:member>/edit/", users.user_edit, name="user-edit"),
    path(
        "users/<uuid:member>/federation-id/",
        users.user_federation_id,
        name="user-federation-id",
    ),
    path("users/<uuid:member>/deactivate/", users.user_deactivate, name="user-deactivate"),
    path("users/<uuid:member>/reactivate/", users.user_reactivate, name="user-reactivate"),
    path(
        "users/<uuid:member>/reset-password/",
        users.user_reset_password,
        name="user-reset-password",
    ),
    path("profiles/", profiles.profile_list, name="profile-list"),
    path("profiles/new/", profiles.profile_create, name="profile-create"),
    path("profiles/<uuid:profile>/", profiles.profile_detail, name="profile-detail"),
    path("profiles/<uuid:profile>/edit/", profiles.profile_edit, name="profile-edit"),
    path("profiles/<uuid:profile>/delete/", profiles.profile_delete, name="profile-delete"),
    path(
        "permission-sets/new/", permission_sets.permission_set_create, name="permission-set-create"
    ),
    path(
        "permission-sets/<uuid:pset>/",
        permission_sets.permission_set_detail,
        name="permission-set-detail",
    ),
    path(
        "permission-sets/<uuid:pset>/edit/",
        permission_sets.permission_set_edit,
        name="permission-set-edit",
    ),
    path(
        "permission-sets/<uuid:pset>/rename/",
        permission_sets.permission_set_rename,
        name="permission-set-rename",
    ),
    path(
        "permission-sets/<uuid:pset>/delete/",
        permission_sets.permission_set_delete,
        name="permission-set-delete",
    ),
    path(
        "permission-sets/<uuid:pset>/assign/",
        permission_sets.permission_set_assign,
        name="permission-set-assign",
    ),
    path(
        "permission-sets/<uuid:pset>/remove/<uuid:member>/",
        permission_sets.permission_set_remove,
        name="permission-set-remove",
    ),
    path("audit-trail/", audit.audit_trail, name="audit-trail"),
    path("audit-trail.csv", audit.audit_trail_csv, name="audit-trail-csv"),
]
