"""Small helpers below everything else: the time zone and Chinese dates, rich-text cleaning,
links built on BASE_URL, literal search patterns. They import nothing of the app."""
