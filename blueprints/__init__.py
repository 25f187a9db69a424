"""The pages, one package per feature (bp in __init__, views.py, forms.py). Views are thin:
load, authorize, validate the form, call a service, commit once, redirect. Only app.py
imports them."""
