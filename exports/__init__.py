"""Pure exports: values and models in, bytes out (PDF, iCalendar, spreadsheets, SVG charts).

They read no request and query nothing: the services gather what a document shows and pass
it in. PDF rendering goes through exports.pdf's safe fetcher only.
"""
