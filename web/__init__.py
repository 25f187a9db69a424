"""Request glue shared by the blueprints: extensions, transactions per request, security
headers, error pages, template filters, form base classes, the one way to finish a POST,
downloads, dashboard panels, and what happens after a request (mail, audit context)."""
