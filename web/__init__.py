"""Request glue shared by the blueprints: extensions, transactions per request, security
headers, error pages, template filters and a cached url_for, form base classes, the
lost-update check for edit forms, the one way to finish a POST, lists with their totals in
one statement, downloads, dashboard panels, and what happens after a request (mail, audit
context)."""
