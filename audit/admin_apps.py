"""django.contrib.admin, with the audited site (audit.admin_site) as `admin.site`.

Its own module: audit/apps.py may hold only the audit app's config, and the site's module
imports models, which INSTALLED_APPS loading may not.
"""

from django.contrib.admin.apps import AdminConfig


class AuditedAdminConfig(AdminConfig):
    default_site = "audit.admin_site.AuditedAdminSite"
