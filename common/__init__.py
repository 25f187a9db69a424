"""Small helpers below everything else: the time zone and Chinese dates, rich-text cleaning,
links built on BASE_URL, literal search patterns, pages of a statement. They import nothing of the app."""
