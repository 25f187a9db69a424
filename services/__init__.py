"""The domain: operations by noun (units, places, meetings, rooms, series, calendar, minutes,
archive, actions, resources, needs, periods, points, dashboard, overview, auth, users,
passwords, mail, audit and auditlog, permissions, backup).

Views, the CLI and the demo call the same functions (and so will the JSON API to come). A
service takes models and plain values (never the request or a form), checks the rules,
changes models and flushes; it never commits. A broken rule raises a `RuleError` whose text
is the Chinese message.
"""
