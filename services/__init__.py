"""The domain: operations by noun (units, meetings, rooms, series, calendar, minutes, archive,
actions, resources, needs, periods, points, dashboard, auth, users, mail, audit, permissions).

Views, the CLI, the demo and the API call the same functions. A service takes models and
plain values (never the request or a form), checks the rules, changes models and flushes;
it never commits. A broken rule raises a `RuleError` whose text is the Chinese message.
"""
